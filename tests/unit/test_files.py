"""Result files reach the disk before they take their final name, and run folders are locked (fcbaseline.files)."""

import os

import pytest

from fcbaseline import files


def test_a_result_is_flushed_to_disk_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        files.os,
        "fsync",
        lambda descriptor: (
            events.append(("fsync", os.readlink(f"/proc/self/fd/{descriptor}"))) or real_fsync(descriptor)
        ),
    )
    monkeypatch.setattr(
        files.os,
        "replace",
        lambda source, target: events.append(("replace", str(source))) or real_replace(source, target),
    )
    files.write_text(tmp_path / "metrics.json", "{}")
    temporary = str(tmp_path / ".metrics.partial.json")
    assert events == [("fsync", temporary), ("replace", temporary)]
    assert (tmp_path / "metrics.json").read_text() == "{}"


def test_a_folder_lock_refuses_a_second_holder_until_released(tmp_path):
    with files.FolderLock(tmp_path):
        with pytest.raises(files.FolderBusy, match=f"in use by process {os.getpid()}"):
            files.FolderLock(tmp_path).acquire()
    files.FolderLock(tmp_path).acquire().release()  # free again once the first holder let go

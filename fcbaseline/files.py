"""Result files written whole or not at all (a temporary name in the same folder, then a rename), and
the lock a process holds on a run or sweep folder while it works there."""

import csv
import fcntl
import io
import json
import math
import os
from pathlib import Path
from typing import Callable, Dict, List


class OutputError(RuntimeError):
    """A result file that cannot be written (full disk, read-only folder); says where and what to do."""


def output_error(path: Path, error: OSError) -> OutputError:
    return OutputError(
        f"Cannot write {path}: {error.strerror or error}. Free disk space or make the folder writable, or "
        f"send the results elsewhere with hydra.run.dir=<folder> (hydra.sweep.dir=<folder> with -m). "
        f"Files already in the folder were left as they were."
    )


def check_creatable(folder: Path, fix: str) -> None:
    """Refuse a folder that cannot be made and written, before any work, creating nothing (a probe file is
    written and removed in the nearest folder that exists): ConfigError, a setting to change (exit 2)."""
    from fcbaseline.errors import ConfigError

    existing = Path(folder).absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    probe = existing / f".fcbaseline-write-test-{os.getpid()}"
    try:
        if not existing.is_dir():
            raise NotADirectoryError(0, "a file is in the way, not a folder")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ConfigError(f"Cannot write {folder} ({error.strerror or error} at {existing}). {fix}") from None


def make_folder(folder: Path, fix: str) -> None:
    """Create `folder` (and its parents) for results, or an OutputError naming it and `fix`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"Cannot write {folder} ({error.strerror}). {fix}") from None


def flush_to_disk(path: Path) -> None:
    """fsync: the file's bytes reach the disk before a rename makes them the result (a power cut
    after the rename must not leave an empty file under the final name)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temporary_path)`, flush it, then rename it onto `path`: a reader never sees half a file."""
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(temporary)
        flush_to_disk(temporary)
        os.replace(temporary, path)
    except OSError as error:
        raise output_error(path, error) from None
    finally:
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass  # the folder itself is gone or unwritable: the error above already says so


def write_text(path: Path, text: str) -> None:
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def write_history(path: Path, history: Dict[str, List[float]]) -> None:
    """history.csv: one row per epoch, the columns in training/loop.py's order; rewritten after every epoch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(history)
    for row in zip(*history.values()):
        writer.writerow([row[0], *(f"{value:.6g}" for value in row[1:])])
    write_text(path, buffer.getvalue())


def finite_or_none(value):
    """NaN and infinity become null: strict JSON readers (jq, browsers) refuse them."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def write_json(path: Path, content: dict) -> None:
    write_text(path, json.dumps(finite_or_none(content), indent=2, allow_nan=False) + "\n")


def read_json(path: Path) -> dict:
    """The JSON object in `path`, or {} when it is absent, unreadable or not an object: for the records
    fcbaseline keeps for itself (a run's status, a sweep's record), where a damaged one counts as none.
    Files a user hands over are read through reading.py, which names what is wrong."""
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


class FolderBusy(RuntimeError):
    """Another process is running in the run folder; the message names it."""


class FolderLock:
    """An exclusive lock on a run or sweep folder for as long as a process works in it (`flock` on
    `.fcbaseline.lock`: the kernel releases it when the process ends, even by kill -9)."""

    NAME = ".fcbaseline.lock"

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.file = None

    def acquire(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        file = open(self.folder / self.NAME, "a+")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip()
            file.close()
            raise self.busy(holder) from None
        file.truncate(0)
        file.write(f"process {os.getpid()}")
        file.flush()
        self.file = file
        return self

    def check_free(self) -> None:
        """FolderBusy when another process holds the folder; creates nothing (a refusal leaves no lock file)."""
        try:
            file = open(self.folder / self.NAME)
        except OSError:  # no lock file, or none this process may read: nobody runs there through fcbaseline
            return
        with file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise self.busy(file.read().strip()) from None
            fcntl.flock(file, fcntl.LOCK_UN)

    def busy(self, holder: str) -> "FolderBusy":
        return FolderBusy(
            f"{self.folder} is in use by {holder or 'another process'}, which is still running there. Wait for it "
            f"to end (or stop it with Ctrl-C, then resume), or choose another folder with hydra.run.dir=<folder>."
        )

    def release(self) -> None:
        if self.file is not None:
            self.file.close()  # closing the descriptor releases the lock
            self.file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exception):
        self.release()

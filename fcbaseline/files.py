"""Result files written whole or not at all (a temporary name in the same folder, then a rename),
and a check, before anything runs, that the output folder can be written."""

import json
import math
import os
import sys
from pathlib import Path
from typing import Callable

from hydra.experimental.callback import Callback


class OutputError(RuntimeError):
    """A result file that cannot be written (full disk, read-only folder); says where and what to do."""


def output_error(path: Path, error: OSError) -> OutputError:
    return OutputError(
        f"Cannot write {path}: {error.strerror or error}. Free disk space or make the folder writable, or "
        f"send the results elsewhere with hydra.run.dir=<folder> (hydra.sweep.dir=<folder> with -m). "
        f"Files already in the folder were left as they were."
    )


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(temporary_path)`, then rename the result onto `path`; a reader never sees half a file."""
    temporary = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        write(temporary)
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
    """The JSON object in `path`, or {} when it is absent or unreadable."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class OutputFolderCheck(Callback):
    """Hydra callback: refuse, in one paragraph and before any work, an output folder that cannot be written."""

    def on_run_start(self, config, **kwargs) -> None:
        self.check(Path(config.hydra.run.dir), "hydra.run.dir")

    def on_multirun_start(self, config, **kwargs) -> None:
        self.check(Path(config.hydra.sweep.dir), "hydra.sweep.dir")

    @staticmethod
    def check(folder: Path, key: str) -> None:
        probe = folder / ".fcbaseline-write-test"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            print(
                f"Cannot write the output folder {folder} ({type(error).__name__}: {error.strerror or error}). "
                f"Choose a writable folder with {key}=<folder>, or fix the permissions.",
                file=sys.stderr,
            )
            sys.exit(2)

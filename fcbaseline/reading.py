"""The one guarded reader: every file a user hands fcbaseline (an .npz, images, YAML config files) and
every run file it continues or evaluates from (checkpoint.npz, model.keras, .hydra/config.yaml,
metrics.json) is read through here, so that a damaged or unexpected file is one paragraph naming the
file, what is wrong with it and the fix, never a traceback: DataError (exit 1) for data and a run's own
files, ConfigError (exit 2) for the user's config files. Array files are checked against their size
before memory is allocated for them. (Records fcbaseline keeps for itself, a run's status or the image
cache, are read leniently instead: a damaged one counts as none; files.read_json, data/cache.py.)
"""

import json
import os
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence

import numpy as np

from fcbaseline.errors import ConfigError, DataError

NPY_MAGIC = b"\x93NUMPY"


def describe(problem: BaseException) -> str:
    """What went wrong, in a few words: the system's words for a file error, else the error's first line."""
    if isinstance(problem, OSError) and problem.strerror:
        return problem.strerror
    text = str(problem).strip().splitlines()[0] if str(problem).strip() else ""
    text = text if len(text) <= 240 else text[:237] + "..."
    return f"{type(problem).__name__}: {text}" if text else type(problem).__name__


@contextmanager
def guarded(path, what: str, fix: str, kind=DataError):
    """Any failure while reading `path` as `what` becomes `kind`: the file, what is wrong, then `fix`.
    The readers' own errors (already one paragraph) pass through unchanged."""
    try:
        yield
    except (ConfigError, DataError):
        raise
    except MemoryError:
        raise kind(f"{path} is too large to read into this machine's memory as {what}. {fix}") from None
    except Exception as problem:  # the libraries below report a damaged file with many exception types
        raise kind(f"Cannot read {path} as {what} ({describe(problem)}). {fix}") from None


def read_text(path: Path, what: str, fix: str, kind=DataError) -> str:
    with guarded(path, what, fix, kind):
        return Path(path).read_text(encoding="utf-8")


def read_json_object(path: Path, what: str, fix: str, kind=DataError) -> dict:
    """The JSON object (a dict) in `path`."""
    text = read_text(path, what, fix, kind)
    with guarded(path, what, fix, kind):
        content = json.loads(text)
    if not isinstance(content, dict):
        raise kind(f"{path} holds a JSON {type(content).__name__}, not the object {what} is. {fix}")
    return content


def read_yaml_mapping(path: Path, what: str, fix: str, kind=ConfigError, required: Sequence[str] = ()):
    """The YAML mapping in `path`, as OmegaConf loads it (a DictConfig), holding the `required` keys."""
    from omegaconf import DictConfig, OmegaConf

    try:
        with guarded(path, what, fix, kind):
            loaded = OmegaConf.load(path)
    except kind as error:
        mark = getattr(error.__context__, "problem_mark", None)  # PyYAML's position of a syntax error
        if mark is None:
            raise
        problem = getattr(error.__context__, "problem", None) or "not valid YAML"
        raise kind(f"{path}, line {mark.line + 1}, column {mark.column + 1}: {problem}. {fix}") from None
    if not isinstance(loaded, DictConfig):
        raise kind(f"{path} holds a YAML {type(loaded).__name__}, not the mapping {what} is. {fix}")
    missing = [key for key in required if not isinstance(loaded.get(key), DictConfig)]
    if missing:
        raise kind(f"{path} has no {missing[0]} section, which {what} holds. {fix}")
    return loaded


def physical_memory() -> Optional[int]:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def npy_header(member) -> tuple:
    """(shape, dtype) from the header of an .npy stream, without reading its data."""
    version = np.lib.format.read_magic(member)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, _, dtype = read_header(member)
    return shape, dtype


def check_npz_sizes(path: Path, archive: zipfile.ZipFile, fix: str, wanted=None) -> None:
    """Each wanted array's header against the bytes that hold it, and all of them against the machine's
    memory, before any array is allocated; object arrays (pickles) are refused unread."""
    total = 0
    for info in archive.infolist():
        if wanted is not None and not wanted(info.filename.removesuffix(".npy")):
            continue
        with archive.open(info) as member:
            shape, dtype = npy_header(member)
            stored = info.file_size - member.tell()
        name = info.filename.removesuffix(".npy")
        if dtype.hasobject:
            raise DataError(
                f"{path}: {name} is a pickled object array, which fcbaseline refuses to load (unpickling can "
                f"run code; nothing in the file was executed). Save plain arrays: uint8 images and integer or "
                f"string labels."
            )
        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if declared > stored:
            raise DataError(
                f"{path}: {name} declares shape {shape} of {dtype} ({declared:,} bytes) but the file holds "
                f"{stored:,} bytes for it: it is damaged or was not written by NumPy. {fix}"
            )
        total += declared
    memory = physical_memory()
    if memory and total > memory:
        raise DataError(
            f"{path} holds {total / 2**30:.1f} GiB of arrays, more than this machine's {memory / 2**30:.1f} GiB of "
            f"memory. Use fewer or smaller images (a subset, or a smaller dataset.image_size)."
        )


def load_npz(path: Path, what: str, fix: str, wanted: Optional[Callable[[str], bool]] = None) -> Dict[str, np.ndarray]:
    """The arrays of an .npz archive (those `wanted` accepts, by name), checked before they are read."""
    path = Path(path)
    with guarded(path, what, fix):
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as file:
                start = file.read(len(NPY_MAGIC))
            if start == NPY_MAGIC:
                raise DataError(
                    f"{path} is a single .npy array, not an .npz archive of named arrays (as {what} is). {fix}"
                )
            raise DataError(
                f"{path} is not an .npz archive (a zip file): it is truncated or another kind of file. {fix}"
            )
        with zipfile.ZipFile(path) as archive:
            check_npz_sizes(path, archive, fix, wanted)
        with np.load(path, allow_pickle=False) as file:
            return {name: file[name] for name in file.files if wanted is None or wanted(name)}


def load_keras_model(path: Path, fix: str):
    """A saved Keras model (.keras), checked to be a whole archive before Keras opens it."""
    import keras

    path = Path(path)
    what = "a saved Keras model"
    with guarded(path, what, fix):
        if not zipfile.is_zipfile(path):
            raise DataError(f"{path} is not a whole .keras file (a zip archive): it is truncated or damaged. {fix}")
        return keras.models.load_model(path)

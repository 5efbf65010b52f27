"""Decoded image folders kept as .npy files in a user cache folder, never next to the user's data.

The key covers every input file's path, size and modification time and the decoding options, so
any change to the folder or the options decodes afresh. `$FCBASELINE_CACHE_DIR` chooses the folder
(default `$XDG_CACHE_HOME/fcbaseline`, else `~/.cache/fcbaseline`).
"""

import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from fcbaseline.files import write_atomically, write_text

VERSION = 1  # bump when the decoding changes


def cache_dir() -> Path:
    explicit = os.environ.get("FCBASELINE_CACHE_DIR")
    if explicit:
        return Path(os.path.expanduser(explicit))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "fcbaseline"


def key(stamps: Sequence[tuple], options: dict) -> str:
    """From each file's (absolute path, size, modification time) and the options."""
    digest = hashlib.sha256(json.dumps({"version": VERSION, "options": options}, sort_keys=True).encode())
    for path, size, modified in stamps:
        digest.update(f"{path}\0{size}\0{modified}\n".encode())
    return digest.hexdigest()[:32]


def load(name: str) -> Optional[dict]:
    """The cached images and record for `name`, or None."""
    images, record = cache_dir() / f"{name}.npy", cache_dir() / f"{name}.json"
    try:
        found = json.loads(record.read_text())
        if not isinstance(found.get("kept"), list) or not isinstance(found.get("skipped"), list):
            return None
        return {**found, "images": np.load(images, allow_pickle=False)}
    except Exception:  # a damaged entry of our own (truncated, hand-edited, too large): decode again
        return None


def store(name: str, images: np.ndarray, record: dict) -> None:
    """Best effort: a cache that cannot be written only costs the next run the decoding time."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)

        def save(temporary: Path) -> None:
            with open(temporary, "wb") as file:  # a file object: np.save would append .npy to a bare name
                np.save(file, images)

        write_atomically(folder / f"{name}.npy", save)
        write_text(folder / f"{name}.json", json.dumps(record))
    except Exception:  # OutputError or OSError: the run goes on with the decoded arrays
        pass


def cached(stamps: Sequence[tuple], options: dict, decode: Callable[[], tuple]) -> tuple:
    """(images, record, hit): from the cache when the files (their stamps: path, size, modification time)
    and the options are unchanged, else decode() and store."""
    name = key(stamps, options)
    found = load(name)
    if found is not None:
        return found.pop("images"), found, True
    images, record = decode()
    store(name, images, record)
    return images, record, False

"""The official file formats of the built-in datasets, read and checked: MNIST's gzip-compressed IDX
files and CIFAR-10's python pickles (through an unpickler that admits only what the format holds, so a
malicious pickle cannot run code). A damaged file is a DataError naming it."""

import gzip
import pickle
import zlib
from pathlib import Path
from typing import Tuple

import numpy as np

from fcbaseline.data.common import DataError

MAX_DECOMPRESSED = 2**31  # far above the largest official file (47 MB): a bound for a damaged or hostile one


def _read_gzip(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") as file:
            raw = file.read(MAX_DECOMPRESSED + 1)
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"Cannot decompress {path}: {error}. The file is truncated or corrupted; "
            f"replace it with a fresh copy of the official file."
        ) from None
    if len(raw) > MAX_DECOMPRESSED:
        raise DataError(f"{path} decompresses to more than 2 GiB, which no official file does; replace it.")
    return raw


def read_idx(path: Path, expected_dims: int) -> np.ndarray:
    """Read a gzip-compressed IDX file (the MNIST format) holding unsigned bytes."""
    raw = _read_gzip(path)
    if len(raw) < 4 + 4 * expected_dims:
        raise DataError(f"{path} is too short to hold an IDX header; replace it with the official file.")
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x800 + expected_dims:
        raise DataError(
            f"{path} has IDX magic number 0x{magic:08x}, expected 0x{0x800 + expected_dims:08x} "
            f"(unsigned bytes, {expected_dims} dimension(s)). It is not the file its name says; "
            f"replace it with the official file."
        )
    header = 4 + 4 * expected_dims
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(expected_dims)]
    if len(raw) - header != int(np.prod(dims)):
        raise DataError(
            f"{path} declares {'x'.join(map(str, dims))} = {int(np.prod(dims))} values but holds "
            f"{len(raw) - header}. The file is truncated or corrupted; replace it with the official file."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


class _CifarUnpickler(pickle.Unpickler):
    """Admits only what a CIFAR-10 batch holds: dicts, lists, strings, ints and uint8 arrays."""

    ALLOWED = {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("_codecs", "encode"),  # how Python 3 pickles bytes at protocol 2
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"global '{module}.{name}' is not part of the CIFAR-10 format")
        return super().find_class(module, name)


def read_cifar_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as file:
            loaded = _CifarUnpickler(file, encoding="bytes").load()
    except OSError as error:
        raise DataError(f"Cannot read {path}: {error}.") from None
    except Exception as error:  # an unpickler reports corruption with many exception types
        raise DataError(
            f"{path} is not a valid CIFAR-10 python batch ({type(error).__name__}: {error}). "
            f"It is truncated, corrupted or not from the official 'cifar-10-batches-py' archive; "
            f"replace it with the official file."
        ) from None
    if not isinstance(loaded, dict):
        raise DataError(f"{path} holds a {type(loaded).__name__}, not the dict of a CIFAR-10 batch.")
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in loaded.items()}


def read_cifar_batch(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """One batch as (images (N, 32, 32, 3) uint8, labels (N,) int64), in Keras' channels-last order."""
    batch = read_cifar_pickle(path)
    data, labels = batch.get("data"), batch.get("labels")
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", None)
        raise DataError(
            f"{path}: 'data' must be a uint8 array of shape (N, 3072), found "
            f"{type(data).__name__} {getattr(data, 'dtype', '')} {shape}. Replace it with the official file."
        )
    if not isinstance(labels, list) or len(labels) != len(data):
        raise DataError(
            f"{path}: 'labels' must be a list of {len(data)} class indices, one per image; "
            f"found {type(labels).__name__} of length {len(labels) if hasattr(labels, '__len__') else '?'}."
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, np.asarray(labels, dtype=np.int64)

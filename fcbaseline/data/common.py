"""What every dataset loader returns, and the helpers they share. NumPy only (no TensorFlow)."""

import hashlib
from dataclasses import dataclass, field
from typing import List, Tuple

import numpy as np

from fcbaseline.errors import DataError  # noqa: F401  (where loaders have always found it)


@dataclass
class Dataset:
    name: str
    class_names: List[str]
    x_train: np.ndarray  # (samples, *image_shape) uint8 pixels, 0..255, or (samples, width) float32 features
    y_train: np.ndarray  # (samples,) int64 class indices
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the arrays were read from, for the log and metrics.json
    image_shape: Tuple[int, ...]
    skipped_files: List[str] = field(default_factory=list)  # unreadable images left out (skip_bad_files)

    @property
    def features(self) -> bool:
        """Feature vectors (dataset=arrays with float arrays), not images: standardized, not drawn."""
        return self.x_train.dtype.kind == "f"

    def digests(self) -> dict:
        """What the run trained and was tested on, by content: two runs on the same data agree, two on
        different folders (or another version of the same files) do not, whatever their paths."""
        return {"training": arrays_digest(self.x_train, self.y_train), "test": arrays_digest(self.x_test, self.y_test)}


def arrays_digest(*arrays) -> str:
    """SHA-256 of the arrays' shapes, types and every byte (MLflow's own digest reads only the first
    10,000 values), shortened to 16 hexadecimal digits."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()[:16]


PIXEL_MAX = 255.0


def to_unit_interval(pixels: np.ndarray) -> np.ndarray:
    """uint8 pixels as float32 in [0, 1], the recipes' input scaling."""
    return pixels.astype(np.float32) / np.float32(PIXEL_MAX)


def fold_split(x: np.ndarray, y: np.ndarray, folds: int, fold: int, seed: int):
    """Fold `fold` of `folds` stratified folds of the training data for validation, the others to train on;
    the folds depend only on the data and `seed`, so the k jobs of a cross-validation share them."""
    from sklearn.model_selection import StratifiedKFold

    train, valid = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y))[fold]
    return x[train], y[train], x[valid], y[valid]


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int):
    """Hold out a stratified `fraction` of the training data for validation, so the test set stays unseen."""
    from sklearn.model_selection import train_test_split

    x_train, x_valid, y_train, y_valid = train_test_split(x, y, test_size=fraction, random_state=seed, stratify=y)
    return x_train, y_train, x_valid, y_valid

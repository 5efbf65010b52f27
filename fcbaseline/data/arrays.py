"""`dataset=arrays`: a user's data as one .npz file holding x_train, y_train, x_test and y_test.

x: images of any shape, or flat vectors, as uint8 (0..255, scaled to [0, 1] by the model like the
built-in datasets); or feature vectors (N, D) as floats (embeddings of a pretrained network, tabular
columns), kept as float32 and standardized by the model with the training split's statistics
(models/inputs.py). Labels as integers (class indices) or strings (whose sorted values become the class
names). Read with `allow_pickle=False`: a pickled object array is refused and nothing in it runs.
"""

import os
from pathlib import Path
from typing import List, Tuple

import numpy as np

from fcbaseline.data.common import DataError, Dataset
from fcbaseline.reading import load_npz

KEYS = ("x_train", "y_train", "x_test", "y_test")
MAX_CLASSES = 10_000  # more outputs than this is not an MLP baseline; a label like 2**63 would be a bug


def read_npz(path: Path) -> dict:
    fix = "Save the four arrays with np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)."
    arrays = load_npz(path, "a dataset=arrays file", fix, wanted=lambda name: name in KEYS)
    missing = [key for key in KEYS if key not in arrays]
    if missing:
        raise DataError(f"{path} has no {', '.join(missing)}. {fix}")
    return arrays


def check_trained(y_train, y_test, path: Path) -> None:
    """Refuse a test class the training set never shows: the model could never predict it."""
    unseen = sorted(set(np.unique(y_test).tolist()) - set(np.unique(y_train).tolist()))
    if unseen:
        raise DataError(f"{path}: y_test holds classes {unseen[:5]} that y_train never shows; train on every class.")


def encode_labels(y_train, y_test, class_names: List[str], path: Path) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """(train indices, test indices, class names) from integer or string labels."""
    kinds = {y_train.dtype.kind, y_test.dtype.kind}
    if kinds & set("US") and len(kinds) > 1:  # strings beside numbers, or bytes beside text
        raise DataError(
            f"{path}: y_train is {y_train.dtype} and y_test {y_test.dtype}: give both as strings (class names) "
            f"or both as integers (class indices from 0)."
        )
    if y_train.dtype.kind in "US":  # string labels: their sorted values are the classes
        check_trained(y_train, y_test, path)
        names = sorted(set(y_train.tolist()))
        index = {name: position for position, name in enumerate(names)}
        encode = np.vectorize(index.__getitem__, otypes=[np.int64])
        return encode(y_train), encode(y_test), [str(name) for name in names]
    if y_train.dtype.kind not in "iu" or y_test.dtype.kind not in "iu":
        raise DataError(
            f"{path}: labels must be integers (class indices) or strings, found {y_train.dtype} and {y_test.dtype}."
        )
    largest = int(max(y_train.max(initial=0), y_test.max(initial=0)))
    if not class_names and largest >= MAX_CLASSES:
        raise DataError(
            f"{path}: the labels go up to {largest}, but integer labels are class indices 0..K-1 (at most "
            f"{MAX_CLASSES:,} classes). Number the classes from 0, or give string labels."
        )
    count = len(class_names) or largest + 1
    for split, labels in (("y_train", y_train), ("y_test", y_test)):
        if len(labels) and (labels.min() < 0 or labels.max() >= count):
            raise DataError(
                f"{path}: {split} holds labels {labels.min()}..{labels.max()}, outside 0..{count - 1}"
                f"{' (dataset.class_names names ' + str(count) + ' classes)' if class_names else ''}. "
                f"Labels must be class indices from 0, or give string labels."
            )
    check_trained(y_train, y_test, path)
    return y_train.astype(np.int64), y_test.astype(np.int64), list(class_names) or [str(i) for i in range(count)]


def check_kind(arrays: dict, path: Path) -> None:
    """Both x arrays uint8 images, or both float feature vectors (N, D) that are finite in float32."""
    kinds = {arrays[key].dtype.kind if arrays[key].dtype != np.uint8 else "pixels" for key in ("x_train", "x_test")}
    if kinds not in ({"pixels"}, {"f"}):
        raise DataError(
            f"{path}: x_train is {arrays['x_train'].dtype} and x_test {arrays['x_test'].dtype}; fcbaseline takes "
            f"uint8 pixels 0..255 (which the model scales to [0, 1]) or float feature vectors (which it "
            f"standardizes), the same for both. Convert, e.g. x.astype(np.float32) for features, or "
            f"(x * 255).round().astype(np.uint8) for pixel values in [0, 1]."
        )
    if kinds == {"f"}:
        for key in ("x_train", "x_test"):
            if arrays[key].ndim != 2:
                raise DataError(
                    f"{path}: {key} is {arrays[key].shape}: feature vectors are one row per sample, (N, D); "
                    f"flatten them with x.reshape(len(x), -1), or give images as uint8."
                )
            with np.errstate(over="ignore"):
                arrays[key] = arrays[key].astype(np.float32, copy=False)
            bad = int(np.count_nonzero(~np.isfinite(arrays[key])))
            if bad:
                raise DataError(
                    f"{path}: {key} holds {bad:,} value{'s' if bad > 1 else ''} that {'are' if bad > 1 else 'is'} NaN "
                    f"or infinite (or beyond float32's range); "
                    f"impute or drop them (e.g. np.nan_to_num, or leave out the rows) before training."
                )


def check_images(arrays: dict, path: Path) -> None:
    check_kind(arrays, path)
    x_train, x_test = arrays["x_train"], arrays["x_test"]
    for key in KEYS:
        if arrays[key].ndim == 0:
            raise DataError(f"{path}: {key} is a single number, not an array of samples.")
    if x_train.ndim < 2 or not all(x_train.shape[1:]):
        raise DataError(
            f"{path}: x_train is {x_train.shape}: each sample needs at least one value (N, H, W) or (N, D)."
        )
    if not len(x_train) or not len(x_test):
        raise DataError(f"{path}: x_train has {len(x_train)} samples and x_test {len(x_test)}; both need some.")
    if x_train.shape[1:] != x_test.shape[1:] or x_train.ndim < 2:
        raise DataError(f"{path}: x_train is {x_train.shape} and x_test {x_test.shape}: one sample shape for both.")
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        if len(arrays[x]) != len(arrays[y]) or arrays[y].ndim != 1:
            raise DataError(f"{path}: {x} has {len(arrays[x])} samples but {y} is {arrays[y].shape}; one label each.")


def load_arrays(config) -> Dataset:
    path = Path(os.path.expanduser(config.file))
    if not path.is_file():
        raise DataError(f"dataset.file={config.file} does not exist or is not a file: give the path of your .npz file.")
    arrays = read_npz(path)
    check_images(arrays, path)
    y_train, y_test, class_names = encode_labels(arrays["y_train"], arrays["y_test"], list(config.class_names), path)
    if len(class_names) < 2:
        raise DataError(f"{path}: all labels are one class ({class_names}); a classifier needs at least two.")
    return Dataset(
        name=config.name,
        class_names=class_names,
        x_train=np.ascontiguousarray(arrays["x_train"]),
        y_train=y_train,
        x_test=np.ascontiguousarray(arrays["x_test"]),
        y_test=y_test,
        source=str(path),
        image_shape=tuple(arrays["x_train"].shape[1:]),
    )

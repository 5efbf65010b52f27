"""A run's test-set predictions, kept beside metrics.json (test_predictions.npz), so that two runs can be
compared image by image (`fcbaseline compare`: McNemar's test) and their mistakes looked at: for each
test image its index, true class, predicted class and class probabilities (float16; the top ones only
when there are many classes), with a digest of the test labels that says whether two runs share a test
set. Also what the test set's mistakes say: the most confused class pairs and the most confidently
wrong images (report.plot_misclassified draws them)."""

import hashlib
from pathlib import Path
from typing import List

import numpy as np

from fcbaseline.files import write_atomically
from fcbaseline.reading import load_npz

ALL_PROBABILITIES_UP_TO = 100  # classes; beyond, the TOP most probable ones per image
TOP = 5
FIELDS = ("index", "true_class", "predicted_class", "probabilities", "classes", "labels_digest")


def labels_digest(labels: np.ndarray) -> str:
    """SHA-256 of the test labels as int64, shortened: equal for two runs on the same test set in the
    same order (the images are checked by the dataset's own digest in MLflow, here the labels suffice to
    refuse comparing runs on different test sets)."""
    return hashlib.sha256(np.asarray(labels, dtype=np.int64).tobytes()).hexdigest()[:16]


def kept_probabilities(probabilities: np.ndarray):
    """(probabilities, their classes): every class's up to ALL_PROBABILITIES_UP_TO classes, else the TOP
    most probable per image, best first; classes is -1 when all are kept (column = class)."""
    if probabilities.shape[1] <= ALL_PROBABILITIES_UP_TO:
        return probabilities.astype(np.float16), np.full((1, 1), -1, dtype=np.int32)
    top = np.argsort(-probabilities, axis=1)[:, :TOP].astype(np.int32)
    return np.take_along_axis(probabilities, top, axis=1).astype(np.float16), top


def write_test_predictions(path: Path, true_classes: np.ndarray, probabilities: np.ndarray) -> str:
    """Write the file; returns the labels' digest (metrics.json records it too)."""
    digest = labels_digest(true_classes)
    kept, classes = kept_probabilities(probabilities)
    arrays = {
        "index": np.arange(len(true_classes), dtype=np.int32),
        "true_class": np.asarray(true_classes, dtype=np.int32),
        "predicted_class": probabilities.argmax(axis=1).astype(np.int32),
        "probabilities": kept,
        "classes": classes,
        "labels_digest": np.array(digest),
    }
    write_atomically(path, lambda temporary: _save(temporary, arrays))
    return digest


def _save(temporary: Path, arrays: dict) -> None:
    with open(temporary, "wb") as file:  # a file object: numpy would add .npz to the temporary's name
        np.savez_compressed(file, **arrays)


def read_test_predictions(path: Path) -> dict:
    """The arrays of a test_predictions.npz, through the guarded reader (one paragraph for a damaged file)."""
    fix = "Leave that run out of the comparison, or train it again."
    arrays = load_npz(path, "a run's test predictions", fix, lambda name: name in FIELDS)
    missing = [name for name in FIELDS if name not in arrays]
    if missing or len({len(arrays[name]) for name in ("index", "true_class", "predicted_class")}) != 1:
        from fcbaseline.errors import DataError

        raise DataError(f"{path} is not a whole test_predictions.npz (missing {', '.join(missing) or 'rows'}). {fix}")
    return arrays


def confused_pairs(true_classes: np.ndarray, predicted: np.ndarray, class_names: List[str], count: int = 5) -> list:
    """The `count` (true, predicted) class pairs most often confused, most first: [(true, predicted, images)]."""
    wrong = true_classes != predicted
    pairs, images = np.unique(np.stack([true_classes[wrong], predicted[wrong]], axis=1), axis=0, return_counts=True)
    order = np.argsort(-images, kind="stable")[:count]
    return [(class_names[pairs[i][0]], class_names[pairs[i][1]], int(images[i])) for i in order]


def most_confidently_wrong(true_classes: np.ndarray, probabilities: np.ndarray, count: int = 25) -> np.ndarray:
    """Indices of the wrongly classified test images whose wrong class had the highest probability."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != true_classes)
    confidence = probabilities[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")[:count]]


def confused_pairs_text(pairs: list) -> str:
    if not pairs:
        return "No test image was misclassified.\n"
    lines = [f"  {true} taken for {predicted}: {images} images" for true, predicted, images in pairs]
    return "Most confused class pairs (true class taken for predicted class):\n" + "\n".join(lines) + "\n"

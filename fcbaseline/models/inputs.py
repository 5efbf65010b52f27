"""The layers every model starts with, so that a saved `model.keras` takes what the dataset holds, raw:

- images (uint8, their own shape such as 28x28 or 32x32x3) are scaled to [0, 1] by the model;
- feature vectors (float32, e.g. embeddings of a pretrained network, or tabular columns) are
  standardized by the model with the mean and variance of the run's training split only.

The standardizing layer is Keras' BatchNormalization with the statistics as its moving mean and
variance, frozen (`trainable=False`, so it never uses a batch's statistics, in training neither): a
built-in layer, so the saved model loads without fcbaseline, and the statistics are variables, so a
run that takes over the previous run's compiled epoch (training/reuse.py) gets its own."""

from typing import Optional, Tuple

import keras
import numpy as np

from fcbaseline.data.common import PIXEL_MAX

STANDARDIZE = "standardize"  # the layer's name; evaluate and the tests find it by it


def feature_statistics(x_train: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and variance of the training split (float64 sums, float32 results); a constant
    feature gets variance 1, as scikit-learn's StandardScaler does, so it becomes 0 and not a division by 0."""
    chunk = 65536  # rows at a time: a float64 copy of a million 768-wide embeddings would take 6 GB
    total = np.zeros(x_train.shape[1:], np.float64)
    for start in range(0, len(x_train), chunk):
        total += x_train[start : start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / len(x_train)
    squares = np.zeros_like(total)
    for start in range(0, len(x_train), chunk):  # two passes: exact also for features far from zero
        squares += np.square(x_train[start : start + chunk].astype(np.float64) - mean).sum(axis=0)
    variance = squares / len(x_train)
    variance[variance == 0] = 1.0
    return mean.astype(np.float32), variance.astype(np.float32)


def input_layers(shape, standardize: Optional[tuple], dtype: str) -> list:
    """[Input, scaling or standardizing layer] for images (`standardize` None) or feature vectors
    (`standardize` = (mean, variance) of the training split)."""
    if standardize is None:
        return [
            keras.Input(shape=tuple(shape), dtype="uint8", name="pixels"),
            keras.layers.Rescaling(1.0 / PIXEL_MAX, name="scale_to_unit_interval", dtype=dtype),
        ]
    layer = keras.layers.BatchNormalization(  # one mean and variance per feature (data/arrays: vectors only)
        axis=-1, center=False, scale=False, epsilon=1e-12, name=STANDARDIZE, dtype="float32"
    )
    layer.trainable = False
    return [keras.Input(shape=tuple(shape), dtype="float32", name="features"), layer]


def set_statistics(model, standardize: Optional[tuple]) -> None:
    """Give a built model's standardizing layer the training split's mean and variance."""
    if standardize is not None:
        layer = model.get_layer(STANDARDIZE)
        mean, variance = standardize
        layer.moving_mean.assign(mean)
        layer.moving_variance.assign(variance)

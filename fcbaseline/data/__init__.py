"""Datasets by name: `dataset.name` -> a loader returning a checked `Dataset` of uint8 images.

builtin.py   MNIST, Fashion-MNIST, CIFAR-10, digits from their official files (or Keras' download)
folders.py   a user's images in one folder per class (`dataset=image_folder`)
arrays.py    a user's arrays in one .npz file (`dataset=arrays`)
cache.py     decoded image folders kept as .npy in a user cache folder
NumPy, Pillow and scikit-learn only: nothing here imports TensorFlow.
"""

from fcbaseline.data import arrays, folders
from fcbaseline.data.builtin import (  # noqa: F401  (the readers, for tests and users)
    BUILTIN,
    CIFAR10_BATCHES,
    DATA_DIR_VARIABLE,
    IDX_FILES,
    keras_datasets_dir,
    load_builtin,
    read_cifar_batch,
    read_cifar_pickle,
    read_idx,
)
from fcbaseline.data.common import PIXEL_MAX, DataError, Dataset, to_unit_interval, validation_split  # noqa: F401

# dataset.name -> loader (config -> Dataset); config.validate checks names against this registry
DATASETS = {
    **{name: load_builtin for name in BUILTIN},
    "image_folder": folders.load_image_folder,
    "arrays": arrays.load_arrays,
}


def load_dataset(config) -> Dataset:
    """Load the dataset `config` (a DatasetConfig) names, checked, as uint8 images in their own shape."""
    return DATASETS[config.name](config)

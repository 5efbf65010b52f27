"""Datasets by name: `dataset.name` -> a loader returning a checked `Dataset` of uint8 images (or, from
arrays, float feature vectors).

registry.py  the names, their typed schema (DatasetConfig) and loaders
builtin.py   MNIST, Fashion-MNIST, CIFAR-10, digits: where their files are (or Keras' download)
formats.py   their official file formats, read and checked
mnist/       the four official MNIST files, shipped so that the first run needs no network
folders.py   a user's images in one folder per class (`dataset=image_folder`)
arrays.py    a user's arrays in one .npz file (`dataset=arrays`)
cache.py     decoded image folders kept as .npy in a user cache folder
splits.py    the training, validation and test arrays a run uses
NumPy, Pillow and scikit-learn only: nothing here imports TensorFlow.
"""

import json
import os
from pathlib import Path

from fcbaseline.data.builtin import (  # noqa: F401  (the readers, for tests and users)
    BUILTIN,
    CIFAR10_BATCHES,
    DATA_DIR_VARIABLE,
    IDX_FILES,
    keras_datasets_dir,
    load_builtin,
)
from fcbaseline.data.common import PIXEL_MAX, DataError, Dataset, to_unit_interval, validation_split  # noqa: F401
from fcbaseline.data.formats import read_cifar_batch, read_cifar_pickle, read_idx  # noqa: F401
from fcbaseline.data.registry import DATASETS

# The last built-in dataset loaded in this process: the jobs of a sweep that run one after another in
# one process (Hydra's basic launcher) share it instead of reading and checking the same files again.
# One entry, so a sweep over datasets holds one at a time; reused only while the files it came from
# are unchanged. Image folders and arrays have their own, on-disk cache.
_last_loaded = {}


def load_dataset(config) -> Dataset:
    """Load the dataset `config` (a DatasetConfig) names, checked, as uint8 images in their own shape
    (or float32 feature vectors).
    A built-in dataset asked for again in the same process, with the same config, working directory,
    $FCBASELINE_DATA_DIR and unchanged files, is the same Dataset, its arrays read-only so that no job
    can change what the next one sees."""
    if config.name not in BUILTIN:
        return DATASETS[config.name].load(config)
    key = json.dumps([_plain(config), os.getcwd(), os.environ.get(DATA_DIR_VARIABLE)], sort_keys=True, default=str)
    kept = _last_loaded.get(key)
    if kept is not None and kept[1] == _files_stamp(kept[0].source):
        return kept[0]
    dataset = DATASETS[config.name].load(config)
    for array in (dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test):
        array.setflags(write=False)
    _last_loaded.clear()
    _last_loaded[key] = (dataset, _files_stamp(dataset.source))
    return dataset


def _files_stamp(source: str) -> tuple:
    """Name, size and modification time of the files a dataset was read from (a folder or a file)."""
    path = Path(source)
    files = sorted(path.iterdir()) if path.is_dir() else [path] if path.is_file() else []
    return tuple((str(file), file.stat().st_size, file.stat().st_mtime_ns) for file in files if file.is_file())


def _plain(config):
    """A DictConfig or a dict as plain Python values, for the key above."""
    from omegaconf import DictConfig, OmegaConf

    return OmegaConf.to_container(config, resolve=True) if isinstance(config, DictConfig) else dict(config)

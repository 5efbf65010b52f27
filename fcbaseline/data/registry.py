"""Datasets by name (`dataset=mnist|fashion_mnist|cifar10|digits|image_folder|arrays`): the typed schema
every conf/dataset/*.yaml is checked against, the loader of each name and the checks a name needs
(an image folder needs its folder, arrays their file). NumPy only: nothing here imports TensorFlow."""

from dataclasses import dataclass, field
from typing import Any, List, Optional

from omegaconf import MISSING

from fcbaseline.data import arrays, augmentation, folders
from fcbaseline.data.builtin import BUILTIN, load_builtin
from fcbaseline.errors import ConfigError, check_name
from fcbaseline.ranges import SEED_MAX, ranged


@dataclass
class RecipeConfig:
    hidden_sizes: List[int] = MISSING
    activation: Any = MISSING  # a name, or a list of names (OmegaConf 2.3 has no Union types)
    batch_size: int = MISSING


@dataclass
class DatasetConfig:
    name: str = MISSING
    data_dir: Optional[str] = None
    download: bool = True
    class_names: List[str] = MISSING  # [] for image_folder and arrays: the classes come from the data
    recipe: RecipeConfig = field(default_factory=RecipeConfig)
    file: Optional[str] = None  # arrays: the .npz file
    image_size: Optional[List[int]] = None  # image_folder: [height, width] to resize to
    color_mode: str = "rgb"  # image_folder: grayscale or rgb
    test_fraction: float = ranged(0.2, 0, 1, low_open=True, high_open=True, example="0.2")  # image_folder
    # without train/ and test/: the held-out share; split_seed: that split's seed (fixed: seed sweeps share it)
    split_seed: int = ranged(0, 0, SEED_MAX, example="0")
    skip_bad_files: bool = False  # image_folder: leave unreadable images out instead of stopping
    augment: List[str] = field(default_factory=list)  # training images only: flip, translate (data/augmentation.py)
    translate_pixels: int = ranged(4, 1, example="4")  # translate: by up to this many pixels each way


def check_image_folder(dataset) -> None:
    if not dataset.data_dir:
        raise ConfigError(
            "dataset=image_folder needs dataset.data_dir=<folder> holding one subfolder of images per class "
            "(or train/ and test/ folders, each with one subfolder per class)."
        )
    if dataset.class_names:
        raise ConfigError(
            f"dataset.class_names={list(dataset.class_names)} does not apply to dataset=image_folder: its classes are "
            f"the names of its subfolders, in sorted order. Rename the folders instead, and leave class_names out."
        )


def check_arrays(dataset) -> None:
    if not dataset.file:
        raise ConfigError("dataset=arrays needs dataset.file=<path of an .npz with x_train, y_train, x_test, y_test>.")


@dataclass(frozen=True)
class Entry:
    load: Any  # (dataset config) -> a checked Dataset
    check: Any = lambda dataset: None  # refuses a config this loader cannot use (ConfigError)


DATASETS = {
    **{name: Entry(load_builtin) for name in BUILTIN},
    "image_folder": Entry(folders.load_image_folder, check_image_folder),
    "arrays": Entry(arrays.load_arrays, check_arrays),
}


def validate(dataset) -> None:
    check_name("dataset.name", dataset.name, list(DATASETS))
    DATASETS[dataset.name].check(dataset)
    check_name("dataset.color_mode", dataset.color_mode, ("grayscale", "rgb"))
    size = dataset.image_size
    if size is not None and (len(size) != 2 or min(size) <= 0):
        raise ConfigError(f"dataset.image_size={list(size)} must be [height, width] in pixels, e.g. [28,28].")
    augmentation.validate(list(dataset.augment))
    if not 0 < dataset.test_fraction < 1:
        raise ConfigError(f"dataset.test_fraction={dataset.test_fraction} must be between 0 and 1, e.g. 0.2.")

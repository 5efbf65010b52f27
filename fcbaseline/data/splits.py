"""What a run trains, validates and tests on: the dataset, with the validation data its mode asks for."""

import logging
import math
from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from fcbaseline.data.common import Dataset, fold_split, validation_split
from fcbaseline.errors import ConfigError

log = logging.getLogger("fcbaseline")


def validation_mode(setting: str, in_sweep: bool) -> str:
    """What a run validates on: `auto` is the test set for a single run (the recipes, as the original
    tutorials do) and a split of the training set in a sweep, whose ranking chooses a configuration and
    so must never see the test set; `test`, `split` and `kfold` are taken as said."""
    if setting != "auto":
        return setting
    return "split" if in_sweep else "test"


def split_problem(counts: Sequence[int], fraction: float) -> Optional[str]:
    """Why a stratified split of `fraction` cannot put an image of every class on both sides (None: it can).
    The held-out part is ceil(fraction x images) long, as scikit-learn cuts it, and a class gets about its
    share of each part: the smallest class needs a share of at least one image on either side."""
    counts = np.asarray(counts)
    total, smallest = int(counts.sum()), int(counts.min())
    held_out = math.ceil(fraction * total)
    fewest, most = math.ceil(total / smallest), total - math.ceil(total / smallest)  # held-out lengths that work
    if fewest <= held_out <= most:
        return None
    if fewest > most:
        return f"a class has {smallest} image(s), too few to put one on each side"
    low, high = math.ceil(fewest / total * 1e4) / 1e4, math.floor(most / total * 1e4) / 1e4
    return (
        f"the smallest class has {smallest} of the {total} images, so the fraction must lie in "
        f"[{low:g}, {high:g}] to give it an image on each side"
    )


def check_split(labels: np.ndarray, fraction: float, key: str, class_names, fix: str) -> None:
    """Refuse (ConfigError naming `key`) a split that would leave a class out of one side."""
    counts = np.bincount(labels, minlength=len(class_names))
    problem = split_problem(counts, fraction)
    if problem:
        smallest = class_names[int(counts.argmin())]
        raise ConfigError(f"{key}={fraction}: {problem} (class '{smallest}'). {fix}")


def check_folds(labels: np.ndarray, folds: int, class_names) -> None:
    """Refuse more folds than the smallest class has images: a fold would miss that class."""
    counts = np.bincount(labels, minlength=len(class_names))
    if counts.min() < folds:
        smallest = class_names[int(counts.argmin())]
        raise ConfigError(
            f"training.folds={folds}: class '{smallest}' has {int(counts.min())} training image(s), too few for "
            f"one in each of {folds} folds. Choose at most {int(counts.min())} folds, or add images."
        )


@dataclass
class Splits:
    dataset: Dataset
    x_train: Any
    y_train: Any
    x_valid: Any
    y_valid: Any
    validation: str  # what it validates on: test, split or kfold


def make_splits(dataset: Dataset, training, in_sweep: bool) -> Splits:
    """The training and validation arrays of `dataset` for `training` (a TrainingConfig)."""
    log.info(
        f"{dataset.name}: {len(dataset.y_train)} training and {len(dataset.y_test)} test images from {dataset.source}"
    )
    mode = validation_mode(training.validation, in_sweep)
    x_train, y_train = dataset.x_train, dataset.y_train
    if mode == "split":
        fix = "Choose a fraction in that range, add images, or validate on the test set (training.validation=test)."
        check_split(y_train, training.validation_fraction, "training.validation_fraction", dataset.class_names, fix)
        x_train, y_train, x_valid, y_valid = validation_split(
            x_train, y_train, training.validation_fraction, training.seed
        )
    elif mode == "kfold":
        check_folds(y_train, training.folds, dataset.class_names)
        x_train, y_train, x_valid, y_valid = fold_split(
            x_train, y_train, training.folds, training.fold, training.fold_seed
        )
    else:  # the recipes validate on the test set, as the original tutorials do
        x_valid, y_valid = dataset.x_test, dataset.y_test
    if training.batch_size > len(y_train):
        raise ConfigError(
            f"training.batch_size={training.batch_size} is larger than the {len(y_train)} training "
            f"images of {dataset.name}; choose a batch size of at most {len(y_train)}."
        )
    return Splits(dataset, x_train, y_train, x_valid, y_valid, mode)

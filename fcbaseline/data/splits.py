"""What a run trains, validates and tests on: the dataset, with the validation data its mode asks for."""

import logging
from dataclasses import dataclass
from typing import Any

from fcbaseline.data.common import Dataset, validation_split
from fcbaseline.errors import ConfigError

log = logging.getLogger("fcbaseline")


def validation_mode(setting: str, in_sweep: bool) -> str:
    """What a run validates on: `auto` is the test set for a single run (the recipes, as the original
    tutorials do) and a split of the training set in a sweep, whose ranking chooses a configuration and
    so must never see the test set; `test` and `split` are taken as said."""
    if setting != "auto":
        return setting
    return "split" if in_sweep else "test"


@dataclass
class Splits:
    dataset: Dataset
    x_train: Any
    y_train: Any
    x_valid: Any
    y_valid: Any
    validation: str  # what it validates on: test or split


def make_splits(dataset: Dataset, training, in_sweep: bool) -> Splits:
    """The training and validation arrays of `dataset` for `training` (a TrainingConfig)."""
    log.info(
        f"{dataset.name}: {len(dataset.y_train)} training and {len(dataset.y_test)} test images from {dataset.source}"
    )
    mode = validation_mode(training.validation, in_sweep)
    x_train, y_train = dataset.x_train, dataset.y_train
    if mode == "split":
        x_train, y_train, x_valid, y_valid = validation_split(
            x_train, y_train, training.validation_fraction, training.seed
        )
    else:  # the recipes validate on the test set, as the original tutorials do
        x_valid, y_valid = dataset.x_test, dataset.y_test
    if training.batch_size > len(y_train):
        raise ConfigError(
            f"training.batch_size={training.batch_size} is larger than the {len(y_train)} training "
            f"images of {dataset.name}; choose a batch size of at most {len(y_train)}."
        )
    return Splits(dataset, x_train, y_train, x_valid, y_valid, mode)

"""A run's Keras objects, assembled once for every caller (runs, benchmarks, tests, notebooks): seed
everything, build the model for the dataset's images and classes, its optimizer with the schedule,
compile, and the configured callbacks."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from fcbaseline import models
from fcbaseline.components.callbacks import build_callbacks
from fcbaseline.components.optimizers import build_optimizer
from fcbaseline.models.inputs import feature_statistics
from fcbaseline.training.augment import make_augment
from fcbaseline.training.epoch import seed_everything


@dataclass
class Assembled:
    model: object
    optimizer: object
    callbacks: dict  # name -> Keras callback, in the order configured
    architecture: str  # '784-256-128-10 sigmoid' style, for logs and titles
    augment: Optional[object] = None  # the training batches' augmentation (training/augment.py), or None


def assemble(config, dataset, run_dir: Path = Path("."), x_train: Optional[np.ndarray] = None) -> Assembled:
    """The seeded model, optimizer and callbacks of `config` for `dataset`. `x_train`, by default all of
    its training set, is what the run trains on: it sets the steps per epoch a schedule counts and, for
    feature vectors, the statistics the model standardizes with. Callbacks that write files write into
    `run_dir`, by default the working directory."""
    seed_everything(config.training.seed)
    num_classes, shape = len(dataset.class_names), dataset.image_shape
    x_train = dataset.x_train if x_train is None else x_train
    steps_per_epoch = math.ceil(len(x_train) / config.training.batch_size)
    standardize = feature_statistics(x_train) if dataset.features else None
    model = models.build_model(config.model, shape, num_classes, config.training.precision, standardize)
    optimizer = build_optimizer(config.optimizer, steps_per_epoch, config.training.epochs)
    models.compile_model(model, optimizer)
    callbacks = build_callbacks(config.training, config.optimizer.schedule, Path(run_dir))
    augment = make_augment(list(config.dataset.augment), config.dataset.translate_pixels)
    return Assembled(model, optimizer, callbacks, models.describe(config.model, shape, num_classes), augment)

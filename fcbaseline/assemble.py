"""A run's Keras objects, assembled once for every caller (runs, benchmarks, tests, notebooks): seed
everything, build the model for the dataset's images and classes, its optimizer with the schedule,
compile, and the configured callbacks."""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from fcbaseline import model as model_builder
from fcbaseline.components.callbacks import build_callbacks
from fcbaseline.components.optimizers import build_optimizer
from fcbaseline.training.epoch import seed_everything


@dataclass
class Assembled:
    model: object
    optimizer: object
    callbacks: dict  # name -> Keras callback, in the order configured
    architecture: str  # '784-256-128-10 sigmoid' style, for logs and titles


def assemble(config, dataset, run_dir: Path = Path("."), training_samples: Optional[int] = None) -> Assembled:
    """The seeded model, optimizer and callbacks of `config` for `dataset` (`training_samples`, default
    all of its training set, sets the steps per epoch a schedule counts; callbacks that write files write
    into `run_dir`, by default the working directory)."""
    seed_everything(config.training.seed)
    num_classes, image_shape = len(dataset.class_names), dataset.image_shape
    samples = len(dataset.y_train) if training_samples is None else training_samples
    steps_per_epoch = math.ceil(samples / config.training.batch_size)
    model = model_builder.build_model(config.model, image_shape, num_classes, config.training.precision)
    optimizer = build_optimizer(config.optimizer, steps_per_epoch, config.training.epochs)
    model_builder.compile_model(model, optimizer)
    callbacks = build_callbacks(config.training, config.optimizer.schedule, Path(run_dir))
    return Assembled(model, optimizer, callbacks, model_builder.describe(config.model, image_shape, num_classes))

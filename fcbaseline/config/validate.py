"""The checks a composed config must pass before any data or TensorFlow is loaded: what a type cannot
express (positive sizes, known names, list lengths). Each component's own checks live beside it
(components/, data/registry.py); this module runs them all."""

import importlib.util
from dataclasses import fields
from typing import Sequence

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fcbaseline import models
from fcbaseline.components import callbacks, optimizers
from fcbaseline.config.schema import Config
from fcbaseline.data import registry as datasets
from fcbaseline.errors import ConfigError, check_name
from fcbaseline.ranges import check_schema


def validate(config: DictConfig) -> None:
    """Refuse a composed config that type checks but cannot run: unknown keys first (also added with
    `+key=`), then each part's own checks, then every value against the range its schema declares."""
    check_resolvable(config)
    check_structure(config, ranges=False)
    datasets.validate(config.dataset)
    models.validate(config.model, config.training.xla)
    optimizers.validate(config.optimizer, config.training.epochs)
    validate_training(config.training)
    callbacks.validate(config.training)
    validate_tracking(config.tracking)
    check_structure(config, ranges=True)


def check_structure(config: DictConfig, ranges: bool) -> None:
    own = OmegaConf.masked_copy(config, [key for key in config if key != "hydra"])  # Hydra's node, when composed in
    check_schema(own, Config, ranges=ranges)
    for group, registry in (("optimizer", optimizers.OPTIMIZERS), ("model", models.MODELS)):
        chosen, keys = registry.get(config[group].get("name")), set(config[group].keys())
        schemas = {name: {item.name for item in fields(entry.schema)} for name, entry in registry.items()}
        # its block is typed by the chosen one's own schema; another one's block renamed
        # (optimizer.name=adam on optimizer=sgd) is left to the group's validate, which explains it
        renamed = any(own == keys for name, own in schemas.items() if name != config[group].get("name"))
        if chosen is not None and not renamed and schemas[config[group].name] <= keys:
            check_schema(config[group], chosen.schema, group, ranges)


def check_resolvable(node, prefix: str = "") -> None:
    """Every value resolves (an interpolation such as ${nope} names a key that exists), or a ConfigError
    naming the key it was given to. Hydra's own node resolves as each job runs, and is left to Hydra."""
    keys = range(len(node)) if isinstance(node, ListConfig) else [key for key in node.keys() if key != "hydra"]
    for key in keys:
        name = f"{prefix}[{key}]" if isinstance(node, ListConfig) else f"{prefix}{'.' if prefix else ''}{key}"
        try:
            value = node[key]
        except OmegaConfBaseException as error:
            raise ConfigError(
                f"{name}: {str(error).splitlines()[0]}. Give it a value, or an interpolation to a key that exists "
                f"(e.g. training.batch_size=${{dataset.recipe.batch_size}})."
            ) from None
        if isinstance(value, (DictConfig, ListConfig)):
            check_resolvable(value, name)


def validate_training(training: DictConfig) -> None:
    for key in ("epochs", "batch_size"):
        if training[key] <= 0:
            raise ConfigError(f"training.{key}={training[key]} must be a positive integer.")
    if training.threads is not None and training.threads <= 0:
        raise ConfigError(f"training.threads={training.threads} must be a positive number of threads, or null.")
    check_name("training.validation", training.validation, ("auto", "test", "split", "kfold"))
    if training.validation == "kfold" and training.fold >= training.folds:
        raise ConfigError(
            f"training.fold={training.fold} is not one of the {training.folds} folds (training.folds): give "
            f"0 .. {training.folds - 1}, for example -m 'training.fold=range({training.folds})'."
        )
    for key in ("fold", "fold_seed"):  # without kfold: identical runs that would pass for several results
        if training.validation != "kfold" and training[key] != 0:
            raise ConfigError(
                f"training.{key}={training[key]} chooses the folds only with training.validation=kfold (it is "
                f"{training.validation}): add training.validation=kfold, or leave training.{key} out."
            )
    check_name("training.precision", training.precision, ("float32", "bfloat16"))
    if not 0 < training.validation_fraction < 1:
        raise ConfigError(
            f"training.validation_fraction={training.validation_fraction} must be "
            f"between 0 and 1 (exclusive), for example 0.1."
        )


def validate_tracking(tracking: DictConfig) -> None:
    if tracking.mlflow.enabled and importlib.util.find_spec("mlflow") is None:
        raise ConfigError(
            "tracking=mlflow needs MLflow, which is not installed: pip install -e '.[mlflow]' (or "
            "pip install 'mlflow>=3.1,<4'), or track with TensorBoard only: tracking=tensorboard."
        )
    register_as = tracking.mlflow.get("register_as")
    if register_as is not None and not (str(register_as).strip() and tracking.mlflow.log_model):
        raise ConfigError(
            f"tracking.mlflow.register_as={register_as!r} registers the MLflow model each completed run logs: "
            f"give a non-empty name with tracking.mlflow.log_model=true, or leave register_as null."
        )


def check_overrides(overrides: Sequence[str]) -> None:
    """Refuse command-line overrides that contradict a group choice (`dataset.name=...` on `dataset=mnist`
    would train on one dataset with the class names of another)."""
    for override in overrides:
        key = override.split("=", 1)[0].lstrip("+~")
        if key == "dataset.name":
            value = override.split("=", 1)[1] if "=" in override else ""
            raise ConfigError(
                f"{override}: the dataset is chosen by its config group, which also brings its class names "
                f"and recipe. Use dataset={value or '<name>'} instead of dataset.name={value or '<name>'}."
            )

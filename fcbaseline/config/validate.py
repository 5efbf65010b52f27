"""The checks a composed config must pass before any data or TensorFlow is loaded: what a type cannot
express (positive sizes, known names, list lengths). Each component's own checks live beside it
(components/, data/registry.py); this module runs them all."""

import importlib.util
from dataclasses import fields
from typing import Sequence

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fcbaseline.components import callbacks, optimizers
from fcbaseline.config.schema import ACTIVATIONS, Config, dropout_rates, hidden_activations
from fcbaseline.data import registry as datasets
from fcbaseline.errors import ConfigError, check_name
from fcbaseline.ranges import check_schema


def validate(config: DictConfig) -> None:
    """Refuse a composed config that type checks but cannot run: unknown keys first (also added with
    `+key=`), then each part's own checks, then every value against the range its schema declares."""
    check_resolvable(config)
    check_structure(config, ranges=False)
    datasets.validate(config.dataset)
    validate_model(config.model)
    optimizers.validate(config.optimizer, config.training.epochs)
    validate_training(config.training)
    callbacks.validate(config.training)
    validate_tracking(config.tracking)
    check_structure(config, ranges=True)


def check_structure(config: DictConfig, ranges: bool) -> None:
    own = OmegaConf.masked_copy(config, [key for key in config if key != "hydra"])  # Hydra's node, when composed in
    check_schema(own, Config, ranges=ranges)
    optimizer = optimizers.OPTIMIZERS.get(config.optimizer.get("name"))
    own_fields = {item.name for item in fields(optimizer.schema)} if optimizer is not None else None
    # its block is typed by the chosen optimizer's own schema; one missing its fields is another
    # optimizer's block renamed (optimizer.name=adam on optimizer=sgd), which optimizers.validate explains
    if own_fields is not None and own_fields <= set(config.optimizer.keys()):
        check_schema(config.optimizer, optimizer.schema, "optimizer", ranges)


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


def validate_model(model: DictConfig) -> None:
    sizes = list(model.hidden_sizes)
    if not sizes:
        raise ConfigError(
            "model.hidden_sizes=[] has no hidden layer. Give at least one positive size, "
            "for example model.hidden_sizes=[256,128]."
        )
    for position, size in enumerate(sizes):
        if size <= 0:
            raise ConfigError(
                f"model.hidden_sizes[{position}]={size} must be a positive number of units, "
                f"for example model.hidden_sizes=[256,128]."
            )
    for key in ("activation", "dropout"):
        value = model[key]
        if isinstance(value, (list, ListConfig)) and len(value) != len(sizes):
            raise ConfigError(
                f"model.{key} has {len(value)} {'names' if key == 'activation' else 'rates'} but "
                f"model.hidden_sizes has {len(sizes)} layers. Give one for all layers "
                f"(model.{key}={'relu' if key == 'activation' else 0.2}) or one per layer."
            )
    for position, name in enumerate(hidden_activations(model)):
        key = "model.activation" if isinstance(model.activation, str) else f"model.activation[{position}]"
        check_name(key, name, ACTIVATIONS)
    check_name("model.output_activation", model.output_activation, ("softmax",))
    validate_regularization(model)


def validate_regularization(model: DictConfig) -> None:
    try:
        rates = dropout_rates(model)
    except (TypeError, ValueError):
        raise ConfigError(f"model.dropout={model.dropout} must be a rate, or a list of rates, e.g. 0.2.") from None
    for position, rate in enumerate(rates):
        if not 0 <= rate < 1:
            raise ConfigError(f"model.dropout={model.dropout}: rate {rate} of layer {position + 1} must be in [0, 1).")
    if model.l2 < 0:
        raise ConfigError(f"model.l2={model.l2} must be >= 0 (0 switches the L2 penalty off), e.g. model.l2=1e-4.")


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

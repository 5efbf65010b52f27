"""Optimizers by name (`optimizer=sgd|adam|adamw|rmsprop`): each one's typed schema beside its Keras
builder. conf/optimizer/<name>.yaml starts from `<name>_schema` (config/schema.py stores them), so an
SGD field given to Adam is refused while composing."""

from dataclasses import dataclass, field
from typing import Callable, Dict

from fcbaseline.components import schedules
from fcbaseline.components.schedules import ScheduleConfig
from fcbaseline.errors import ConfigError, check_group_name
from fcbaseline.ranges import ranged


@dataclass
class SGDConfig:
    name: str = "sgd"
    lr: float = ranged(0.01, 0, low_open=True, example="0.01")
    momentum: float = ranged(0.0, 0, 1, high_open=True, example="0.9")
    nesterov: bool = False
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


@dataclass
class AdamConfig:
    name: str = "adam"
    lr: float = ranged(0.001, 0, low_open=True, example="0.001")
    beta_1: float = ranged(0.9, 0, 1, high_open=True, example="0.9")
    beta_2: float = ranged(0.999, 0, 1, high_open=True, example="0.999")
    epsilon: float = ranged(1e-7, 0, low_open=True, example="1e-7")
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


@dataclass
class AdamWConfig(AdamConfig):  # Adam's fields, and decoupled weight decay
    name: str = "adamw"
    weight_decay: float = ranged(0.004, 0, example="0.004")


@dataclass
class RMSpropConfig:
    name: str = "rmsprop"
    lr: float = ranged(0.001, 0, low_open=True, example="0.001")
    rho: float = ranged(0.9, 0, 1, high_open=True, example="0.9")
    momentum: float = ranged(0.0, 0, 1, high_open=True, example="0.9")
    epsilon: float = ranged(1e-7, 0, low_open=True, example="1e-7")
    centered: bool = False
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)


def build_sgd(config, learning_rate):
    import keras

    return keras.optimizers.SGD(learning_rate=learning_rate, momentum=config.momentum, nesterov=config.nesterov)


def build_adam(config, learning_rate):
    import keras

    return keras.optimizers.Adam(
        learning_rate=learning_rate, beta_1=config.beta_1, beta_2=config.beta_2, epsilon=config.epsilon
    )


def build_adamw(config, learning_rate):
    import keras

    return keras.optimizers.AdamW(
        learning_rate=learning_rate,
        weight_decay=config.weight_decay,
        beta_1=config.beta_1,
        beta_2=config.beta_2,
        epsilon=config.epsilon,
    )


def build_rmsprop(config, learning_rate):
    import keras

    return keras.optimizers.RMSprop(
        learning_rate=learning_rate,
        rho=config.rho,
        momentum=config.momentum,
        epsilon=config.epsilon,
        centered=config.centered,
    )


@dataclass(frozen=True)
class Optimizer:
    schema: type  # the dataclass conf/optimizer/<name>.yaml is typed by
    build: Callable  # (optimizer config, learning rate or schedule) -> a Keras optimizer


OPTIMIZERS: Dict[str, Optimizer] = {
    "sgd": Optimizer(SGDConfig, build_sgd),
    "adam": Optimizer(AdamConfig, build_adam),
    "adamw": Optimizer(AdamWConfig, build_adamw),
    "rmsprop": Optimizer(RMSpropConfig, build_rmsprop),
}


def validate(optimizer, epochs: int) -> None:
    check_group_name("optimizer", optimizer, OPTIMIZERS)
    if not optimizer.lr > 0:
        raise ConfigError(f"optimizer.lr={optimizer.lr} must be > 0, for example optimizer.lr=0.01.")
    schedules.validate(optimizer.schedule, epochs)


def build_optimizer(config, steps_per_epoch: int, epochs: int):
    """The Keras optimizer `config` names, with its learning rate or schedule."""
    return OPTIMIZERS[config.name].build(config, schedules.learning_rate(config, steps_per_epoch, epochs))


def current_learning_rate(optimizer) -> float:
    """The rate the optimizer's next step will use (a schedule is evaluated at the current step)."""
    return float(optimizer.learning_rate)

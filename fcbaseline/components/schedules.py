"""Learning-rate schedules by name (`optimizer.schedule.name`): the shared schema, each name's checks
and the learning rate it hands the optimizer (a float, or a Keras LearningRateSchedule evaluated at
every step). `plateau` starts constant; components/callbacks.py adds the ReduceLROnPlateau that lowers it.
"""

from dataclasses import dataclass
from typing import Callable, Dict

from fcbaseline.errors import ConfigError, check_name
from fcbaseline.ranges import ranged

# What a callback or a plateau schedule may watch: the figures each epoch's logs carry.
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")


@dataclass
class ScheduleConfig:
    name: str = "constant"
    decay_epochs: int = ranged(10, 1, example="10")  # step: epochs between drops; exponential: epochs per factor
    factor: float = ranged(0.5, 0, 1, low_open=True, high_open=True, example="0.5")  # the rate is multiplied by it
    warmup_epochs: int = ranged(0, 0, example="2")  # cosine: linear warm-up from 0 to optimizer.lr first
    final_lr_fraction: float = ranged(0.0, 0, 1, example="0.1")  # cosine: the last epoch's rate / optimizer.lr
    monitor: str = "val_loss"  # plateau: the figure watched
    patience: int = ranged(5, 0, example="5")  # plateau: epochs without improvement before a reduction
    min_lr: float = ranged(0.0, 0, example="1e-5")  # plateau: never below this


def constant_rate(optimizer, steps_per_epoch: int, epochs: int):
    return optimizer.lr  # a float: Keras keeps it in a variable that ReduceLROnPlateau may change


def step_decay(optimizer, steps_per_epoch: int, epochs: int):
    import keras

    schedule = optimizer.schedule
    return keras.optimizers.schedules.ExponentialDecay(
        optimizer.lr, steps_per_epoch * schedule.decay_epochs, schedule.factor, staircase=True
    )


def exponential_decay(optimizer, steps_per_epoch: int, epochs: int):
    import keras

    schedule = optimizer.schedule
    return keras.optimizers.schedules.ExponentialDecay(
        optimizer.lr, steps_per_epoch * schedule.decay_epochs, schedule.factor
    )


def cosine_decay(optimizer, steps_per_epoch: int, epochs: int):
    """Cosine decay from optimizer.lr to final_lr_fraction x lr over the run, after a linear warm-up from 0."""
    import keras

    schedule = optimizer.schedule
    warmup_steps = steps_per_epoch * schedule.warmup_epochs
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup_steps else optimizer.lr,
        decay_steps=max(1, steps_per_epoch * epochs - warmup_steps),
        alpha=schedule.final_lr_fraction,
        warmup_target=optimizer.lr if warmup_steps else None,
        warmup_steps=warmup_steps,
    )


def check_factor(schedule, epochs: int) -> None:
    if not 0 < schedule.factor < 1:
        raise ConfigError(f"optimizer.schedule.factor={schedule.factor} must be between 0 and 1, e.g. 0.5.")


def check_decay(schedule, epochs: int) -> None:
    check_factor(schedule, epochs)
    if schedule.decay_epochs <= 0:
        raise ConfigError(f"optimizer.schedule.decay_epochs={schedule.decay_epochs} must be a positive integer.")


def check_cosine(schedule, epochs: int) -> None:
    if not 0 <= schedule.warmup_epochs < epochs:
        raise ConfigError(
            f"optimizer.schedule.warmup_epochs={schedule.warmup_epochs} must be at least 0 and fewer than "
            f"training.epochs={epochs}."
        )
    if not 0 <= schedule.final_lr_fraction <= 1:
        raise ConfigError(f"optimizer.schedule.final_lr_fraction={schedule.final_lr_fraction} must be in [0, 1].")


def check_plateau(schedule, epochs: int) -> None:
    check_factor(schedule, epochs)
    check_name("optimizer.schedule.monitor", schedule.monitor, MONITORS)
    if schedule.patience < 0:
        raise ConfigError(f"optimizer.schedule.patience={schedule.patience} must be >= 0.")


@dataclass(frozen=True)
class Schedule:
    learning_rate: Callable  # (optimizer config, steps per epoch, epochs) -> a float or a Keras schedule
    check: Callable = lambda schedule, epochs: None  # refuses settings that cannot run (ConfigError)


SCHEDULES: Dict[str, Schedule] = {
    "constant": Schedule(constant_rate),
    "step": Schedule(step_decay, check_decay),
    "exponential": Schedule(exponential_decay, check_decay),
    "cosine": Schedule(cosine_decay, check_cosine),
    "plateau": Schedule(constant_rate, check_plateau),
}


def validate(schedule, epochs: int) -> None:
    check_name("optimizer.schedule.name", schedule.name, list(SCHEDULES))
    SCHEDULES[schedule.name].check(schedule, epochs)


def learning_rate(optimizer, steps_per_epoch: int, epochs: int):
    """What the optimizer is built with: `optimizer.lr` itself or the schedule that varies it."""
    return SCHEDULES[optimizer.schedule.name].learning_rate(optimizer, steps_per_epoch, epochs)

"""Keras callbacks by name (`training.callbacks=[early_stopping,model_checkpoint]`): each one's typed
arguments (a block of TrainingConfig, `training.early_stopping.patience=10`), its builder, and the
attributes that make up its state, so a checkpoint can save them and a resumed run continues with the
same counters (Keras resets them in `on_train_begin`, and a resumed run is a new fit). Also the plateau
schedule's ReduceLROnPlateau.

The callbacks are Keras' own, unmodified; training/loop.py drives them through
`keras.callbacks.CallbackList` once per epoch.
"""

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Callable, Dict, Tuple

from fcbaseline.components.schedules import MONITORS
from fcbaseline.errors import ConfigError, check_name
from fcbaseline.ranges import ranged


@dataclass
class EarlyStoppingConfig:
    monitor: str = "val_loss"
    patience: int = ranged(10, 0, example="10")
    min_delta: float = ranged(0.0, 0, example="0.001")
    restore_best_weights: bool = True
    start_from_epoch: int = ranged(0, 0, example="5")


@dataclass
class ModelCheckpointConfig:
    monitor: str = "val_accuracy"
    filename: str = "best_model.keras"


def mode(monitor: str) -> str:
    """Which way is better for a watched figure: Keras' 'auto' needs compiled metric names to decide."""
    return "max" if monitor.endswith("accuracy") else "min"


def early_stopping(arguments, run_directory: Path):
    import keras

    return keras.callbacks.EarlyStopping(
        monitor=arguments.monitor,
        mode=mode(arguments.monitor),
        patience=arguments.patience,
        min_delta=arguments.min_delta,
        restore_best_weights=arguments.restore_best_weights,
        start_from_epoch=arguments.start_from_epoch,
    )


def model_checkpoint(arguments, run_directory: Path):
    import keras

    return keras.callbacks.ModelCheckpoint(
        filepath=str(run_directory / arguments.filename),
        monitor=arguments.monitor,
        mode=mode(arguments.monitor),
        save_best_only=True,
    )


def check_model_checkpoint(arguments) -> None:
    """The best model's file is a plain name inside the run folder, never a path out of it (a user's file
    elsewhere would be overwritten) nor one of the run's own files."""
    from fcbaseline.rundir import ARTIFACTS, CHECKPOINT, is_plain_name

    name = arguments.filename
    if not is_plain_name(name) or not name.endswith(".keras") or name in (*ARTIFACTS, CHECKPOINT):
        raise ConfigError(
            f"training.model_checkpoint.filename={name!r} must be a plain file name ending in .keras, which the "
            f"best model is written to inside the run folder, and not one of the run's own files (model.keras): "
            f"e.g. training.model_checkpoint.filename=best_model.keras."
        )


def check_early_stopping(arguments) -> None:
    if arguments.patience < 0 or arguments.start_from_epoch < 0:
        raise ConfigError("training.early_stopping.patience and .start_from_epoch must be >= 0.")


@dataclass(frozen=True)
class Entry:
    schema: type  # the typed block of its arguments in TrainingConfig
    build: Callable  # (the callback's typed arguments, the run directory) -> a Keras callback
    state: Tuple[str, ...]  # the attributes that change from epoch to epoch (plain numbers or None)
    check: Callable = lambda arguments: None  # refuses arguments that cannot run (ConfigError)


CALLBACKS: Dict[str, Entry] = {
    "early_stopping": Entry(
        EarlyStoppingConfig, early_stopping, ("wait", "stopped_epoch", "best", "best_epoch"), check_early_stopping
    ),
    "model_checkpoint": Entry(ModelCheckpointConfig, model_checkpoint, ("best",), check_model_checkpoint),
}
PLATEAU_STATE = ("wait", "best", "cooldown_counter")
INTEGER_STATE = ("wait", "stopped_epoch", "best_epoch", "cooldown_counter")


def validate(training) -> None:
    """Known names; watched figures that exist; no arguments set for a callback that is not listed."""
    for position, name in enumerate(training.callbacks):
        check_name(f"training.callbacks[{position}]", name, list(CALLBACKS))
    for name, entry in CALLBACKS.items():
        check_name(f"training.{name}.monitor", training[name].monitor, MONITORS)
        defaults = entry.schema()
        changed = [
            item.name for item in fields(entry.schema) if training[name][item.name] != getattr(defaults, item.name)
        ]
        if changed and name not in training.callbacks:  # arguments that would silently do nothing
            raise ConfigError(
                f"training.{name}.{changed[0]} is set, but '{name}' is not in training.callbacks, so it would "
                f"have no effect. Add it: 'training.callbacks=[{', '.join([*training.callbacks, name])}]'."
            )
    for name, entry in CALLBACKS.items():
        entry.check(training[name])


def plateau(schedule):
    import keras

    return keras.callbacks.ReduceLROnPlateau(
        monitor=schedule.monitor,
        mode=mode(schedule.monitor),
        factor=schedule.factor,
        patience=schedule.patience,
        min_lr=schedule.min_lr,
    )


def build_callbacks(training, schedule, run_directory: Path) -> dict:
    """The configured callbacks by name, in the order listed; `plateau` for the plateau schedule."""
    built = {name: CALLBACKS[name].build(training[name], run_directory) for name in training.callbacks}
    if schedule.name == "plateau":
        built["plateau"] = plateau(schedule)
    return built


def state_of(name: str, callback) -> dict:
    """The callback's counters as JSON-ready numbers (EarlyStopping's best weights travel apart); a
    callback passed in from Python has no known state, and starts afresh on resume."""
    attributes = PLATEAU_STATE if name == "plateau" else CALLBACKS[name].state if name in CALLBACKS else ()
    return {key: None if getattr(callback, key) is None else float(getattr(callback, key)) for key in attributes}


def restore_state(callback, state: dict) -> None:
    for key, value in state.items():
        setattr(callback, key, int(value) if key in INTEGER_STATE else value)

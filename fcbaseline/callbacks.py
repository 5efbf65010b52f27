"""Keras callbacks by name: `training.callbacks=[early_stopping,model_checkpoint]`, arguments typed in
config.py (`training.early_stopping.patience=10`), and the plateau schedule's ReduceLROnPlateau.

The callbacks are Keras' own, unmodified; train.fit drives them through `keras.callbacks.CallbackList`
once per epoch. Each registry entry also names the attributes that make up the callback's state, so a
checkpoint can save them and a resumed run continues with the same counters (Keras resets them in
`on_train_begin`, and a resumed run is a new `fit`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Tuple

import keras


def mode(monitor: str) -> str:
    """Which way is better for a watched figure: Keras' 'auto' needs compiled metric names to decide."""
    return "max" if monitor.endswith("accuracy") else "min"


def early_stopping(arguments, run_directory: Path) -> keras.callbacks.Callback:
    return keras.callbacks.EarlyStopping(
        monitor=arguments.monitor,
        mode=mode(arguments.monitor),
        patience=arguments.patience,
        min_delta=arguments.min_delta,
        restore_best_weights=arguments.restore_best_weights,
        start_from_epoch=arguments.start_from_epoch,
    )


def model_checkpoint(arguments, run_directory: Path) -> keras.callbacks.Callback:
    return keras.callbacks.ModelCheckpoint(
        filepath=str(run_directory / arguments.filename),
        monitor=arguments.monitor,
        mode=mode(arguments.monitor),
        save_best_only=True,
    )


def plateau(schedule) -> keras.callbacks.Callback:
    return keras.callbacks.ReduceLROnPlateau(
        monitor=schedule.monitor,
        mode=mode(schedule.monitor),
        factor=schedule.factor,
        patience=schedule.patience,
        min_lr=schedule.min_lr,
    )


@dataclass(frozen=True)
class Entry:
    build: Callable  # (the callback's typed arguments, the run directory) -> a Keras callback
    state: Tuple[str, ...]  # the attributes that change from epoch to epoch (plain numbers or None)


# training.callbacks names -> builder and state; config.CALLBACK_SCHEMAS types each one's arguments.
CALLBACKS: Dict[str, Entry] = {
    "early_stopping": Entry(early_stopping, ("wait", "stopped_epoch", "best", "best_epoch")),
    "model_checkpoint": Entry(model_checkpoint, ("best",)),
}
PLATEAU_STATE = ("wait", "best", "cooldown_counter")


def build_callbacks(training, schedule, run_directory: Path) -> Dict[str, keras.callbacks.Callback]:
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
        setattr(
            callback, key, int(value) if key in ("wait", "stopped_epoch", "best_epoch", "cooldown_counter") else value
        )

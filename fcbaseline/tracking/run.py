"""The trackers of one run, as execution.py drives them: `tracked(...)` starts them (parameters,
hyper-parameters), its `callbacks()` hand each epoch's figures to them through the training loop's Keras
callback list, and `finish` records the final figures, files and status; a run that raises is finished as
failed or interrupted on the way out."""

import contextlib
from pathlib import Path
from typing import Optional

import keras
from omegaconf import OmegaConf

from fcbaseline.rundir import TENSORBOARD, Status


class EpochTracking(keras.callbacks.Callback):
    """Each epoch's logs (loss, accuracy, val_loss, val_accuracy, learning_rate) to every tracker; the step
    is the epoch counted from 1, as in history.csv."""

    def __init__(self, trackers):
        super().__init__()
        self.trackers = trackers

    def on_epoch_end(self, epoch, logs=None):
        for tracker in self.trackers:
            tracker.log_epoch(epoch + 1, dict(logs or {}))


class RunTracking:
    """Every tracker has start(config dict), log_epoch(epoch, logs) and finish(status, metrics or None).
    `sweep` is the run's sweep job (sweep/record.SweepJob: its folder, number, swept keys) or None."""

    def __init__(self, config, run_dir: Path, sweep, name: str):
        self.config = OmegaConf.to_container(config, resolve=True)
        self.trackers, self.finished = [], False
        if config.tracking.tensorboard:
            from fcbaseline.tracking.tensorboard import TensorBoardRun

            self.trackers.append(TensorBoardRun(run_dir / TENSORBOARD, name, sweep))
        if config.tracking.mlflow.enabled:
            from fcbaseline.tracking.mlflow_run import MlflowRun

            self.trackers.append(MlflowRun(config.tracking.mlflow, run_dir, sweep and sweep.sweep_dir, name))

    def callbacks(self) -> dict:
        return {"tracking": EpochTracking(self.trackers)} if self.trackers else {}

    def start(self) -> None:
        for tracker in self.trackers:
            tracker.start(self.config)

    def finish(self, status: str, metrics: Optional[dict]) -> None:
        self.finished = True
        for tracker in self.trackers:
            tracker.finish(status, metrics)


@contextlib.contextmanager
def tracked(config, run_dir: Path, sweep, name: str):
    tracking = RunTracking(config, run_dir, sweep, name)
    tracking.start()
    try:
        yield tracking
    except BaseException as error:
        if not tracking.finished:
            tracking.finish(Status.INTERRUPTED if isinstance(error, KeyboardInterrupt) else Status.FAILED, None)
        raise

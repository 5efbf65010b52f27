"""The trackers of one run, as execution.py drives them: `tracked(...)` starts them (parameters,
hyper-parameters), its `callbacks()` hand each epoch's figures to them through the training loop's Keras
callback list, and `finish` records the final figures, files and status; a run that raises is finished as
failed or interrupted on the way out."""

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import keras
from omegaconf import OmegaConf

from fcbaseline.rundir import TENSORBOARD, Status


@dataclass(frozen=True)
class TrackedData:
    """What a run trained on, for the trackers that record it (MLflow's dataset inputs): the dataset's
    name and source (data/common.Dataset), its splits as (context, images, labels), a few test images."""

    name: str
    source: str
    parts: Tuple[tuple, ...]
    examples: object

    @classmethod
    def of(cls, splits) -> "TrackedData":
        dataset = splits.dataset
        parts = [("training", splits.x_train, splits.y_train), ("test", dataset.x_test, dataset.y_test)]
        if splits.validation in ("split", "kfold"):  # else the validation figures come from the test set itself
            parts.insert(1, ("validation", splits.x_valid, splits.y_valid))
        return cls(dataset.name, dataset.source, tuple(parts), dataset.x_test[:2].copy())


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
    """Every tracker has start(config dict, data), log_epoch(epoch, logs) and finish(status, metrics or
    None, model, examples). `sweep` is the run's sweep job (sweep/record.SweepJob: its folder, number,
    swept keys) or None; `data` a TrackedData or None."""

    def __init__(self, config, run_dir: Path, sweep, name: str, data: Optional[TrackedData] = None):
        self.config, self.data = OmegaConf.to_container(config, resolve=True), data
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
            tracker.start(self.config, self.data)

    def finish(self, status: str, metrics: Optional[dict], model=None) -> None:
        """`model`: the run's trained Keras model, which a tracker may log as a model of its own kind."""
        self.finished = True
        examples = self.data.examples if self.data is not None else None
        for tracker in self.trackers:
            tracker.finish(status, metrics, model, examples)


@contextlib.contextmanager
def tracked(config, run_dir: Path, sweep, name: str, data: Optional[TrackedData] = None):
    tracking = RunTracking(config, run_dir, sweep, name, data)
    tracking.start()
    try:
        yield tracking
    except BaseException as error:
        if not tracking.finished:
            tracking.finish(Status.INTERRUPTED if isinstance(error, KeyboardInterrupt) else Status.FAILED, None)
        raise

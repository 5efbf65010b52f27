"""TensorBoard event files for one run, in <run dir>/tensorboard/, laid out as Keras' TensorBoard callback
lays them out: `train/` and `validation/` with `epoch_loss`, `epoch_accuracy` (and `epoch_learning_rate`
in `train/`), so `tensorboard --logdir outputs/multirun/<sweep>` overlays the jobs' curves. The run's
hyper-parameters go through TensorBoard's HParams plugin, with the final test figures beside them, so a
sweep appears as a table and a parallel-coordinates view.

Steps are epoch numbers counted from 1, as in history.csv and the log (Keras' callback counts from 0).
Events are flushed every epoch: a running job's curve is visible while it trains.
"""

from pathlib import Path
from typing import Optional

import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api

from fcbaseline.tracking import hyperparameters

# scalars beside the hyper-parameters
FINAL_FIGURES = ("test_accuracy", "test_loss", "model_val_accuracy", "best_val_accuracy")
# The figures of the HParams view of a sweep: (tag, the run subfolder that holds it, as shown)
SWEEP_METRICS = (
    ("model_val_accuracy", "", "val accuracy (model kept)"),
    ("best_val_accuracy", "", "best val accuracy"),
    ("test_accuracy", "", "test accuracy"),
    ("epoch_accuracy", "validation", "val accuracy (last epoch)"),
    ("epoch_loss", "validation", "val loss (last epoch)"),
    ("epoch_loss", "train", "train loss (last epoch)"),
)


def write_sweep_experiment(sweep_dir: Path, swept) -> None:
    """TensorBoard's HParams experiment for a sweep, in the sweep folder itself (TensorBoard's run `.`), from
    the swept keys the sweep recorded (sweep/record.py); written by the sweep's job 0, which every sweep
    has, so parallel jobs never write it twice."""
    if not swept:  # nothing varies, or a launcher that did not record it: TensorBoard infers the table
        return
    metrics = [hparams_api.Metric(tag, group=group or None, display_name=name) for tag, group, name in SWEEP_METRICS]
    writer = tf.summary.create_file_writer(str(sweep_dir))
    with writer.as_default():
        hparams_api.hparams_config(hparams=[hparams_api.HParam(key) for key in swept], metrics=metrics)
    writer.close()


class TensorBoardRun:
    """Per-epoch scalars (`val_*` figures in validation/, the others in train/), hyper-parameters, final figures."""

    def __init__(self, log_dir: Path, name: str, sweep=None):
        self.log_dir, self.name, self.sweep = log_dir, name, sweep
        self.writers = {}

    def writer(self, name: str):
        if name not in self.writers:
            self.writers[name] = tf.summary.create_file_writer(str(self.log_dir / name))
        return self.writers[name]

    def log_epoch(self, epoch: int, logs: dict) -> None:
        for key, value in logs.items():
            folder, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            with self.writer(folder).as_default():
                tf.summary.scalar(f"epoch_{tag}", value, step=epoch)
        for writer in self.writers.values():
            writer.flush()

    def start(self, config: dict, data=None) -> None:
        """The HParams plugin's record of this run (a trial, in TensorBoard's words)."""
        if self.sweep is not None and self.sweep.number == 0:
            write_sweep_experiment(self.sweep.sweep_dir, self.sweep.swept)
        with self.writer(".").as_default():
            hparams_api.hparams(hyperparameters(config), trial_id=self.name)
        self.writer(".").flush()

    def finish(self, status: str, metrics: Optional[dict], model=None, examples=None) -> None:
        """The final figures as scalars at the last epoch's step, then every file closed."""
        if metrics:
            with self.writer(".").as_default():
                for key in FINAL_FIGURES:
                    if metrics.get(key) is not None:
                        tf.summary.scalar(key, metrics[key], step=metrics.get("epochs_run") or 0)
        for writer in self.writers.values():
            writer.close()
        self.writers = {}

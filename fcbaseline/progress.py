"""How far a run is: elapsed time and the estimated time left on each epoch's log line, and in a terminal
a live progress bar (tqdm) above which the log lines scroll; in a sweep the bar says which job of how many.

Where the output is not a terminal (a file, CI, a launcher's log) there is no bar: the log lines carry
the same figures. `training.progress_bar=false` turns the bar off in a terminal too.
"""

import contextlib
import logging
import statistics
import sys
from typing import Optional, Sequence

import keras
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


def eta_seconds(epoch_seconds: Sequence[float], epochs_left: int) -> Optional[float]:
    """Epochs left times the median epoch so far, leaving out the first, which also compiles the training
    step (the median is not thrown by the odd slow epoch either). None before the first epoch."""
    if not epoch_seconds:
        return None
    return statistics.median(epoch_seconds[1:] or epoch_seconds) * max(0, epochs_left)


def format_duration(seconds: Optional[float]) -> str:
    """45s, 3m05s, 1h02m: short enough for a log line, exact enough for a coffee break."""
    if seconds is None:
        return "?"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def wants_bar(setting: bool, verbose: bool, interactive: bool, launcher: str) -> bool:
    """A live bar only where someone watches one: a terminal, and a launcher that runs the jobs one after
    the other in this process (parallel workers would draw over each other's bars)."""
    return setting and verbose and interactive and launcher in ("", "basic")


def console_is_interactive() -> bool:
    return sys.stdout.isatty() and sys.stderr.isatty()


def job_label(dataset: str, job_number: Optional[int], jobs_planned: Optional[int]) -> str:
    """What the bar is for: the dataset, and in a sweep `job 3/8` (job numbers count from 0 in Hydra)."""
    if job_number is None:
        return dataset
    of = f"/{jobs_planned}" if jobs_planned else ""
    return f"job {job_number + 1}{of} {dataset}"


class ProgressBar(keras.callbacks.Callback):
    """A bar over the run's epochs, advanced by the training loop's callback calls; it shows the latest figures."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs, self.bar = label, epochs, None

    def on_epoch_begin(self, epoch, logs=None):
        if self.bar is None:  # the first epoch of this process: a resumed run starts part-way
            self.bar = tqdm(total=self.epochs, initial=epoch, desc=self.label, unit="epoch", file=sys.stderr)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix_str(f"loss {logs.get('loss', float('nan')):.4f} val_acc {logs.get('val_accuracy', 0):.4f}")
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.close()  # before the report is logged

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def live_bar(label: str, epochs: int, enabled: bool):
    """Yields a ProgressBar callback (or None), with the console's log lines printed above the bar."""
    if not enabled:
        yield None
        return
    bar = ProgressBar(label, epochs)
    try:
        with logging_redirect_tqdm(loggers=[logging.root]):
            yield bar
    finally:
        bar.close()

"""The run folder: the names of its files (and of a sweep folder's), the run's `Status`, and the one
writer of its metrics.json.

Every other module asks here for a file's name, and only `RunFolder` writes metrics.json: `start` when
training is about to begin, `finish` with the final figures, `fail`, `interrupt` and `not_started`
otherwise. `ARTIFACTS` lists the files a finished run holds, in the order trackers upload them; tests
expect the same list. The folder itself is claimed by `claim` (writable, locked) before anything runs.
"""

import csv
import traceback
from enum import Enum
from pathlib import Path

from fcbaseline.errors import ConfigError
from fcbaseline.files import FolderLock, OutputError, read_json, write_json

METRICS = "metrics.json"
HISTORY = "history.csv"
CHECKPOINT = "checkpoint.npz"  # the state after the last completed epoch
MODEL = "model.keras"
REPORT = "classification_report.txt"
TRAINING_PLOT = "training_plot.png"
CONFUSION_MATRIX = "confusion_matrix.png"
MISCLASSIFIED = "misclassified.png"  # the most confidently wrong test images
TEST_PREDICTIONS = "test_predictions.npz"  # each test image's classes and probabilities (predictions.py)
LOG = "fcbaseline.log"  # Hydra's job log (hydra.job.name), written by the Python API too
SAVED_CONFIG = ".hydra/config.yaml"
SAVED_OVERRIDES = ".hydra/overrides.yaml"
TENSORBOARD = "tensorboard"
MLFLOW_RECORD = "mlflow_run.json"  # which MLflow run a resume continues

# What a finished run holds, in the order trackers upload it.
ARTIFACTS = (
    METRICS,
    HISTORY,
    REPORT,
    TRAINING_PLOT,
    CONFUSION_MATRIX,
    MISCLASSIFIED,
    TEST_PREDICTIONS,
    MODEL,
    LOG,
    SAVED_CONFIG,
    SAVED_OVERRIDES,
)

# A sweep's folder: its numbered job folders (run folders), and these.
SWEEP_RECORD = "sweep.json"  # what each job reads of its sweep (sweep/record.py)
SWEEP_STOP = ".interrupted"  # the signal that stopped the sweep (sweep/stop.py)
MLFLOW_SWEEP_RECORD = "mlflow_sweep.json"  # the sweep's parent MLflow run
SUMMARY_CSV, SUMMARY_MD, SUMMARY_PNG = "summary.csv", "summary.md", "summary.png"
SUMMARY_FILES = (SUMMARY_MD, SUMMARY_CSV, SUMMARY_PNG)  # in the order the parent run uploads them


class Status(str, Enum):
    """A run's status, as metrics.json, the sweep summary and the trackers record it."""

    RUNNING = "running"
    COMPLETED = "completed"
    DIVERGED = "diverged"  # a loss became NaN or infinite: a result, not a crash
    PRUNED = "pruned"  # an Optuna search's pruner stopped it
    INTERRUPTED = "interrupted"  # SIGINT or SIGTERM: resumable
    FAILED = "failed"
    NOT_STARTED = "not_started"  # a sweep job skipped after the sweep was interrupted
    KILLED = "killed"  # the summary's word for a `running` record whose process is gone

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__
    __hash__ = str.__hash__  # Enum hashes by member name: a plain "completed" must find Status.COMPLETED


# Rerunning the same config would give the same result: a resumed sweep keeps these jobs.
FINAL_STATUSES = (Status.COMPLETED, Status.DIVERGED, Status.PRUNED)


class RunFolder:
    """One run's folder and the only writer of its metrics.json."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.started = False  # whether this process has begun training here (start)

    def file(self, name: str) -> Path:
        return self.path / name

    def metrics(self) -> dict:
        return read_json(self.file(METRICS))

    def status(self):
        return self.metrics().get("status")

    def start(self, description: dict) -> None:
        """Training is about to begin: what the run is, with status running."""
        write_json(self.file(METRICS), {"status": Status.RUNNING, **description})
        self.started = True

    def finish(self, metrics: dict) -> None:
        write_json(self.file(METRICS), metrics)

    def fail(self, error: BaseException) -> None:
        """The reason of a failed run, beside what the run had already recorded."""
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self._update(status=Status.FAILED, error=f"{type(error).__name__}: {error}", traceback=text)

    def interrupt(self) -> None:
        """Status interrupted, whatever step the signal stopped (also before the first epoch)."""
        self._update(status=Status.INTERRUPTED)

    def not_started(self, overrides) -> None:
        try:
            write_json(self.file(METRICS), {"status": Status.NOT_STARTED, "overrides": list(overrides)})
        except OutputError:
            pass

    def _update(self, **changes) -> None:
        metrics = self.metrics()
        metrics.update(changes)
        try:
            write_json(self.file(METRICS), metrics)
        except OutputError:
            pass  # the folder cannot take even this (a full disk): the console error is the record

    def model_val_accuracy(self, metrics: dict):
        """The validation accuracy of the model the run kept (at its model_epoch): metrics.json's, or for a
        run that predates that figure its history.csv's; None when neither has it."""
        if "model_val_accuracy" in metrics:
            return metrics["model_val_accuracy"]
        try:
            with open(self.file(HISTORY), newline="") as file:
                rows = {row["epoch"]: row["val_accuracy"] for row in csv.DictReader(file)}
            return float(rows[str(metrics["model_epoch"])])
        except (OSError, KeyError, ValueError, TypeError, csv.Error):
            return None

    def files(self) -> dict:
        """The artifacts this run holds: name -> path."""
        return {name: self.file(name) for name in ARTIFACTS if self.file(name).is_file()}


def check_writable(folder: Path, key: str) -> None:
    """Refuse, before any work, an output folder that cannot be written: a setting to change, so a
    ConfigError naming `key` (exit 2), unlike a write that fails later (OutputError, exit 1)."""
    probe = folder / ".fcbaseline-write-test"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise ConfigError(
            f"Cannot write the output folder {folder} ({type(error).__name__}: {error.strerror or error}). "
            f"Choose a writable folder with {key}=<folder>, or fix the permissions."
        ) from None


def holds_results(folder: Path):
    """The first of a run's files that `folder` holds (None: it holds none), a job folder's too for a sweep."""
    names = (*ARTIFACTS, CHECKPOINT, TENSORBOARD, MLFLOW_RECORD, SWEEP_RECORD, *SUMMARY_FILES, "multirun.yaml")
    found = [name for name in names if (folder / name).exists()]
    if not found and folder.is_dir():
        jobs = sorted(child for child in folder.iterdir() if child.is_dir() and child.name.isdigit())
        found = [f"{job.name}/{name}" for job in jobs for name in (METRICS, CHECKPOINT) if (job / name).exists()]
    return found[0] if found else None


def is_plain_name(name: str) -> bool:
    """A file name that stays in the folder it is joined to: no path separator, not . or .."""
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..")


# The run's own files, which a resumed run writes again: none may be a folder or anything but a file.
RUN_FILES = (*ARTIFACTS, CHECKPOINT, FolderLock.NAME)


def check_nothing_in_the_way(folder: Path) -> None:
    """Refuse to resume where one of the run's own file names is taken by a folder or a special file."""
    for name in RUN_FILES:
        path = folder / name
        if path.exists() and not path.is_file():
            raise ConfigError(
                f"{path} is not a file: it is where the run keeps its {name}. Move it out of the way, then resume."
            )


def check_sweep_folder(folder: Path) -> None:
    """Refuse `-m ... resume=<folder>` for a single run's folder (resuming it as a sweep would add job
    folders and a summary to it)."""
    if (folder / METRICS).is_file() or (folder / CHECKPOINT).is_file():
        raise ConfigError(
            f"resume={folder} is a single run's folder, not a sweep's. Resume it without -m: "
            f"python -m fcbaseline resume={folder}"
        )


def check_is_sweep(folder: Path) -> None:
    """Refuse to summarize a folder that holds no sweep's job folders (a single run's, say): its summary
    files would be written into it for nothing."""
    jobs = [child for child in folder.iterdir() if child.is_dir() and child.name.isdigit()]
    if not any((job / METRICS).is_file() for job in jobs) and not (folder / SWEEP_RECORD).is_file():
        raise ConfigError(
            f"{folder} holds no sweep (no numbered job folders with {METRICS}): give a sweep's folder, "
            f"outputs/multirun/<date>/<time>."
        )


def check_exists(folder: Path) -> None:
    """Refuse to resume a folder that is not there."""
    if not folder.is_dir():
        raise ConfigError(
            f"resume: there is no folder {folder} to continue. Point resume at the folder of an interrupted "
            f"fcbaseline run (resume=<run dir>), or leave resume out to start a new run."
        )


def claim(folder: Path, key: str, resuming: bool = False) -> FolderLock:
    """The folder for a run or sweep to work in, locked for this process. Refused, with nothing created:
    a folder another process works in (FolderBusy), one that holds an earlier run's results when this is a
    new run (a new run never replaces them), a folder to resume that does not exist (ConfigError), one
    that cannot be written (ConfigError naming `key`)."""
    lock = FolderLock(folder)
    lock.check_free()
    if resuming:
        check_exists(folder)
        check_nothing_in_the_way(folder)
    found = None if resuming else holds_results(folder)
    if found:
        what = "sweep" if key == "hydra.sweep.dir" else "run"
        raise ConfigError(
            f"{folder} already holds the results of an earlier {what} ({found}); a new {what} never replaces them. "
            f"Continue that {what} with resume={folder}, or give the new one its own folder with {key}=<folder>."
        )
    check_writable(folder, key)
    return lock.acquire()

"""The Hydra entry point: compose the config, validate it, then load data, build, train and report.

python -m fcbaseline                               # the MNIST recipe
python -m fcbaseline dataset=cifar10               # the CIFAR-10 recipe
python -m fcbaseline -m 'model.hidden_sizes=[256,128],[512,256]'
"""

import logging
import math
import os
import platform
import signal
import sys
import time
import traceback
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

# quiet sets TensorFlow's log level before anything imports it
from fcbaseline import data, quiet, resume, threads, xla_cache
from fcbaseline.config import ConfigError, check_overrides, config_dir, register_configs, validate, validation_mode
from fcbaseline.data import cache
from fcbaseline.files import FolderBusy, FolderLock, OutputError, read_json, write_json, write_text
from fcbaseline.search.study import SWEEPER_TARGET
from fcbaseline.stopping import Interrupted, StopRequests, SweepStop
from fcbaseline.summarize import SummaryCallback
from fcbaseline.tracking.sweep import SWEEP_RECORD

log = logging.getLogger("fcbaseline")


def in_sweep() -> bool:
    return HydraConfig.get().mode == RunMode.MULTIRUN


def sweep_record() -> dict:
    """What the launching process recorded about the sweep (tracking/sweep.py): swept keys, jobs per batch."""
    return read_json(Path(HydraConfig.get().sweep.dir) / SWEEP_RECORD)


def check_backend() -> None:
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ConfigError(
            f"KERAS_BACKEND={backend}: fcbaseline trains with TensorFlow's compiled functions. "
            f"Unset KERAS_BACKEND or set it to 'tensorflow'."
        )


def thread_budget(config: DictConfig):
    """TensorFlow threads for this job (threads.budget): from training.threads, the launcher's `_target_`
    and settings, and how many jobs the sweeper hands it at once (<sweep dir>/sweep.json)."""
    if not in_sweep():
        return threads.budget(config.training.threads, {}, None, threads.cores())
    launcher, jobs_per_batch = HydraConfig.get().launcher, sweep_record().get("jobs_per_batch")
    return threads.budget(config.training.threads, launcher, jobs_per_batch, threads.cores())


@dataclass
class Splits:
    """What a run trains, validates and tests on."""

    dataset: data.Dataset
    x_train: Any
    y_train: Any
    x_valid: Any
    y_valid: Any


def load_splits(config: DictConfig) -> Splits:
    dataset = data.load_dataset(config.dataset)
    log.info(
        f"{dataset.name}: {len(dataset.y_train)} training and {len(dataset.y_test)} test images from {dataset.source}"
    )
    x_train, y_train = dataset.x_train, dataset.y_train
    if validation_mode(config.training.validation, in_sweep()) == "split":
        x_train, y_train, x_valid, y_valid = data.validation_split(
            x_train, y_train, config.training.validation_fraction, config.training.seed
        )
    else:  # the recipes validate on the test set, as the original tutorials do
        x_valid, y_valid = dataset.x_test, dataset.y_test
    if config.training.batch_size > len(y_train):
        raise ConfigError(
            f"training.batch_size={config.training.batch_size} is larger than the {len(y_train)} training "
            f"images of {dataset.name}; choose a batch size of at most {len(y_train)}."
        )
    return Splits(dataset, x_train, y_train, x_valid, y_valid)


def prepare(config: DictConfig, output_dir: Path):
    """(the config to run, the checkpoint to continue from or None, or the result of a job to keep)."""
    overrides = list(HydraConfig.get().overrides.task)
    if config.resume and in_sweep():
        action, found, reason = resume.sweep_job(config, output_dir, overrides)
        log.info(f"job {HydraConfig.get().job.num}: {reason}")
        if action == "skip":
            kept = found.get("best_val_accuracy")
            return config, None, float("nan") if kept is None else kept
        return config, found, None
    if config.resume:
        config, checkpoint = resume.single_run(config, output_dir, overrides)
        validate(config)
        return config, checkpoint, None
    return config, None, None


def describe_run(config, splits: Splits, model, architecture: str, threads_in_use: int) -> dict:
    """What metrics.json records about the run before it trains."""
    from fcbaseline import train

    return {
        "dataset": splits.dataset.name,
        "data_source": splits.dataset.source,
        "class_names": splits.dataset.class_names,
        "image_shape": list(splits.dataset.image_shape),
        "skipped_files": splits.dataset.skipped_files,
        "architecture": architecture,
        "parameters": int(model.count_params()),
        "optimizer": OmegaConf.to_container(config.optimizer, resolve=True),
        "callbacks": list(config.training.callbacks),
        "batch_size": config.training.batch_size,
        "epochs_planned": config.training.epochs,
        "seed": config.training.seed,
        "threads": threads_in_use,  # intra-op threads TensorFlow really runs with
        "xla": train.step_uses_xla(model, config.training),
        "precision": config.training.precision,
        "device": train.device(),
        "validation": validation_mode(config.training.validation, in_sweep()),
        "training_samples": len(splits.y_train),
        "validation_samples": len(splits.y_valid),
        "test_samples": len(splits.dataset.y_test),
        "overrides": list(HydraConfig.get().overrides.task),
        "pid": os.getpid(),  # with host: lets a sweep summary tell a running job from a killed one
        "host": platform.node(),
        "versions": {
            "python": platform.python_version(),
            "tensorflow": train.tf.__version__,
            "keras": train.keras.__version__,
        },
    }


@dataclass
class Built:
    """The run's model, its optimizer and callbacks (name -> Keras callback), and what metrics.json records."""

    model: Any
    optimizer: Any
    callbacks: dict
    summary: dict


def start_tensorflow(config: DictConfig) -> int:
    """TensorFlow without its start-up chatter, imported only now (after the config and the data passed
    their checks), with the job's thread budget set before its first operation. Returns the intra-op
    threads TensorFlow really uses, for metrics.json."""
    budget = thread_budget(config)
    xla_cache.enable(cache.cache_dir())
    quiet.import_tensorflow()
    import tensorflow as tf

    try:
        if budget:
            tf.config.threading.set_intra_op_parallelism_threads(budget)
            tf.config.threading.set_inter_op_parallelism_threads(budget)
    except RuntimeError:  # an earlier job of an in-process sweep started TensorFlow: its threads stay
        pass
    in_use = threads.in_use(threads.cores())
    if budget and budget != in_use:
        log.warning(
            f"{budget} TensorFlow threads asked, but TensorFlow already runs in this process with {in_use}; "
            f"a launcher that gives each job its own process (hydra/launcher=joblib) can give each its own number."
        )
    return in_use


def build(config: DictConfig, splits: Splits, output_dir: Path, threads_in_use: int) -> Built:
    from fcbaseline import callbacks as callback_registry
    from fcbaseline import model as model_builder
    from fcbaseline import train

    train.seed_everything(config.training.seed)
    num_classes, image_shape = len(splits.dataset.class_names), splits.dataset.image_shape
    steps_per_epoch = math.ceil(len(splits.y_train) / config.training.batch_size)
    model = model_builder.build_model(config.model, image_shape, num_classes, config.training.precision)
    optimizer = model_builder.build_optimizer(config.optimizer, steps_per_epoch, config.training.epochs)
    model_builder.compile_model(model, optimizer)
    callbacks = callback_registry.build_callbacks(config.training, config.optimizer.schedule, output_dir)
    architecture = model_builder.describe(config.model, image_shape, num_classes)
    return Built(model, optimizer, callbacks, describe_run(config, splits, model, architecture, threads_in_use))


def result_overrides(overrides) -> list:
    """The overrides that can change a run's results: not where it resumes, nor how it is tracked."""
    return [override for override in overrides if not override.lstrip("+~").startswith(("resume=", "tracking"))]


def run_name(output_dir: Path) -> str:
    """How trackers name the run: in a sweep `job 3: <the swept values>` (all its overrides when the sweep
    did not record what it varies), else the run folder's date/time."""
    if not in_sweep():
        return f"{output_dir.parent.name}/{output_dir.name}"
    overrides = result_overrides(HydraConfig.get().overrides.task)
    swept = sweep_record().get("swept")
    if swept:
        overrides = [override for override in overrides if override.lstrip("+~").split("=")[0] in swept]
    return f"job {HydraConfig.get().job.num}: {' '.join(overrides)}".strip()


def progress_bar(config: DictConfig):
    """The live bar's context (progress.live_bar), with `job 3/8` in a sweep."""
    from fcbaseline import progress

    hydra_config = HydraConfig.get()
    launcher = hydra_config.runtime.choices.get("hydra/launcher") or ""
    label = progress.job_label(
        config.dataset.name, hydra_config.job.num if in_sweep() else None, SummaryCallback.jobs_planned
    )
    enabled = progress.wants_bar(
        config.training.progress_bar, config.training.verbose, progress.console_is_interactive(), launcher
    )
    return progress.live_bar(label, config.training.epochs, enabled)


def run(config: DictConfig, output_dir: Path, stop: StopRequests) -> float:
    """One training run into `output_dir`; returns the best validation accuracy (a sweeper's objective)."""
    started = time.perf_counter()
    config, checkpoint, kept = prepare(config, output_dir)
    if kept is not None:
        return kept
    splits = load_splits(config)
    stop.check()
    built = build(config, splits, output_dir, start_tensorflow(config))
    write_json(output_dir / "metrics.json", {"status": "running", **built.summary})
    log.info(
        f"model {built.summary['architecture']}, {built.summary['parameters']:,} parameters, "
        f"optimizer {config.optimizer.name}"
    )
    stop.check()
    from fcbaseline.tracking import SweepJob
    from fcbaseline.tracking.run import tracked

    hydra_config = HydraConfig.get()
    sweep = SweepJob(Path(hydra_config.sweep.dir), hydra_config.job.num) if in_sweep() else None
    with tracked(config, output_dir, sweep, run_name(output_dir)) as tracking, progress_bar(config) as bar:
        watchers = {**tracking.callbacks(), **({"progress": bar} if bar else {}), **trial_watcher(sweep)}
        status, metrics = train_and_report(config, output_dir, splits, built, checkpoint, stop, watchers)
        metrics["wall_time_seconds"] = round(time.perf_counter() - started, 3)
        write_json(output_dir / "metrics.json", metrics)
        tracking.finish(status, metrics)
    log.info(
        f"{status}: test accuracy {metrics['test_accuracy']:.4f}, test loss {metrics['test_loss']:.4f} after "
        f"{metrics['epochs_run']} epochs in {metrics['wall_time_seconds']:.1f}s; results in {output_dir}"
    )
    if status == "interrupted":
        raise Interrupted(signal.Signals(StopRequests.last_signal).name)
    return metrics["best_val_accuracy"] if metrics["best_val_accuracy"] is not None else float("nan")


def trial_watcher(sweep) -> dict:
    """In an Optuna search, the job's trial report and pruning (search/trial.py); else nothing."""
    if sweep is None or HydraConfig.get().sweeper.get("_target_") != SWEEPER_TARGET:
        return {}
    from fcbaseline.search.trial import pruning_watcher

    return pruning_watcher(HydraConfig.get().sweeper, sweep.sweep_dir, sweep.number)


def train_and_report(config, output_dir: Path, splits: Splits, built: Built, checkpoint, stop, watchers: dict):
    """train.fit with the run's callbacks and the `watchers` (trackers, progress bar, an Optuna trial's
    report), then the report; returns (status, metrics): status `pruned` when the trial's pruner stopped it."""
    from fcbaseline import train

    files = train.RunFiles(
        output_dir / resume.CHECKPOINT, output_dir / "history.csv", OmegaConf.to_yaml(config, resolve=True)
    )
    arrays = (splits.x_train, splits.y_train, splits.x_valid, splits.y_valid)
    num_classes, callbacks = len(splits.dataset.class_names), {**built.callbacks, **watchers}
    history, status = train.fit(
        built.model, built.optimizer, arrays, num_classes, config.training, files, callbacks, stop, checkpoint
    )
    if status == "completed" and getattr(watchers.get("trial"), "pruned", False):
        status = "pruned"
    outcome = (status, restored_epoch(built.callbacks.get("early_stopping"), history))
    return status, write_results(config, output_dir, splits, built.model, history, outcome, built.summary, stop)


def restored_epoch(early_stopping, history) -> int:
    """The epoch whose weights the model holds: EarlyStopping's best when it restored them, else the last."""
    if early_stopping is not None and early_stopping.restore_best_weights and early_stopping.best_weights is not None:
        return early_stopping.best_epoch + 1
    return len(history["epoch"])


def write_results(config, output_dir: Path, splits: Splits, model, history, outcome, summary, stop) -> dict:
    """Test-set report, plots and the model file; returns the final metrics. A signal that arrives here
    stops between files (the run stays resumable: its training is complete in the checkpoint)."""
    from fcbaseline import (
        report,  # matplotlib and scikit-learn: imported after training, off the start-up path
        train,
    )

    status, model_epoch = outcome
    check = stop.check if status != "interrupted" else lambda: None  # an interrupted run writes what it has
    dataset, num_classes = splits.dataset, len(splits.dataset.class_names)
    test_loss, test_accuracy, probabilities = train.make_evaluator(model, num_classes)(dataset.x_test, dataset.y_test)
    predicted = probabilities.argmax(axis=1)
    report_text, per_class = report.classification_summary(dataset.y_test, predicted, dataset.class_names)
    log.info(f"classification report on the {dataset.name} test set (model of epoch {model_epoch}):\n{report_text}")
    write_text(output_dir / "classification_report.txt", report_text)
    check()
    schedule = "" if config.optimizer.schedule.name == "constant" else f" {config.optimizer.schedule.name} schedule"
    title = f"{dataset.name}, {summary['architecture']}, {config.optimizer.name} lr={config.optimizer.lr}{schedule}"
    report.plot_history(output_dir / "training_plot.png", history, title)
    check()
    report.plot_confusion_matrix(
        output_dir / "confusion_matrix.png", dataset.y_test, predicted, dataset.class_names, title
    )
    check()
    report.save_model(output_dir / "model.keras", model)
    check()
    best_val_accuracy, best_val_epoch = report.best_epoch(history)
    epoch_seconds = sorted(history["seconds"])
    return {
        "status": status,
        "test_accuracy": test_accuracy,
        "test_loss": test_loss,
        "best_val_accuracy": best_val_accuracy,
        "best_val_epoch": best_val_epoch,
        "final_val_accuracy": history["val_accuracy"][-1] if history["epoch"] else None,
        "epochs_run": len(history["epoch"]),
        "model_epoch": model_epoch,
        "final_learning_rate": history["learning_rate"][-1] if history["epoch"] else None,
        "median_epoch_seconds": round(epoch_seconds[len(epoch_seconds) // 2], 4) if epoch_seconds else None,
        **summary,
        "classification_report": per_class,
    }


def record_failure(output_dir: Path, error: BaseException) -> None:
    """Keep the reason of a failed run in its metrics.json, beside what the run had already recorded."""
    metrics = read_json(output_dir / "metrics.json")
    metrics.update(
        status="failed",
        error=f"{type(error).__name__}: {error}",
        traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )
    try:
        write_json(output_dir / "metrics.json", metrics)
    except OutputError:
        pass  # the folder cannot take even this (a full disk): the console error is the record


register_configs()
task_started = False  # set once Hydra has composed a config and handed it to `main`


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(config: DictConfig) -> float:
    global task_started
    task_started = True
    output_dir = Path(HydraConfig.get().runtime.output_dir)
    sweeping = in_sweep()
    # a single run's folder is locked by files.OutputFolderCheck before Hydra writes anything into it
    lock = FolderLock(output_dir) if sweeping else nullcontext()
    sweep_dir = Path(HydraConfig.get().sweep.dir) if sweeping else None
    if sweeping and SweepStop.stopped(sweep_dir):
        record_not_started(output_dir)
        log.warning(f"job {HydraConfig.get().job.num} not started: the sweep was interrupted")
        return float("nan")
    try:
        with StopRequests() as stop, lock:
            check_backend()
            check_overrides(HydraConfig.get().overrides.task)
            validate(config)
            return run(config, output_dir, stop)
    except (Interrupted, KeyboardInterrupt) as stopped:
        record_interruption(output_dir)
        status = 128 + (StopRequests.last_signal or signal.SIGINT)
        if sweeping and not isinstance(stopped, KeyboardInterrupt):  # the summary and the hint follow
            SweepStop.record(StopRequests.last_signal or signal.SIGINT, sweep_dir)
            return float("nan")
        log.warning(f"interrupted: continue with  python -m fcbaseline resume={output_dir}")
        if isinstance(stopped, KeyboardInterrupt):  # a second signal: a TensorFlow epoch may still be running
            logging.shutdown()  # in its worker thread; leave now, without waiting for it (train.interruptible)
            sys.stdout.flush(), sys.stderr.flush()
            os._exit(status)
        sys.exit(status)
    except Exception as error:
        refused = isinstance(error, FolderBusy) or (config.resume and isinstance(error, ConfigError))
        if not refused:  # a refused resume, or a folder in use, is left exactly as it was
            record_failure(output_dir, error)
        expected = isinstance(error, (ConfigError, data.DataError, OutputError, FolderBusy))
        if expected:  # a usage or data problem: one clear paragraph; HYDRA_FULL_ERROR=1 adds the traceback
            log.error(str(error))
        else:
            log.exception(f"the run failed: {type(error).__name__}: {error}")
        if sweeping:  # one failed job must not stop the others; the sweep summary reports it
            return float("nan")
        if os.environ.get("HYDRA_FULL_ERROR") == "1" or not expected:
            raise
        sys.exit(2 if isinstance(error, (ConfigError, FolderBusy)) else 1)


def record_not_started(output_dir: Path) -> None:
    """Status `not_started` for a sweep job skipped after an interruption (`resume=<sweep dir>` runs it)."""
    try:
        write_json(
            output_dir / "metrics.json", {"status": "not_started", "overrides": list(HydraConfig.get().overrides.task)}
        )
    except OutputError:
        pass


def record_interruption(output_dir: Path) -> None:
    """Status `interrupted` in metrics.json, whatever step the signal stopped (also before the first epoch)."""
    metrics = read_json(output_dir / "metrics.json")
    metrics["status"] = "interrupted"
    try:
        write_json(output_dir / "metrics.json", metrics)
    except OutputError:
        pass


def cli() -> None:
    """`python -m fcbaseline` and the `fcbaseline` command: Hydra's main, exiting 2 on usage errors;
    `fcbaseline evaluate <run dir>` and `fcbaseline predict <run dir> <images>` use a finished run's model
    (fcbaseline/commands/).

    Hydra exits 1 both for an override it cannot compose and for a run that fails; anything that
    stops before a config reached `main` is a usage or config error, and gets the usual status 2.
    """
    if sys.argv[1:2] in (["evaluate"], ["predict"]):
        from fcbaseline.commands import evaluate, predict

        command = {"evaluate": evaluate, "predict": predict}[sys.argv[1]]
        sys.exit(command.main(sys.argv[2:]))
    try:
        main()
    except SystemExit as exit:
        if exit.code == 1 and not (task_started or SummaryCallback.sweep_started):
            sys.exit(2)
        raise


if __name__ == "__main__":
    cli()

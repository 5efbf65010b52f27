"""The TensorFlow part of a run. runner.py imports this module only after backend.start, so that
TensorFlow starts with the run's threads, the XLA cache and without its chatter: assemble the Keras
objects and describe the run, train with the trackers, the progress bar and an Optuna trial's report,
then the test-set report, plots and model file, and the final metrics."""

import logging
import os
import platform
import time
from dataclasses import dataclass, replace
from typing import Optional

import keras
import tensorflow as tf
from omegaconf import OmegaConf

from fcbaseline import predictions, progress, report
from fcbaseline.assemble import Assembled, assemble
from fcbaseline.context import RunContext, run_name
from fcbaseline.data.splits import Splits
from fcbaseline.evaluation import evaluate
from fcbaseline.files import write_text
from fcbaseline.rundir import (
    CHECKPOINT,
    CONFUSION_MATRIX,
    HISTORY,
    MISCLASSIFIED,
    MODEL,
    REPORT,
    TEST_PREDICTIONS,
    TRAINING_PLOT,
    RunFolder,
    Status,
)
from fcbaseline.search.study import SWEEPER_TARGET
from fcbaseline.tracking import run_destination
from fcbaseline.tracking.run import TrackedData, tracked
from fcbaseline.training.epoch import device, step_uses_xla
from fcbaseline.training.loop import RunFiles, fit
from fcbaseline.training.reuse import graph_key

log = logging.getLogger("fcbaseline")


@dataclass
class Prepared:
    """A run ready to train: its Keras objects, what metrics.json records of it before it trains, and the
    checkpoint it continues from (None for a new run)."""

    assembled: Assembled
    description: dict
    checkpoint: Optional[dict]


def prepare_training(config, context: RunContext, splits: Splits, threads_in_use: int, checkpoint) -> Prepared:
    assembled = assemble(config, splits.dataset, context.run_dir, splits.x_train)
    if context.compiled is not None:  # the previous run's objects with this run's values, when they fit
        classes, xla = len(splits.dataset.class_names), step_uses_xla(assembled.model, config.training)
        shape, batch_size = splits.x_train.shape, config.training.batch_size
        augment = (list(config.dataset.augment), config.dataset.translate_pixels) if config.dataset.augment else None
        key = graph_key(assembled.model, assembled.optimizer, shape, classes, batch_size, xla, device(), augment)
        model, optimizer = context.compiled.take(key, assembled.model, assembled.optimizer)
        if model is not assembled.model:
            log.info("the previous run's compiled epoch fits this run (same model, optimizer and shapes): reused")
        assembled = replace(assembled, model=model, optimizer=optimizer)
    return Prepared(assembled, describe_run(config, context, splits, assembled, threads_in_use), checkpoint)


def describe_run(config, context: RunContext, splits: Splits, assembled: Assembled, threads_in_use: int) -> dict:
    dataset = splits.dataset
    return {
        "dataset": dataset.name,
        "data_source": dataset.source,
        "data_digests": dataset.digests(),  # fcbaseline compare: the same data, whatever the paths
        "class_names": dataset.class_names,
        "image_shape": list(dataset.image_shape),
        "skipped_files": dataset.skipped_files,
        "architecture": assembled.architecture,
        "parameters": int(assembled.model.count_params()),
        "optimizer": OmegaConf.to_container(config.optimizer, resolve=True),
        "callbacks": list(config.training.callbacks),
        "batch_size": config.training.batch_size,
        "epochs_planned": config.training.epochs,
        "seed": config.training.seed,
        "threads": threads_in_use,  # intra-op threads TensorFlow really runs with
        "xla": step_uses_xla(assembled.model, config.training),
        "precision": config.training.precision,
        "device": device(),
        "validation": splits.validation,
        "training_samples": len(splits.y_train),
        "validation_samples": len(splits.y_valid),
        "test_samples": len(dataset.y_test),
        "overrides": list(context.overrides),
        "pid": os.getpid(),  # with host: lets a sweep summary tell a running job from a killed one
        "host": platform.node(),
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__},
        **mlflow_record(config.tracking.mlflow, context),
    }


def mlflow_record(settings, context: RunContext) -> dict:
    """With tracking=mlflow, where the run is tracked and which setting chose it (tracking.run_destination)."""
    if not settings.enabled:
        return {}
    return {"mlflow": run_destination(settings, context.sweep and context.sweep.sweep_dir)[0].record()}


def train_and_report(config, context: RunContext, folder: RunFolder, splits, prepared: Prepared, stop, started):
    """Train with the trackers, the bar and an Optuna trial's report, then the report and the final
    metrics (written before the trackers upload them)."""
    assembled, description, checkpoint = prepared.assembled, prepared.description, prepared.checkpoint
    with (
        tracked(config, context.run_dir, context.sweep, run_name(context), TrackedData.of(splits)) as tracking,
        progress_bar(splits.dataset.name, config.training, context) as bar,
    ):
        watchers = {**tracking.callbacks(), **({"progress": bar} if bar else {}), **trial_watcher(context)}
        files = RunFiles(folder.file(CHECKPOINT), folder.file(HISTORY), OmegaConf.to_yaml(config, resolve=True))
        arrays = (splits.x_train, splits.y_train, splits.x_valid, splits.y_valid)
        callbacks = {**assembled.callbacks, **watchers}
        classes = len(splits.dataset.class_names)
        history, status = fit(
            assembled.model,
            assembled.optimizer,
            arrays,
            classes,
            config.training,
            files,
            callbacks,
            stop,
            checkpoint,
            context.compiled,
            assembled.augment,
        )
        if status == Status.COMPLETED and getattr(watchers.get("trial"), "pruned", False):
            status = Status.PRUNED
        model_epoch = restored_epoch(assembled.callbacks.get("early_stopping"), history)
        check = stop.check if status != Status.INTERRUPTED else lambda: None  # an interrupted run writes what it has
        metrics = write_results(config, folder, splits, assembled, history, (status, model_epoch), description, check)
        metrics["wall_time_seconds"] = round(time.perf_counter() - started, 3)
        folder.finish(metrics)
        tracking.finish(status, metrics, assembled.model)
    return status, metrics


def progress_bar(dataset_name: str, training, context: RunContext):
    """The live bar's context (progress.live_bar), with `job 3/8` in a sweep."""
    sweep = context.sweep
    number, planned = (sweep.number, sweep.jobs_planned) if sweep else (None, None)
    interactive = progress.console_is_interactive()
    enabled = progress.wants_bar(training.progress_bar, training.verbose, interactive, context.launcher_name)
    return progress.live_bar(progress.job_label(dataset_name, number, planned), training.epochs, enabled)


def trial_watcher(context: RunContext) -> dict:
    """In an Optuna search, the job's trial report and pruning (search/trial.py); else nothing."""
    sweep = context.sweep
    if sweep is None or sweep.sweeper.get("_target_") != SWEEPER_TARGET:
        return {}
    from fcbaseline.search.trial import pruning_watcher

    return pruning_watcher(sweep.sweeper, sweep.sweep_dir, sweep.number)


def restored_epoch(early_stopping, history) -> int:
    """The epoch whose weights the model holds: EarlyStopping's best when it restored them, else the last."""
    if early_stopping is not None and early_stopping.restore_best_weights and early_stopping.best_weights is not None:
        return early_stopping.best_epoch + 1
    return len(history["epoch"])


def write_results(config, folder: RunFolder, splits, assembled, history, outcome, description, check) -> dict:
    """Test-set report, plots and the model file; returns the final metrics. `check` between files stops
    on a signal (the run stays resumable: its training is complete in the checkpoint)."""
    status, model_epoch = outcome
    dataset = splits.dataset
    result = evaluate(assembled.model, dataset.x_test, dataset.y_test, dataset.class_names)
    log.info(
        f"classification report on the {dataset.name} test set (model of epoch {model_epoch}):\n{result.report_text}"
    )
    write_text(folder.file(REPORT), result.report_file)
    digest = predictions.write_test_predictions(folder.file(TEST_PREDICTIONS), dataset.y_test, result.probabilities)
    check()
    schedule = "" if config.optimizer.schedule.name == "constant" else f" {config.optimizer.schedule.name} schedule"
    title = f"{dataset.name}, {assembled.architecture}, {config.optimizer.name} lr={config.optimizer.lr}{schedule}"
    report.plot_history(folder.file(TRAINING_PLOT), history, title)
    check()
    report.plot_confusion_matrix(
        folder.file(CONFUSION_MATRIX), dataset.y_test, result.predicted, dataset.class_names, title
    )
    check()
    if report.drawable(dataset.image_shape):  # feature or flat vectors are no pictures
        wrong = predictions.most_confidently_wrong(dataset.y_test, result.probabilities)
        shown = (dataset.x_test, dataset.y_test, result.probabilities, wrong, dataset.class_names)
        report.plot_misclassified(folder.file(MISCLASSIFIED), *shown, title)
        check()
    report.save_model(folder.file(MODEL), assembled.model)
    check()
    metrics = final_metrics(status, model_epoch, result, history, description)
    confused = [{"true": true, "predicted": predicted, "images": n} for true, predicted, n in result.confused]
    return {**metrics, "test_labels_digest": digest, "most_confused": confused}


def kept_value(values: list, model_epoch: int):
    """The value of epoch `model_epoch` (counted from 1): the figure of the model the run kept."""
    return values[model_epoch - 1] if 1 <= model_epoch <= len(values) else None


def final_metrics(status, model_epoch: int, result, history, description: dict) -> dict:
    best_val_accuracy, best_val_epoch = report.best_epoch(history)
    epoch_seconds = sorted(history["seconds"])
    done = bool(history["epoch"])
    return {
        "status": status,
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
        "model_val_accuracy": kept_value(history["val_accuracy"], model_epoch),  # what compare ranks by
        "best_val_accuracy": best_val_accuracy,  # of any epoch: above the model's unless it kept the best
        "best_val_epoch": best_val_epoch,
        "final_val_accuracy": history["val_accuracy"][-1] if done else None,
        "epochs_run": len(history["epoch"]),
        "model_epoch": model_epoch,
        "final_learning_rate": history["learning_rate"][-1] if done else None,
        "median_epoch_seconds": round(epoch_seconds[len(epoch_seconds) // 2], 4) if epoch_seconds else None,
        **description,
        "classification_report": result.per_class,
    }

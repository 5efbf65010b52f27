"""The per-epoch loop: train up to `training.epochs` with the compiled epoch, drive the Keras callbacks
once per epoch, save the checkpoint and history.csv after every epoch, stop cleanly on a signal."""

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from fcbaseline.components.optimizers import current_learning_rate
from fcbaseline.files import write_history
from fcbaseline.progress import eta_seconds, format_duration
from fcbaseline.rundir import Status
from fcbaseline.training.checkpoint import restore, save_checkpoint
from fcbaseline.training.epoch import device, make_epoch, make_evaluator, step_uses_xla
from fcbaseline.training.reuse import CompiledRuns

log = logging.getLogger("fcbaseline.train")


@dataclass
class RunFiles:
    """Where fit keeps its state after every epoch, and the run config the checkpoint records."""

    checkpoint: Path
    history: Path
    config_yaml: str


HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")


def fit(
    model,
    optimizer,
    splits,
    num_classes,
    training,
    files: RunFiles,
    callbacks=None,
    stop=None,
    resume_from=None,
    compiled: Optional[CompiledRuns] = None,
    augment=None,
):
    """Train up to `training.epochs` on `splits` (x_train, y_train, x_valid, y_valid), driving the Keras
    `callbacks` (name -> callback; components/callbacks.py) once per epoch and saving the checkpoint and
    history.csv after every epoch.

    Returns (history: per-epoch lists, status): status is completed (also when a callback such as
    EarlyStopping ended training), diverged (a loss became NaN or infinite) or interrupted (SIGINT or
    SIGTERM; `resume_from` a checkpoint continues the run). With `compiled` (training/reuse.py), the
    compiled epoch and evaluator of a model it handed out are built once and reused by later runs.
    `augment` (training/augment.make_augment) augments each training batch, seeded by (seed, epoch).
    """
    x_train, y_train, x_valid, y_valid = splits
    callbacks = dict(callbacks or {})
    steps = math.ceil(len(y_train) / training.batch_size)
    compiled = compiled or CompiledRuns()
    run_epoch = compiled_epoch(model, optimizer, x_train, y_train, num_classes, training, compiled, augment)
    evaluate = compiled.function(model, "evaluator", lambda: make_evaluator(model, num_classes))
    order_generator = np.random.default_rng(training.seed)
    callback_list = keras.callbacks.CallbackList(
        list(callbacks.values()), model=model, epochs=training.epochs, steps=steps
    )
    model.stop_training = False
    callback_list.on_train_begin()  # resets the callbacks' counters: a resumed run restores them after
    history = {key: [] for key in HISTORY_COLUMNS}
    if resume_from is not None:
        restore(resume_from, model, optimizer, order_generator, callbacks)
        history = {key: resume_from["history"].get(key, []) for key in HISTORY_COLUMNS}
        log.info(f"resuming after epoch {len(history['epoch'])} from {files.checkpoint}")
    log.info(f"training: {training.epochs} epochs of {steps} steps, batch size {training.batch_size}")
    status, logs = Status.COMPLETED, {}
    for epoch in range(len(history["epoch"]) + 1, training.epochs + 1):
        if model.stop_training:  # a callback ended training (also before a resume)
            break
        callback_list.on_epoch_begin(epoch - 1)  # Keras counts epochs from 0
        seed = tf.constant([training.seed, epoch], tf.int64)  # the epoch's augmentation: resumes exactly
        logs = train_epoch(run_epoch, evaluate, optimizer, order_generator, (y_train, x_valid, y_valid), seed)
        record_epoch(history, epoch, logs, training)
        if not (math.isfinite(logs["loss"]) and math.isfinite(logs["val_loss"])):
            losses = f"the loss is {logs['loss']} (validation {logs['val_loss']})"
            log.error(f"epoch {epoch}: {losses}; stopping, status 'diverged'.")
            status = Status.DIVERGED
            break
        callback_list.on_epoch_end(epoch - 1, {key: value for key, value in logs.items() if key != "seconds"})
        save_checkpoint(files.checkpoint, model, optimizer, history, order_generator, files.config_yaml, callbacks)
        write_history(files.history, history)
        if stop is not None and stop.received is not None:
            return history, Status.INTERRUPTED  # not the end of training: callbacks keep their state for the resume
        if model.stop_training:
            early = training.epochs - epoch
            log.info(f"epoch {epoch}: a callback stopped training ({', '.join(callbacks)}), {early} epochs early")
    callback_list.on_train_end(logs)  # e.g. EarlyStopping puts back the best weights
    write_history(files.history, history)
    return history, status


def compiled_epoch(model, optimizer, x_train, y_train, num_classes: int, training, compiled: CompiledRuns, augment):
    """The compiled epoch over the training set, (order, seed) -> (mean loss, accuracy); the training set
    is placed once where the epoch runs (no per-batch host copies)."""
    with tf.device(device()):
        x_device, y_device = tf.identity(tf.convert_to_tensor(x_train)), tf.one_hot(y_train, num_classes)
    loss, xla = keras.losses.CategoricalCrossentropy(), step_uses_xla(model, training)
    epoch = compiled.function(
        model, "epoch", lambda: make_epoch(model, optimizer, loss, len(y_train), training.batch_size, xla, augment)
    )
    return lambda order, seed: epoch(order, x_device, y_device, seed)


def record_epoch(history: dict, epoch: int, logs: dict, training) -> None:
    for key in HISTORY_COLUMNS:
        history[key].append(epoch if key == "epoch" else logs[key])
    if training.verbose:
        log_epoch(epoch, training.epochs, logs, history["seconds"])


def interruptible(function, *arguments):
    """`function(*arguments)` in a worker thread while the main thread waits.

    A Python signal handler runs only when the main thread executes Python code, never while it is
    inside TensorFlow's C++ (a whole compiled epoch, XLA compilation included): waiting here instead,
    the first Ctrl-C is acknowledged at once and a second one stops the run at once."""
    outcome = {}

    def work():
        try:
            outcome["value"] = function(*arguments)
        except BaseException as error:  # handed to the main thread below
            outcome["error"] = error

    worker = threading.Thread(target=work, name="fcbaseline-epoch", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def train_epoch(run_epoch, evaluate, optimizer, order_generator, data, seed) -> dict:
    """One epoch: the compiled updates in a fresh order (and augmentation `seed`), then the validation
    pass; the epoch's logs."""
    y_train, x_valid, y_valid = data
    started = time.perf_counter()
    learning_rate = current_learning_rate(optimizer)  # the rate of the epoch's first step
    order = order_generator.permutation(len(y_train))
    loss, accuracy = (float(value) for value in interruptible(run_epoch, tf.constant(order), seed))
    val_loss, val_accuracy, _ = evaluate(x_valid, y_valid)
    return {
        "loss": loss,
        "accuracy": accuracy,
        "val_loss": val_loss,
        "val_accuracy": val_accuracy,
        "learning_rate": learning_rate,
        "seconds": time.perf_counter() - started,
    }


def log_epoch(epoch: int, epochs: int, logs: dict, epoch_seconds) -> None:
    """The epoch's figures, the training time so far (also before a resume) and the time left."""
    left = format_duration(eta_seconds(epoch_seconds, epochs - epoch))
    log.info(
        f"epoch {epoch}/{epochs}  loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.4f}  "
        f"val_loss {logs['val_loss']:.4f}  val_accuracy {logs['val_accuracy']:.4f}  "
        f"lr {logs['learning_rate']:.3g}  {logs['seconds']:.2f}s  elapsed {format_duration(sum(epoch_seconds))}  "
        f"left {left}"
    )

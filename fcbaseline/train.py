"""Seeded training: one compiled TensorFlow function per epoch, Keras callbacks per epoch, the history.

Why not `model.fit`: on a 2-core CPU, Keras' per-step dispatch costs more than the arithmetic of
a small MLP. Here a whole epoch (every minibatch update of the configured size, in an order
reshuffled each epoch) runs inside one `tf.function`, which took 0.32 to 0.43 x `model.fit`'s time
on the recipes while computing the same updates and the same metrics (benchmarks/README.md,
tests/test_equivalence.py).
The reported epoch loss and accuracy are, as in `model.fit`, the batch-size-weighted means of
the per-batch values measured during the epoch's updates.
"""

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from fcbaseline.config import use_xla
from fcbaseline.files import write_history
from fcbaseline.model import current_learning_rate
from fcbaseline.progress import eta_seconds, format_duration
from fcbaseline.resume import restore, save_checkpoint

log = logging.getLogger(__name__)
EVALUATION_BATCH = 2048  # any size gives the same numbers; this one keeps memory small on CIFAR-10


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TensorFlow for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def batch_loss(model, loss_function, y, probabilities):
    """The data loss plus the model's regularization losses (L2), as model.fit and evaluate count it."""
    loss = loss_function(y, probabilities)
    return loss + tf.add_n(model.losses) if model.losses else loss


def make_evaluator(model, num_classes: int):
    """A function (x, labels) -> (mean loss, accuracy, class probabilities) over a whole split."""
    loss_function = keras.losses.CategoricalCrossentropy()

    # any batch length (the last batch of a split is shorter) with one trace
    signature = [
        tf.TensorSpec([None, *model.input_shape[1:]], tf.uint8),
        tf.TensorSpec([None, num_classes], tf.float32),
    ]

    @tf.function(input_signature=signature)
    def batch_sums(x, y):
        probabilities = model(x, training=False)
        size = tf.cast(tf.shape(x)[0], tf.float32)
        correct = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == tf.argmax(y, 1), tf.float32))
        return batch_loss(model, loss_function, y, probabilities) * size, correct, probabilities

    def evaluate(x, labels):
        y_onehot = tf.one_hot(labels, num_classes)
        total_loss, total_correct, probabilities = 0.0, 0.0, []
        for start in range(0, len(x), EVALUATION_BATCH):
            loss, correct, batch = batch_sums(
                x[start : start + EVALUATION_BATCH], y_onehot[start : start + EVALUATION_BATCH]
            )
            total_loss += float(loss)
            total_correct += float(correct)
            probabilities.append(batch.numpy())
        return total_loss / len(x), total_correct / len(x), np.concatenate(probabilities)

    return evaluate


def device() -> str:
    """Where training runs: TensorFlow's first GPU when it sees one (the uint8 training set is copied there
    once, and the compiled epoch gathers its batches on it), else the CPU. metrics.json records it."""
    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name if gpus else "/device:CPU:0"


def step_uses_xla(model, training) -> bool:
    return use_xla(training.xla, any(isinstance(layer, keras.layers.Dropout) for layer in model.layers))


def make_train_step(model, optimizer, loss_function):
    """One minibatch update: (images, one-hot labels) -> (loss, number correct); traced by the caller."""

    def train_step(x_batch, y_batch):
        with tf.GradientTape() as tape:
            probabilities = model(x_batch, training=True)
            loss = batch_loss(model, loss_function, y_batch, probabilities)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        correct = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == tf.argmax(y_batch, 1), tf.float32))
        return loss, correct

    return train_step


def make_epoch(model, optimizer, loss_function, x, y_onehot, batch_size: int, xla: bool):
    """The compiled epoch: (order of the training samples) -> (mean loss, accuracy) over its updates.

    With XLA, the whole loop over the full batches is one XLA computation (no TensorFlow executor work
    between steps: 0.66 -> 0.44 s per MNIST epoch, 8.5 -> 7.1 s for CIFAR-10, same numbers; see
    benchmarks/README.md), and the last, shorter batch a second one. Without XLA (dropout, whose random
    numbers are slow under XLA on CPU), a TensorFlow loop over steps. The model's first layers turn the
    uint8 images into float32 in [0, 1], batch by batch."""
    samples = int(x.shape[0])
    full_batches, rest = divmod(samples, batch_size)
    train_step = make_train_step(model, optimizer, loss_function)
    if not xla:
        return make_stepwise_epoch(tf.function(train_step), x, y_onehot, batch_size)

    @tf.function(jit_compile=True)
    def run_full_batches(order):
        def body(step, total_loss, total_correct):
            indices = tf.slice(order, [step * batch_size], [batch_size])  # static size: XLA needs it
            loss, correct = train_step(tf.gather(x, indices), tf.gather(y_onehot, indices))
            return step + 1, total_loss + loss * batch_size, total_correct + correct

        start = (tf.constant(0), tf.constant(0.0), tf.constant(0.0))
        _, total_loss, total_correct = tf.while_loop(lambda step, *_: step < full_batches, body, start)
        return total_loss, total_correct

    last_step = tf.function(train_step, jit_compile=True)

    def run_epoch(order):
        total_loss, total_correct = run_full_batches(order)
        if rest:
            indices = order[full_batches * batch_size :]
            loss, correct = last_step(tf.gather(x, indices), tf.gather(y_onehot, indices))
            total_loss, total_correct = total_loss + loss * rest, total_correct + correct
        return total_loss / samples, total_correct / samples

    return run_epoch


def make_stepwise_epoch(train_step, x, y_onehot, batch_size: int):
    """The epoch as a TensorFlow loop calling `train_step` per batch (the path without XLA)."""
    samples = int(x.shape[0])
    steps = math.ceil(samples / batch_size)

    @tf.function
    def run_epoch(order):
        total_loss = tf.constant(0.0)
        total_correct = tf.constant(0.0)
        for step in tf.range(steps):
            indices = order[step * batch_size : (step + 1) * batch_size]
            loss, correct = train_step(tf.gather(x, indices), tf.gather(y_onehot, indices))
            total_loss += loss * tf.cast(tf.shape(indices)[0], tf.float32)
            total_correct += correct
        return total_loss / samples, total_correct / samples

    return run_epoch


@dataclass
class RunFiles:
    """Where fit keeps its state after every epoch, and the run config the checkpoint records."""

    checkpoint: Path
    history: Path
    config_yaml: str


HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")


def fit(model, optimizer, splits, num_classes, training, files: RunFiles, callbacks=None, stop=None, resume_from=None):
    """Train up to `training.epochs` on `splits` (x_train, y_train, x_valid, y_valid), driving the Keras
    `callbacks` (name -> callback; see callbacks.py) once per epoch and saving the checkpoint and
    history.csv after every epoch.

    Returns (history: per-epoch lists, status): status is completed (also when a callback such as
    EarlyStopping ended training), diverged (a loss became NaN or infinite) or interrupted (SIGINT or
    SIGTERM; `resume_from` a checkpoint continues the run).
    """
    x_train, y_train, x_valid, y_valid = splits
    callbacks = dict(callbacks or {})
    steps = math.ceil(len(y_train) / training.batch_size)
    with tf.device(device()):  # the training set lives where the epoch runs: no per-batch host copies
        x_device, y_device = tf.identity(tf.convert_to_tensor(x_train)), tf.one_hot(y_train, num_classes)
    run_epoch = make_epoch(
        model,
        optimizer,
        keras.losses.CategoricalCrossentropy(),
        x_device,
        y_device,
        training.batch_size,
        step_uses_xla(model, training),
    )
    evaluate = make_evaluator(model, num_classes)
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
    status, logs = "completed", {}
    for epoch in range(len(history["epoch"]) + 1, training.epochs + 1):
        if model.stop_training:  # a callback ended training (also before a resume)
            break
        callback_list.on_epoch_begin(epoch - 1)  # Keras counts epochs from 0
        logs = train_epoch(run_epoch, evaluate, optimizer, order_generator, (y_train, x_valid, y_valid))
        for key in HISTORY_COLUMNS:
            history[key].append(epoch if key == "epoch" else logs[key])
        if training.verbose:
            log_epoch(epoch, training.epochs, logs, history["seconds"])
        if not (math.isfinite(logs["loss"]) and math.isfinite(logs["val_loss"])):
            losses = f"the loss is {logs['loss']} (validation {logs['val_loss']})"
            log.error(f"epoch {epoch}: {losses}; stopping, status 'diverged'.")
            status = "diverged"
            break
        callback_list.on_epoch_end(epoch - 1, {key: value for key, value in logs.items() if key != "seconds"})
        save_checkpoint(files.checkpoint, model, optimizer, history, order_generator, files.config_yaml, callbacks)
        write_history(files.history, history)
        if stop is not None and stop.received is not None:
            return history, "interrupted"  # not the end of training: callbacks keep their state for the resume
        if model.stop_training:
            early = training.epochs - epoch
            log.info(f"epoch {epoch}: a callback stopped training ({', '.join(callbacks)}), {early} epochs early")
    callback_list.on_train_end(logs)  # e.g. EarlyStopping puts back the best weights
    write_history(files.history, history)
    return history, status


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


def train_epoch(run_epoch, evaluate, optimizer, order_generator, data) -> dict:
    """One epoch: the compiled updates in a fresh order, then the validation pass; the epoch's logs."""
    y_train, x_valid, y_valid = data
    started = time.perf_counter()
    learning_rate = current_learning_rate(optimizer)  # the rate of the epoch's first step
    order = order_generator.permutation(len(y_train))
    loss, accuracy = (float(value) for value in interruptible(run_epoch, tf.constant(order)))
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

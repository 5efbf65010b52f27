"""Seeded training: one compiled TensorFlow function per epoch, the per-epoch history, early stop on NaN.

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
import signal
import time

import keras
import numpy as np
import tensorflow as tf

from fcbaseline.data import PIXEL_MAX
from fcbaseline.resume import restore, save_checkpoint

log = logging.getLogger(__name__)
EVALUATION_BATCH = 2048  # any size gives the same numbers; this one keeps memory small on CIFAR-10


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow, and ask TensorFlow for deterministic kernels."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def to_unit_interval(pixels):
    """uint8 pixels as float32 in [0, 1], batch by batch inside the graph (data.to_unit_interval's twin)."""
    return tf.cast(pixels, tf.float32) / PIXEL_MAX


def make_evaluator(model, num_classes: int):
    """A function (x, labels) -> (mean loss, accuracy, class probabilities) over a whole split."""
    loss_function = keras.losses.CategoricalCrossentropy()

    # any batch length (the last batch of a split is shorter) with one trace
    signature = [
        tf.TensorSpec([None, model.input_shape[-1]], tf.uint8),
        tf.TensorSpec([None, num_classes], tf.float32),
    ]

    @tf.function(input_signature=signature)
    def batch_sums(x, y):
        probabilities = model(to_unit_interval(x), training=False)
        size = tf.cast(tf.shape(x)[0], tf.float32)
        correct = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == tf.argmax(y, 1), tf.float32))
        return loss_function(y, probabilities) * size, correct, probabilities

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


def make_epoch(model, optimizer, loss_function, x, y_onehot, batch_size: int, xla: bool):
    samples = int(x.shape[0])
    steps = math.ceil(samples / batch_size)

    # One minibatch update, compiled by XLA when asked: fusing the small element-wise operations
    # around the matrix products measured about 10% faster per epoch here (benchmarks/README.md).
    @tf.function(jit_compile=xla)
    def train_step(x_batch, y_batch):
        with tf.GradientTape() as tape:
            probabilities = model(x_batch, training=True)
            loss = loss_function(y_batch, probabilities)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        correct = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == tf.argmax(y_batch, 1), tf.float32))
        return loss, correct

    @tf.function
    def run_epoch(order):
        total_loss = tf.constant(0.0)
        total_correct = tf.constant(0.0)
        for step in tf.range(steps):
            indices = order[step * batch_size : (step + 1) * batch_size]
            loss, correct = train_step(to_unit_interval(tf.gather(x, indices)), tf.gather(y_onehot, indices))
            total_loss += loss * tf.cast(tf.shape(indices)[0], tf.float32)
            total_correct += correct
        return total_loss / samples, total_correct / samples

    return run_epoch


class StopRequests:
    """Turns SIGINT and SIGTERM into a request to stop after the epoch in progress (state saved)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    last_signal = 0  # the signal that stopped the last run, for the exit status

    def __init__(self):
        self.received = None

    def __enter__(self):
        self.previous = {number: signal.getsignal(number) for number in self.SIGNALS}
        for number in self.SIGNALS:
            signal.signal(number, self.request)
        return self

    def request(self, number, frame):
        if self.received is not None:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        self.received = StopRequests.last_signal = number
        log.warning(f"{signal.Signals(number).name} received: stopping after this epoch, with its state saved.")

    def __exit__(self, *exception):
        for number, handler in self.previous.items():
            signal.signal(number, handler)


def fit(model, optimizer, splits, num_classes, training, checkpoint_path, config_yaml, resume_from=None):
    """Train up to `training.epochs` on `splits` (x_train, y_train, x_valid, y_valid), saving a
    checkpoint (with `config_yaml`, the run's resolved config) after every epoch.

    Returns (history: per-epoch lists, status): status is completed, diverged (a loss became NaN or
    infinite) or interrupted (SIGINT or SIGTERM; `resume_from` a checkpoint continues the run).
    """
    x_train, y_train, x_valid, y_valid = splits
    loss_function = keras.losses.CategoricalCrossentropy()
    run_epoch = make_epoch(
        model,
        optimizer,
        loss_function,
        tf.convert_to_tensor(x_train),
        tf.one_hot(y_train, num_classes),
        training.batch_size,
        training.xla,
    )
    evaluate = make_evaluator(model, num_classes)
    order_generator = np.random.default_rng(training.seed)
    history = {key: [] for key in ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds")}
    if resume_from is not None:
        restore(resume_from, model, optimizer, order_generator)
        history = resume_from["history"]
        log.info(f"resuming after epoch {len(history['epoch'])} from {checkpoint_path}")
    steps = math.ceil(len(y_train) / training.batch_size)
    log.info(f"training: {training.epochs} epochs of {steps} steps, batch size {training.batch_size}")
    with StopRequests() as stop:
        for epoch in range(len(history["epoch"]) + 1, training.epochs + 1):
            started = time.perf_counter()
            order = order_generator.permutation(len(y_train))
            loss, accuracy = (float(value) for value in run_epoch(tf.constant(order)))
            val_loss, val_accuracy, _ = evaluate(x_valid, y_valid)
            seconds = time.perf_counter() - started
            for key, value in zip(history, (epoch, loss, accuracy, val_loss, val_accuracy, seconds)):
                history[key].append(value)
            if training.verbose:
                log.info(
                    f"epoch {epoch}/{training.epochs}  loss {loss:.4f}  accuracy {accuracy:.4f}  "
                    f"val_loss {val_loss:.4f}  val_accuracy {val_accuracy:.4f}  {seconds:.2f}s"
                )
            if not (math.isfinite(loss) and math.isfinite(val_loss)):
                log.error(f"epoch {epoch}: the loss is {loss} (validation {val_loss}); stopping, status 'diverged'.")
                return history, "diverged"
            save_checkpoint(checkpoint_path, model, optimizer, history, order_generator, config_yaml)
            if stop.received is not None:
                return history, "interrupted"
    return history, "completed"

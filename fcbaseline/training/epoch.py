"""The compiled epoch: a whole epoch's minibatch updates (in an order reshuffled each epoch) inside one
TensorFlow function, and the evaluator of a whole split.

Why not `model.fit`: on a 2-core CPU, Keras' per-step dispatch costs more than the arithmetic of a small
MLP; here the epoch runs without Python between steps, computing the same updates and the same metrics
(tests/integration/test_equivalence.py; speed in benchmarks/README.md). The reported epoch loss and
accuracy are, as in `model.fit`, the batch-size-weighted means of the per-batch values measured during
the epoch's updates.
"""

import math
from typing import Optional

import keras
import numpy as np
import tensorflow as tf

from fcbaseline.training.augment import step_seed

EVALUATION_BATCH = 2048  # any size gives the same numbers; this one keeps memory small on CIFAR-10


def use_xla(setting: Optional[bool], draws_random_numbers: bool, pools: bool = False) -> bool:
    """Compile the epoch with XLA? An explicit true/false wins; automatically, yes unless the model draws
    random numbers in training (XLA's random-bit generator on CPU makes an epoch with dropout many times
    slower, while plain TensorFlow adds little: benchmarks/README.md) or max-pools (XLA has no
    deterministic gradient of max pooling, and fcbaseline asks for deterministic kernels)."""
    if setting is not None:
        return bool(setting)
    return not (draws_random_numbers or pools)


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
        tf.TensorSpec([None, *model.input_shape[1:]], tf.as_dtype(model.inputs[0].dtype)),  # images or features
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
    """Where training runs: TensorFlow's first GPU when it sees one (the training set is copied there
    once, and the compiled epoch gathers its batches on it), else the CPU. metrics.json records it."""
    gpus = tf.config.list_logical_devices("GPU")
    return gpus[0].name if gpus else "/device:CPU:0"


def step_uses_xla(model, training) -> bool:
    def has(kind) -> bool:
        return any(isinstance(layer, kind) for layer in model.layers)

    return use_xla(training.xla, has(keras.layers.Dropout), has(keras.layers.MaxPooling2D))


def make_train_step(model, optimizer, loss_function, augment=None):
    """One minibatch update: (images, one-hot labels, the batch's seed) -> (loss, number correct), the
    images augmented first when `augment` (training/augment.py) is given; traced by the caller."""

    def train_step(x_batch, y_batch, seed):
        if augment is not None:
            x_batch = augment(x_batch, seed)
        with tf.GradientTape() as tape:
            probabilities = model(x_batch, training=True)
            loss = batch_loss(model, loss_function, y_batch, probabilities)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        correct = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == tf.argmax(y_batch, 1), tf.float32))
        return loss, correct

    return train_step


def make_epoch(model, optimizer, loss_function, samples: int, batch_size: int, xla: bool, augment=None):
    """The compiled epoch: (order of the training samples, images, one-hot labels, the epoch's seed) ->
    (mean loss, accuracy) over its updates, for a training set of `samples` images; with `augment`, each
    batch augmented with its own seed (training/augment.step_seed), else the seed unused.

    With XLA, the whole loop over the full batches is one XLA computation (no TensorFlow executor work
    between steps; benchmarks/README.md has the gain), and the last, shorter batch a second one. Without
    XLA (dropout, whose random numbers are slow under XLA on CPU), a TensorFlow loop over steps. The
    model's first layers turn the uint8 images into float32 in [0, 1] (or standardize feature vectors),
    batch by batch.

    The data are arguments, not captured constants: a graph that captured them would keep them (and
    itself) alive after the run, about 50 MB per job of a sweep in one process, and the next run of the
    same shapes could not reuse the compiled epoch (training/reuse.py)."""
    full_batches, rest = divmod(samples, batch_size)
    train_step = make_train_step(model, optimizer, loss_function, augment)
    seed_of = step_seed if augment is not None else lambda seed, step: seed  # no augmentation: no seed work
    if not xla:
        return make_stepwise_epoch(tf.function(train_step), samples, batch_size, seed_of)

    @tf.function(jit_compile=True)
    def run_full_batches(order, x, y_onehot, seed):
        def body(step, total_loss, total_correct):
            indices = tf.slice(order, [step * batch_size], [batch_size])  # static size: XLA needs it
            batch = (tf.gather(x, indices), tf.gather(y_onehot, indices), seed_of(seed, step))
            loss, correct = train_step(*batch)
            return step + 1, total_loss + loss * batch_size, total_correct + correct

        start = (tf.constant(0), tf.constant(0.0), tf.constant(0.0))
        _, total_loss, total_correct = tf.while_loop(lambda step, *_: step < full_batches, body, start)
        return total_loss, total_correct

    last_step = tf.function(train_step, jit_compile=True)

    def run_epoch(order, x, y_onehot, seed):
        total_loss, total_correct = run_full_batches(order, x, y_onehot, seed)
        if rest:
            indices = order[full_batches * batch_size :]
            batch = (tf.gather(x, indices), tf.gather(y_onehot, indices), seed_of(seed, full_batches))
            loss, correct = last_step(*batch)
            total_loss, total_correct = total_loss + loss * rest, total_correct + correct
        return total_loss / samples, total_correct / samples

    return run_epoch


def make_stepwise_epoch(train_step, samples: int, batch_size: int, seed_of):
    """The epoch as a TensorFlow loop calling `train_step` per batch (the path without XLA)."""
    steps = math.ceil(samples / batch_size)

    @tf.function
    def run_epoch(order, x, y_onehot, seed):
        total_loss = tf.constant(0.0)
        total_correct = tf.constant(0.0)
        for step in tf.range(steps):
            indices = order[step * batch_size : (step + 1) * batch_size]
            batch = (tf.gather(x, indices), tf.gather(y_onehot, indices), seed_of(seed, step))
            loss, correct = train_step(*batch)
            total_loss += loss * tf.cast(tf.shape(indices)[0], tf.float32)
            total_correct += correct
        return total_loss / samples, total_correct / samples

    return run_epoch

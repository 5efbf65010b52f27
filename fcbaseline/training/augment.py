"""Data augmentation for image training sets (`dataset.augment`, by name, off by default; its names and
checks: data/augmentation.py): a fresh random horizontal flip and translation of every training image
each time it is drawn, inside the compiled epoch.

It runs on the uint8 batch before the model, so it never touches validation, test or the saved model
(which takes images as they are). Each batch's random numbers come from a stateless generator seeded by
(training.seed, epoch, step): the same run gives the same images, and a resumed run continues exactly,
with no generator state to checkpoint. It draws a few numbers per image (a coin, two shifts), not per
value as dropout does, so XLA's slow random-bit generator on CPU costs it little (benchmarks/README.md)."""

from typing import Optional, Sequence

ALGORITHM = "philox"  # named, not TensorFlow's device-dependent "auto_select": the same draws on any device


def make_augment(names: Sequence[str], pixels: int) -> Optional[object]:
    """A TensorFlow function (uint8 batch, int64 seed of 2) -> the batch augmented, or None for no
    augmentation (the recipes' compiled epoch is then exactly what it was)."""
    if not names:
        return None
    import tensorflow as tf

    def augment(x, seed):
        size, height, width = tf.shape(x)[0], x.shape[1], x.shape[2]
        pad = [[0, 0], [pixels, pixels], [pixels, pixels]] + [[0, 0]] * (len(x.shape) - 3)
        if "flip" in names:
            # integers: XLA turns random bits into floats otherwise than TensorFlow's kernel does
            coin = tf.random.stateless_uniform([size], seed, 0, 2, tf.int32, alg=ALGORITHM) == 1
            coin = tf.reshape(coin, [-1] + [1] * (len(x.shape) - 1))
            x = tf.where(coin, tf.reverse(x, axis=[2]), x)
        if "translate" in names:
            shift_seed = tf.random.experimental.stateless_fold_in(seed, 1, alg=ALGORITHM)
            shifts = tf.random.stateless_uniform([size, 2], shift_seed, -pixels, pixels + 1, tf.int32, alg=ALGORITHM)
            padded = tf.pad(x, pad)  # zeros around: what moves in is black
            rows = pixels - shifts[:, :1] + tf.range(height)[None, :]
            columns = pixels - shifts[:, 1:] + tf.range(width)[None, :]
            x = tf.gather(padded, rows, axis=1, batch_dims=1)
            x = tf.gather(x, columns, axis=2, batch_dims=1)
        return x

    return augment


def step_seed(seed, step):
    """The seed of one batch: the epoch's (training.seed, epoch) folded with the step."""
    import tensorflow as tf

    return tf.random.experimental.stateless_fold_in(seed, tf.cast(step, tf.int64), alg=ALGORITHM)

"""TensorFlow's start-up for a run: the backend check, then (after the config and the data passed
their checks) the XLA compilation cache, the quiet import and the job's thread budget, set before
TensorFlow's first operation."""

import gc
import logging
import os
from contextlib import contextmanager

from fcbaseline import quiet, threads, xla_cache
from fcbaseline.data import cache
from fcbaseline.errors import ConfigError

log = logging.getLogger("fcbaseline")


def check_backend() -> None:
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if backend != "tensorflow":
        raise ConfigError(
            f"KERAS_BACKEND={backend}: fcbaseline trains with TensorFlow's compiled functions. "
            f"Unset KERAS_BACKEND or set it to 'tensorflow'."
        )


def start(budget) -> int:
    """TensorFlow without its start-up chatter, with `budget` threads (None: its default, a thread per core).
    Returns the intra-op threads TensorFlow really uses, for metrics.json."""
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


@contextmanager
def graphs_released():
    """Around a run's TensorFlow part: what it traced is released when it ends, so that the jobs of a sweep
    that share a process (the basic launcher, an Optuna search) stay as light as the first.

    Keras' optimizer sums gradients over replicas through tf.custom_gradient, which registers a gradient
    function in TensorFlow's process-wide registry for each trace and never removes it
    (tensorflow/tensorflow#97697); each one keeps its whole traced graph alive, with the model's variables
    it captured. The run's own entries are dropped when it ends: nothing differentiates those graphs again.
    A TensorFlow without that registry changes nothing here. (keras.backend.clear_session would free nothing
    more and cost each job time: benchmarks/README.md.)"""
    registry = _gradient_registry()
    before = set(registry)
    try:
        yield
    finally:
        for name in [name for name in registry if name not in before and name.startswith("CustomGradient-")]:
            del registry[name]
        gc.collect()  # the graphs hold reference cycles: freed now, not whenever Python's collector next runs


def _gradient_registry() -> dict:
    try:
        from tensorflow.python.framework import ops

        return ops._gradient_registry._registry
    except (ImportError, AttributeError):
        return {}

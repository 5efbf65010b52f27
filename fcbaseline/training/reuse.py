"""The last run's compiled epoch, reused by the next run of the same shape in the same process (a sweep's
jobs with the basic launcher, an Optuna search, runs in a loop of the user's).

Why: TensorFlow keeps every XLA executable it has compiled until the process ends, and compiling the
epoch costs each run about half a second; a sweep of 30 jobs grew by about 7 MB a job, most of it those
executables (benchmarks/README.md). A run whose model, optimizer, batch size and training-set shape are
those of the previous run (its seed, learning rate or data values may differ) takes over the previous
run's model and optimizer objects: their variables are given this run's freshly initialized values, the
values a new model and optimizer would start from, and the compiled functions, traced against exactly
those variables, run again without a new trace or compilation. So the numbers are those of a fresh run,
bit for bit (tests/unit/test_training.py).
"""

import json
import threading
from dataclasses import dataclass, field
from typing import Callable, Optional


def graph_key(
    model, optimizer, training_shape, num_classes: int, batch_size: int, xla: bool, device: str, augment=None
):
    """What the compiled functions depend on, as text: every setting of the model and the optimizer (but a
    constant learning rate, a variable that each run assigns, and the name), the batch size, XLA, the
    training set's shape and type, the classes, the device and the augmentation. Two runs with the same key
    can share the functions."""
    optimizer_settings = dict(optimizer.get_config())
    optimizer_settings.pop("name", None)  # Keras numbers each new optimizer's name: sgd, sgd_1, ...
    if not isinstance(optimizer_settings.get("learning_rate"), dict):  # a dict is a schedule: in the graph
        optimizer_settings.pop("learning_rate", None)
    settings = {
        "model": model.get_config(),
        "optimizer": [type(optimizer).__name__, optimizer_settings],
        "training_set": [list(training_shape), str(model.inputs[0].dtype)],
        "classes": num_classes,
        "batch_size": batch_size,
        "xla": xla,
        "device": device,
        "augment": augment,
    }
    return json.dumps(settings, sort_keys=True, default=str)


def same_layout(variables, others) -> bool:
    return len(variables) == len(others) and all(
        tuple(a.shape) == tuple(b.shape) and a.dtype == b.dtype for a, b in zip(variables, others)
    )


@dataclass
class _Kept:
    key: str
    model: object
    optimizer: object
    functions: dict = field(default_factory=dict)  # name -> function built for this model


class CompiledRuns:
    """Holds the last run's model, optimizer and compiled functions (one run's worth: a sweep varying its
    seed innermost, as Hydra's product of choices does for the last key, reuses them job after job)."""

    def __init__(self):
        self._kept: Optional[_Kept] = None
        self._in_use = False  # by a run that has not ended (runs in threads never share the objects)
        self._lock = threading.Lock()

    def take(self, key: str, model, optimizer):
        """(model, optimizer) for a run that built `model` and `optimizer` fresh: the kept ones holding the
        fresh values when `key` is theirs, else the fresh ones, kept for the next run. The run calls
        `release` when it ends."""
        with self._lock:
            if self._in_use:  # another thread's run trains with the kept objects: this one goes alone
                return model, optimizer
            self._in_use = True
            return self._take(key, model, optimizer)

    def release(self) -> None:
        with self._lock:
            self._in_use = False

    def _take(self, key: str, model, optimizer):
        kept = self._kept
        if kept is not None and kept.key == key:
            optimizer.build(model.trainable_variables)  # its starting slots, iteration and learning rate
            pairs = [(kept.model.variables, model.variables), (kept.optimizer.variables, optimizer.variables)]
            if all(same_layout(old, new) for old, new in pairs):
                for old, new in pairs:
                    for target, value in zip(old, new):
                        target.assign(value)
                return kept.model, kept.optimizer
        self._kept = _Kept(key, model, optimizer)
        return model, optimizer

    def function(self, model, name: str, build: Callable):
        """`build()`, made once for the kept model (a model this object did not hand out gets a new one)."""
        kept = self._kept
        if kept is None or kept.model is not model:
            return build()
        if name not in kept.functions:
            kept.functions[name] = build()
        return kept.functions[name]

"""Runs in one process that reuse the previous run's compiled epoch (training/reuse.py) compute exactly
what a fresh run computes, and reuse it only when the model, optimizer and shapes are the same."""

import keras
import numpy as np
import pytest

import fcbaseline
from fcbaseline.training.reuse import CompiledRuns, graph_key
from tests.helpers import history_without_time, read_metrics

REUSED = "the previous run's compiled epoch fits this run"
DIGITS = ["dataset=digits", "training.epochs=2", "training.verbose=false", "tracking=none"]


def run(folder, overrides, compiled):
    result = fcbaseline.run([*DIGITS, *overrides], run_dir=folder, compiled_runs=compiled)
    weights = keras.saving.load_model(result.files["model.keras"]).get_weights()
    return result, weights, (folder / "fcbaseline.log").read_text()


@pytest.mark.parametrize(
    "setting",
    [
        ["training.xla=true"],  # the whole-epoch XLA loop, SGD with a learning-rate variable
        ["training.xla=false", "optimizer=adam", "model.dropout=0.2"],  # slots, a seed generator's state
    ],
)
def test_a_reusing_run_computes_exactly_what_a_fresh_run_computes(tmp_path, setting):
    shared = CompiledRuns()
    _, _, first_log = run(tmp_path / "first", [*setting, "training.seed=1", "optimizer.lr=0.05"], shared)
    second = [*setting, "training.seed=2", "optimizer.lr=0.02"]
    reused, reused_weights, reused_log = run(tmp_path / "reused", second, shared)
    fresh, fresh_weights, _ = run(tmp_path / "fresh", second, CompiledRuns())

    assert REUSED not in first_log and REUSED in reused_log
    assert history_without_time(tmp_path / "reused") == history_without_time(tmp_path / "fresh")
    assert reused.metrics["test_loss"] == fresh.metrics["test_loss"]
    assert read_metrics(tmp_path / "reused")["optimizer"]["lr"] == 0.02
    for kept, new in zip(reused_weights, fresh_weights, strict=True):
        np.testing.assert_array_equal(kept, new)


def test_a_run_of_another_shape_compiles_its_own_and_is_kept_for_the_next(tmp_path):
    shared = CompiledRuns()
    run(tmp_path / "a", ["model.hidden_sizes=[16]"], shared)
    _, _, other_log = run(tmp_path / "b", ["model.hidden_sizes=[24]"], shared)
    _, _, again_log = run(tmp_path / "c", ["model.hidden_sizes=[24]", "training.seed=3"], shared)
    assert REUSED not in other_log and REUSED in again_log


def key(model_units=8, optimizer=None, shape=(100, 8, 8), batch_size=32, xla=True):
    layers = [
        keras.Input((8, 8), name="pixels"),
        keras.layers.Flatten(name="flat"),
        keras.layers.Dense(model_units, name="out"),
    ]
    model = keras.Sequential(layers, name="mlp")  # named as model.py names them: the same in every run
    return graph_key(model, optimizer or keras.optimizers.SGD(0.1), shape, 10, batch_size, xla, "/device:CPU:0")


def test_the_key_holds_what_the_compiled_functions_depend_on():
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert key() == key(optimizer=keras.optimizers.SGD(0.5))  # a constant rate is a variable, assigned per run
    assert key() == key(optimizer=keras.optimizers.SGD(0.1, name="another"))
    different = [
        key(model_units=9),
        key(optimizer=keras.optimizers.SGD(0.1, momentum=0.9)),
        key(optimizer=keras.optimizers.SGD(schedule)),
        key(optimizer=keras.optimizers.Adam(0.1)),
        key(shape=(101, 8, 8)),
        key(batch_size=64),
        key(xla=False),
    ]
    assert len({key(), *different}) == len(different) + 1


def test_a_run_in_another_thread_never_takes_objects_in_use():
    compiled = CompiledRuns()
    model, optimizer = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), keras.optimizers.SGD(0.1)
    assert compiled.take("same", model, optimizer) == (model, optimizer)
    compiled.release()
    other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), keras.optimizers.SGD(0.2)
    assert compiled.take("same", *other) == (model, optimizer)  # the kept ones, holding the new values
    np.testing.assert_array_equal(model.get_weights()[0], other[0].get_weights()[0])
    third = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)]), keras.optimizers.SGD(0.3)
    assert compiled.take("same", *third) == third  # the kept ones are in use until released

"""The speed levers change no result: the whole-epoch XLA loop computes the updates the step-by-step
loop computes (last, shorter batch included), and the persistent XLA compilation cache is written,
reused and can be turned off. Speed itself is measured by benchmarks/, never asserted here."""

import csv

import numpy as np
import pytest

from fcbaseline import xla_cache
from tests.conftest import read_metrics, run_cli, run_directories


def test_whole_epoch_xla_loop_matches_the_step_by_step_loop():
    from fcbaseline import quiet

    quiet.import_tensorflow()
    import keras
    import tensorflow as tf

    from fcbaseline import train
    from fcbaseline.config import compose_config
    from fcbaseline.data import load_dataset
    from fcbaseline.model import build_model

    config = compose_config(["dataset=digits"])
    dataset = load_dataset(config.dataset)
    assert len(dataset.y_train) % 64, "the last batch must be shorter than the others"
    results = {}
    for xla in (True, False):
        train.seed_everything(7)
        model = build_model(config.model, dataset.image_shape, 10)
        optimizer = keras.optimizers.SGD(0.05)
        x, y = tf.convert_to_tensor(dataset.x_train), tf.one_hot(dataset.y_train, 10)
        run_epoch = train.make_epoch(model, optimizer, keras.losses.CategoricalCrossentropy(), x, y, 64, xla)
        order = np.random.default_rng(0)
        figures = [[float(value) for value in run_epoch(tf.constant(order.permutation(len(y))))] for _ in range(3)]
        results[xla] = (figures, [weight.copy() for weight in model.get_weights()], int(optimizer.iterations))
    assert results[True][2] == results[False][2] == 3 * -(-len(dataset.y_train) // 64)  # every batch, once
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-5)
    for with_xla, without in zip(results[True][1], results[False][1]):
        np.testing.assert_allclose(with_xla, without, rtol=1e-4, atol=1e-6)


def test_xla_cache_flags_and_cpu_fingerprint():
    assert xla_cache.flags_with_cache("", None) == ""
    assert xla_cache.flags_with_cache("--tf_xla_auto_jit=2", "/c") == "--tf_xla_auto_jit=2 " + xla_cache.FLAG + "=/c"
    mine = xla_cache.FLAG + "=/mine"
    assert xla_cache.flags_with_cache(mine, "/c") == mine  # the user's own choice is kept
    avx512 = "model name\t: Xeon\nflags\t\t: fpu avx512f avx512_bf16\nprocessor\t: 1\n"
    avx2 = "model name\t: Xeon\nflags\t\t: fpu avx2\nprocessor\t: 1\n"
    assert xla_cache.cpu_fingerprint(avx512, "x86_64") != xla_cache.cpu_fingerprint(avx2, "x86_64")
    assert xla_cache.cpu_fingerprint(avx512, "x86_64") == xla_cache.cpu_fingerprint(avx512 + avx512, "x86_64")


def first_epoch_loss(run):
    with open(run / "history.csv", newline="") as file:
        return float(next(csv.DictReader(file))["loss"])


def test_runs_fill_and_reuse_the_xla_cache_without_changing_results(tmp_path):
    arguments = ["dataset=digits", "training.epochs=2", "tracking=none"]
    environment = {"FCBASELINE_CACHE_DIR": str(tmp_path / "cache")}
    for _ in range(2):
        result = run_cli(arguments, cwd=tmp_path, data_dir=None, extra_environment=environment)
        assert result.returncode == 0, result.stderr[-3000:]
    [folder] = (tmp_path / "cache" / "xla").iterdir()
    entries = sorted(path.name for path in folder.iterdir())
    assert entries and all(name.startswith("xla_compile_cache") for name in entries)
    first, second = run_directories(tmp_path)
    assert first_epoch_loss(first) == first_epoch_loss(second)  # loaded from the cache: the same numbers
    assert sorted(path.name for path in folder.iterdir()) == entries  # reused, nothing compiled anew

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    without = {"FCBASELINE_CACHE_DIR": str(tmp_path / "other"), "FCBASELINE_XLA_CACHE": "off"}
    off = run_cli(arguments, cwd=elsewhere, data_dir=None, extra_environment=without)
    assert off.returncode == 0, off.stderr[-3000:]
    assert not (tmp_path / "other" / "xla").exists()


def test_bfloat16_computes_hidden_layers_in_bfloat16_and_saves_a_standalone_model(tmp_path):
    """training.precision=bfloat16: hidden layers compute in bfloat16, the weights the optimizer updates,
    the softmax and the loss stay float32; model.keras reproduces the run's test figures on its own."""
    result = run_cli(
        ["dataset=digits", "training.epochs=4", "training.precision=bfloat16", "tracking=none"],
        cwd=tmp_path,
        data_dir=None,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [run] = run_directories(tmp_path)
    metrics = read_metrics(run)
    assert metrics["status"] == "completed" and metrics["precision"] == "bfloat16"
    from fcbaseline import quiet

    quiet.import_tensorflow()
    import keras

    from fcbaseline.config import compose_config
    from fcbaseline.data import load_dataset

    model = keras.models.load_model(run / "model.keras")
    hidden = [layer for layer in model.layers if layer.name.startswith("hidden_")]
    assert hidden and all(layer.dtype_policy.name == "mixed_bfloat16" for layer in hidden)
    assert all(layer.compute_dtype == "bfloat16" and layer.kernel.dtype == "float32" for layer in hidden)
    dataset = load_dataset(compose_config(["dataset=digits"]).dataset)
    output = model.get_layer("output")
    assert output.compute_dtype == "float32" and model(dataset.x_test[:2]).dtype == "float32"
    loss, accuracy = model.evaluate(dataset.x_test, keras.utils.to_categorical(dataset.y_test, 10), verbose=0)
    assert accuracy == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert loss == pytest.approx(metrics["test_loss"], rel=1e-3)

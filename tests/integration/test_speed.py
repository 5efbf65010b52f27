"""The speed levers, run for real, change no result: the persistent XLA compilation cache is written,
reused with the same numbers and can be turned off, and training.precision=bfloat16 computes the hidden
layers in bfloat16 and saves a standalone model. Speed itself is measured by benchmarks/, never asserted
here; the whole-epoch XLA loop against the step-by-step one: tests/unit/test_training.py."""

import pytest

from fcbaseline import quiet
from fcbaseline.data import load_dataset
from tests.helpers import compose_config, read_history, read_metrics, run_cli, run_directories


def first_epoch_loss(run):
    return float(read_history(run)[0]["loss"])


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
    quiet.import_tensorflow()
    import keras

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

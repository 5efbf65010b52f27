"""The Python API, in-process: `fcbaseline.run` composes like the command line, writes the same run
folder, returns what it wrote, refuses bad configs with ConfigError, and resumes."""

import keras
import pytest
from omegaconf import OmegaConf

import fcbaseline
from fcbaseline.config import compose_config
from fcbaseline.data import load_dataset
from fcbaseline.rundir import ARTIFACTS, Status
from tests.helpers import history_without_time


def test_run_writes_the_run_folder_and_returns_what_it_wrote(tmp_path):
    result = fcbaseline.run(["dataset=digits", "training.epochs=3"], run_dir=tmp_path / "run")  # as the README
    assert result.status == Status.COMPLETED and result.run_dir == tmp_path / "run"
    assert set(result.files) == set(ARTIFACTS)  # every artifact of a finished run, as the command line writes
    assert all(path.is_file() and path.parent.is_relative_to(result.run_dir) for path in result.files.values())
    on_disk = OmegaConf.to_container(OmegaConf.load(result.files["metrics.json"]))
    assert on_disk["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"])
    assert result.metrics["epochs_run"] == 3 and result.metrics["overrides"] == ["dataset=digits", "training.epochs=3"]
    assert list((result.run_dir / "tensorboard").glob("train/events.out.tfevents.*"))  # tracked by default
    assert result.objective == result.metrics["model_val_accuracy"]
    saved = OmegaConf.load(result.files[".hydra/config.yaml"])
    composed = compose_config(["dataset=digits", "training.epochs=3"])
    assert OmegaConf.to_container(saved, resolve=True) == OmegaConf.to_container(composed, resolve=True)
    assert "epoch 3/3" in result.files["fcbaseline.log"].read_text()
    # the model file gives the figures the run reported
    dataset = load_dataset(composed.dataset)
    model = keras.models.load_model(result.files["model.keras"])
    _, accuracy = model.evaluate(dataset.x_test, keras.utils.to_categorical(dataset.y_test, 10), verbose=0)
    assert accuracy == pytest.approx(result.metrics["test_accuracy"], abs=1e-6)


def test_run_goes_where_the_command_line_goes_by_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = fcbaseline.run(["dataset=digits", "training.epochs=1", "tracking=none"])
    assert result.run_dir.parent.parent == tmp_path / "outputs" / "runs"  # outputs/runs/<date>/<time>


def test_a_bad_config_raises_config_error_with_the_command_lines_message(tmp_path):
    with pytest.raises(fcbaseline.ConfigError, match="Key 'lrr' not in 'SGDConfig'"):
        fcbaseline.run(["optimizer.lrr=0.1"], run_dir=tmp_path / "composed")
    assert not (tmp_path / "composed").exists()  # refused before the folder was claimed
    with pytest.raises(fcbaseline.ConfigError, match=r"model.hidden_sizes\[1\]=0 must be a positive number"):
        fcbaseline.run(["dataset=digits", "model.hidden_sizes=[8,0]"], run_dir=tmp_path / "checked")
    assert not (tmp_path / "checked").exists()  # checked before the folder was claimed, as the command line does


def test_hydras_own_settings_and_ambiguous_folders_are_refused(tmp_path):
    with pytest.raises(fcbaseline.ConfigError, match="Give the run folder as fcbaseline.run"):
        fcbaseline.run(["resume=true", f"hydra.run.dir={tmp_path / 'run'}"])
    with pytest.raises(fcbaseline.ConfigError, match="resume=true needs the run folder to continue"):
        fcbaseline.run(["resume=true"])
    with pytest.raises(fcbaseline.ConfigError, match="name two folders"):
        fcbaseline.run([f"resume={tmp_path / 'a'}"], run_dir=tmp_path / "b")
    assert not list(tmp_path.iterdir())  # nothing was claimed or written


def test_a_run_resumed_through_the_api_continues_to_the_same_history(tmp_path):
    common = ["dataset=digits", "tracking=none", "model.hidden_sizes=[32]"]
    straight = fcbaseline.run([*common, "training.epochs=4"], run_dir=tmp_path / "straight")
    fcbaseline.run([*common, "training.epochs=2"], run_dir=tmp_path / "resumed")
    resumed = fcbaseline.run([f"resume={tmp_path / 'resumed'}", "training.epochs=4"])
    assert resumed.run_dir == tmp_path / "resumed" and resumed.metrics["epochs_run"] == 4
    assert history_without_time(tmp_path / "resumed") == history_without_time(straight.run_dir)
    assert "resuming after epoch 2" in resumed.files["fcbaseline.log"].read_text()


def test_a_new_run_never_replaces_an_earlier_runs_results(tmp_path):
    first = fcbaseline.run(["dataset=digits", "training.epochs=1", "tracking=none"], run_dir=tmp_path / "run")
    before = {name: path.read_bytes() for name, path in first.files.items()}
    with pytest.raises(fcbaseline.ConfigError, match=r"already holds the results of an earlier run \(metrics.json\)"):
        fcbaseline.run(["dataset=digits", "training.epochs=2", "tracking=none"], run_dir=tmp_path / "run")
    assert {name: path.read_bytes() for name, path in first.files.items()} == before


def test_a_resume_asking_for_fewer_epochs_than_done_is_refused_and_changes_nothing(tmp_path):
    first = fcbaseline.run(["dataset=digits", "training.epochs=3", "tracking=none"], run_dir=tmp_path / "run")
    before = {name: path.read_bytes() for name, path in first.files.items() if name != "fcbaseline.log"}
    with pytest.raises(fcbaseline.ConfigError, match="has already completed 3 epochs. Ask for at least 3"):
        fcbaseline.run([f"resume={tmp_path / 'run'}", "training.epochs=1"])
    assert {name: path.read_bytes() for name, path in first.files.items() if name != "fcbaseline.log"} == before


def test_a_finished_run_leaves_no_graph_or_training_set_behind(tmp_path):
    """Jobs sharing a process (an in-process sweep, a notebook) must not pile up: the gradient functions
    Keras' optimizer registers per trace (each keeping its graph) are dropped, and no compiled function
    keeps the training set it trained on."""
    import gc

    import tensorflow as tf
    from tensorflow.python.framework import ops

    def custom_gradients():
        return sum(name.startswith("CustomGradient-") for name in ops._gradient_registry._registry)

    def training_sets():
        gc.collect()
        tensors = [item for item in gc.get_objects() if isinstance(item, tf.Tensor) and item.shape.rank == 3]
        return sum(tuple(tensor.shape) == (1617, 8, 8) for tensor in tensors)

    overrides = ["dataset=digits", "training.epochs=1", "tracking=none", "training.validation=split"]
    fcbaseline.run(overrides, run_dir=tmp_path / "first")
    before = custom_gradients()
    fcbaseline.run(overrides, run_dir=tmp_path / "second")
    assert custom_gradients() == before
    assert training_sets() == 0
    shared = fcbaseline.CompiledRuns()  # the kept model and compiled epoch take the data as arguments
    for name in ("third", "fourth"):
        fcbaseline.run([*overrides, f"training.seed={len(name)}"], run_dir=tmp_path / name, compiled_runs=shared)
    assert training_sets() == 0

"""Tracking for real: TensorBoard event files read back with TensorBoard's own reader, and a real `mlflow
server` on 127.0.0.1 read back with MLflow's client (a sweep grouped under its parent run, a run
interrupted and resumed, the server stopped in the middle of a sweep), and MLflow's default local store."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import (
    cli_environment,
    read_history,
    read_metrics,
    run_cli,
    run_directories,
    stop_process_group,
    sweep_directory,
)

SHORT_MNIST = ["training.epochs=2", "model.hidden_sizes=[32]"]


# --- TensorBoard ------------------------------------------------------------------------------------------


def read_tensorboard(log_dir: Path):
    """{run: {tag: [(step, value)]}} and the HParams plugin's session-start record, read by TensorBoard."""
    import tensorflow as tf
    from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
    from tensorboard.plugins.hparams import plugin_data_pb2

    multiplexer = EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(log_dir))
    multiplexer.Reload()
    scalars, session = {}, None
    for run in multiplexer.Runs():
        accumulator = multiplexer.GetAccumulator(run)
        for tag in accumulator.Tags()["tensors"]:
            if tag == "_hparams_/session_start_info":
                content = accumulator.SummaryMetadata(tag).plugin_data.content
                session = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
                continue
            values = [(event.step, float(tf.make_ndarray(event.tensor_proto))) for event in accumulator.Tensors(tag)]
            scalars.setdefault(run, {})[tag] = values
    return scalars, session


def read_hparams_experiment(log_dir: Path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    accumulator = EventAccumulator(str(log_dir))
    accumulator.Reload()
    content = accumulator.SummaryMetadata("_hparams_/experiment").plugin_data.content
    return plugin_data_pb2.HParamsPluginData.FromString(content).experiment


def test_tensorboard_events_hold_the_history_hparams_and_final_figures(tmp_path):
    result = run_cli(SHORT_MNIST, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_directories(tmp_path)
    history, metrics = read_history(run_dir), read_metrics(run_dir)
    scalars, session = read_tensorboard(run_dir / "tensorboard")
    assert set(scalars) == {".", "train", "validation"}
    for folder, prefix in (("train", ""), ("validation", "val_")):
        for figure in ("loss", "accuracy"):
            logged = scalars[folder][f"epoch_{figure}"]
            assert [step for step, _ in logged] == [1, 2]
            assert [value for _, value in logged] == pytest.approx(
                [float(row[prefix + figure]) for row in history], rel=1e-5
            )
    assert [value for _, value in scalars["train"]["epoch_learning_rate"]] == pytest.approx([0.01, 0.01])
    assert scalars["."]["test_accuracy"] == [(2, pytest.approx(metrics["test_accuracy"]))]
    hparams = {key: getattr(value, value.WhichOneof("kind")) for key, value in session.hparams.items()}
    assert hparams["model.hidden_sizes"] == "[32]" and hparams["optimizer.lr"] == pytest.approx(0.01)
    assert hparams["dataset.name"] == "mnist" and "training.verbose" not in hparams
    assert not (tmp_path / "outputs" / "mlflow.db").exists()  # MLflow only with tracking=mlflow

    (tmp_path / "off").mkdir()
    untracked = run_cli([*SHORT_MNIST, "tracking=none"], cwd=tmp_path / "off")
    assert untracked.returncode == 0 and not (run_directories(tmp_path / "off")[0] / "tensorboard").exists()


# --- MLflow -----------------------------------------------------------------------------------------------


def test_mlflow_sweep_against_a_real_server_reads_back_grouped(tmp_path, mlflow_server):
    from mlflow import MlflowClient

    uri, _ = mlflow_server
    arguments = ["-m", "tracking=mlflow", f"tracking.mlflow.tracking_uri={uri}", "tracking.mlflow.experiment=sweeps"]
    arguments += ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]  # jobs in worker processes find the parent
    result = run_cli([*arguments, *SHORT_MNIST, "model.activation=linear", "optimizer.lr=0.01,1e30"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("sweeps")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    (parent_name,) = [name for name in runs if name.startswith("sweep ")]
    parent = runs.pop(parent_name)
    assert parent.info.status == "FAILED"  # one job diverged
    assert {artifact.path for artifact in client.list_artifacts(parent.info.run_id)} >= {"summary.md", "summary.csv"}
    assert sorted(runs) == ["job 0: optimizer.lr=0.01", "job 1: optimizer.lr=1e+30"]  # named by what the sweep varies
    completed, diverged = (runs[name] for name in sorted(runs))
    for child in (completed, diverged):
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert (completed.info.status, completed.data.tags["fcbaseline.status"]) == ("FINISHED", "completed")
    assert (diverged.info.status, diverged.data.tags["fcbaseline.status"]) == ("FAILED", "diverged")

    params = completed.data.params
    assert params["model.hidden_sizes"] == "[32]" and params["optimizer.lr"] == "0.01"
    assert params["dataset.name"] == "mnist" and params["training.epochs"] == "2"
    history, metrics = read_history(sweep / "0"), read_metrics(sweep / "0")
    logged = client.get_metric_history(completed.info.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in logged] == [
        (i + 1, pytest.approx(float(row["val_accuracy"]), rel=1e-5)) for i, row in enumerate(history)
    ]
    assert completed.data.metrics["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    artifacts = {artifact.path for artifact in client.list_artifacts(completed.info.run_id)}
    assert {"model.keras", "metrics.json", "history.csv", "training_plot.png", "classification_report.txt"} <= artifacts
    assert [a.path for a in client.list_artifacts(completed.info.run_id, ".hydra")] == [
        ".hydra/config.yaml",
        ".hydra/overrides.yaml",
    ]
    downloaded = Path(client.download_artifacts(completed.info.run_id, "metrics.json", str(tmp_path)))
    assert downloaded.read_bytes() == (sweep / "0" / "metrics.json").read_bytes()

    # TensorBoard's HParams experiment for the sweep: the swept key against the figures
    experiment = read_hparams_experiment(sweep)
    assert [info.name for info in experiment.hparam_infos] == ["optimizer.lr"]
    assert ("validation", "epoch_accuracy") in {(m.name.group, m.name.tag) for m in experiment.metric_infos}


def test_mlflow_run_interrupted_then_resumed_is_one_mlflow_run(tmp_path, mlflow_server):
    from mlflow import MlflowClient

    uri, _ = mlflow_server
    tracking = ["tracking=mlflow", f"tracking.mlflow.tracking_uri={uri}"]
    environment = cli_environment()
    command = [sys.executable, "-m", "fcbaseline", *tracking, "training.epochs=30", "model.hidden_sizes=[32]"]
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    history_files = lambda: list((tmp_path / "outputs" / "runs").glob("*/*/history.csv"))  # noqa: E731
    while process.poll() is None and not history_files():
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=300)[0].decode()
    assert process.returncode == 130, output[-3000:]
    (run_dir,) = run_directories(tmp_path)
    client = MlflowClient(uri)
    run_id = (run_dir / "mlflow_run.json").read_text().split('"run_id": "')[1].split('"')[0]
    interrupted = client.get_run(run_id)
    assert interrupted.info.status == "KILLED" and interrupted.data.tags["fcbaseline.status"] == "interrupted"
    epochs_before = len(read_history(run_dir))
    assert epochs_before < 30

    result = run_cli([f"resume={run_dir}", "training.epochs=" + str(epochs_before + 2)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (experiment,) = [e for e in client.search_experiments() if e.name == "fcbaseline"]
    assert len(client.search_runs([experiment.experiment_id])) == 1  # continued, not duplicated
    resumed = client.get_run(run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.tags["fcbaseline.status"] == "completed"
    steps = [m.step for m in client.get_metric_history(run_id, "loss")]
    assert steps == list(range(1, epochs_before + 3))
    assert resumed.data.params["training.epochs"] == "30"  # MLflow parameters are immutable: the first value stays


def test_tracking_server_stopped_mid_sweep_costs_no_run(tmp_path, mlflow_server):
    uri, server = mlflow_server
    environment = cli_environment()
    command = [sys.executable, "-m", "fcbaseline", "-m", "tracking=mlflow", f"tracking.mlflow.tracking_uri={uri}"]
    command += ["training.epochs=3", "model.hidden_sizes=[32],[64],[128]"]
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    first_job = lambda: list((tmp_path / "outputs" / "multirun").glob("*/*/0/mlflow_run.json"))  # noqa: E731
    while process.poll() is None and not first_job():
        time.sleep(0.1)
    stop_process_group(server)  # the server goes away while job 0 trains
    output = process.communicate(timeout=600)[0].decode()
    assert process.returncode == 0, output[-3000:]
    sweep = sweep_directory(tmp_path)
    assert [read_metrics(sweep / job)["status"] for job in "012"] == ["completed"] * 3
    for job in "012":
        assert (sweep / job / "model.keras").is_file() and len(read_history(sweep / job)) == 3
        log = (sweep / job / "fcbaseline.log").read_text()
        assert log.count(f"MLflow tracking at {uri} failed") == 1, log[-2000:]
        assert "Traceback" not in log


def test_mlflow_default_store_is_a_local_sqlite_file_under_outputs(tmp_path):
    pytest.importorskip("mlflow")
    from mlflow import MlflowClient

    result = run_cli(["dataset=digits", "training.epochs=2", "tracking=mlflow"], cwd=tmp_path, data_dir=None)
    assert result.returncode == 0, result.stderr[-3000:]
    client = MlflowClient(f"sqlite:///{tmp_path / 'outputs' / 'mlflow.db'}")  # what `mlflow ui` opens
    (run,) = client.search_runs([client.get_experiment_by_name("fcbaseline").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["dataset.name"] == "digits"
    assert len(client.get_metric_history(run.info.run_id, "val_loss")) == 2
    assert (tmp_path / "outputs" / "mlflow-artifacts").is_dir()  # the files stay beside the store, not in ./mlruns
    assert "model.keras" in {artifact.path for artifact in client.list_artifacts(run.info.run_id)}
    (logged,) = client.search_logged_models(experiment_ids=[run.info.experiment_id])  # in the run's experiment
    assert logged.source_run_id == run.info.run_id
    assert list((tmp_path / "outputs" / "mlflow-artifacts" / "models").glob("*/artifacts/MLmodel"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["keras_home", "outputs"]  # no ./mlruns

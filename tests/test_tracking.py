"""Tracking for real: TensorBoard event files read back with TensorBoard's own reader, a real `mlflow server`
on 127.0.0.1 read back with MLflow's client (also stopped in the middle of a sweep), the progress bar in a
pseudo-terminal, and a console without TensorFlow's start-up chatter."""

import csv
import fcntl
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from fcbaseline import quiet
from fcbaseline.progress import eta_seconds, format_duration, job_label, wants_bar
from fcbaseline.tracking import MLFLOW_STATUS, flatten, hyperparameters, mlflow_params
from fcbaseline.tracking.sweep import sweep_status
from tests.conftest import SHARED_DATA, needs_mnist, read_metrics, run_cli, run_directories

SHORT_MNIST = ["training.epochs=2", "model.hidden_sizes=[32]"]


def read_history(run_dir: Path):
    with open(run_dir / "history.csv") as file:
        return list(csv.DictReader(file))


# --- pure decisions -----------------------------------------------------------------------------------


def test_flatten_and_hyperparameters_leave_out_what_cannot_change_results():
    config = {
        "model": {"hidden_sizes": [256, 128], "dropout": 0.1, "batch_norm": False},
        "optimizer": {"name": "sgd", "lr": 0.01, "schedule": {"name": "constant"}},
        "training": {"verbose": True, "threads": None, "seed": 42},
        "dataset": {"name": "mnist", "data_dir": "/data", "recipe": {"batch_size": 128}},
        "tracking": {"mlflow": {"enabled": True}},
        "resume": None,
    }
    flat = flatten(config)
    assert flat["model.hidden_sizes"] == "[256, 128]" and flat["optimizer.schedule.name"] == "constant"
    assert flat["training.threads"] == "null" and flat["model.batch_norm"] is False
    chosen = hyperparameters(config)
    assert set(chosen) == {
        "model.hidden_sizes",
        "model.dropout",
        "model.batch_norm",
        "optimizer.name",
        "optimizer.lr",
        "optimizer.schedule.name",
        "training.seed",
        "dataset.name",
    }
    assert mlflow_params({"dataset": {"class_names": ["x" * 7000]}})["dataset.class_names"].__len__() == 6000


def test_statuses_map_to_mlflow():
    assert MLFLOW_STATUS == {
        "completed": "FINISHED",
        "pruned": "FINISHED",  # a search's normal outcome
        "diverged": "FAILED",
        "failed": "FAILED",
        "interrupted": "KILLED",
    }
    assert sweep_status(["completed", "completed"]) == "FINISHED"
    assert sweep_status(["completed", "pruned"]) == "FINISHED"
    assert sweep_status(["completed", "diverged"]) == "FAILED"
    assert sweep_status(["completed", "interrupted", "failed"]) == "KILLED"


def test_time_left_and_bar_decisions():
    assert eta_seconds([], 10) is None
    assert eta_seconds([5.0, 1.0, 1.2, 0.8], 10) == pytest.approx(10.0)  # the first (compiling) epoch left out
    assert eta_seconds([3.0], 4) == pytest.approx(12.0)
    assert [format_duration(s) for s in (None, 4.4, 65, 3725)] == ["?", "4s", "1m05s", "1h02m"]
    assert wants_bar(True, True, True, "basic") and wants_bar(True, True, True, "")
    assert not wants_bar(True, True, False, "basic")  # output to a file or a pipe
    assert not wants_bar(True, True, True, "joblib")  # parallel workers would draw over each other
    assert not wants_bar(False, True, True, "basic") and not wants_bar(True, False, True, "basic")
    assert job_label("mnist", None, None) == "mnist" and job_label("mnist", 2, 8) == "job 3/8 mnist"


def test_quiet_filter_drops_only_the_start_up_chatter():
    caught = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796027455.854153    2015 port.cc:153] oneDNN custom operations are on. You may see ...\n"
        "I0000 00:00:1796027455.855176    2015 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
        "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with "
        "the appropriate compiler flags.\n"
        "E0000 00:00:1796027455.9 2015 some_op.cc:12] a real error\n"
        "/x.py:3: UserWarning: something the user should see\n"
    )
    assert quiet.keep(caught).splitlines() == [
        "E0000 00:00:1796027455.9 2015 some_op.cc:12] a real error",
        "/x.py:3: UserWarning: something the user should see",
    ]


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


@needs_mnist
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` (SQLite store, artifacts served by it) on 127.0.0.1; stopped by process id."""
    pytest.importorskip("mlflow")
    port, folder = free_port(), tmp_path / "mlflow_server"
    folder.mkdir()
    command = [
        str(Path(sys.executable).parent / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'mlflow.db'}",
        "--artifacts-destination",
        str(folder / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(uri, server, folder / "server.log")
        yield uri, server
    finally:
        stop_process_group(server)
        log.close()


def wait_for_health(uri: str, server, log_path: Path) -> None:
    import urllib.request

    for _ in range(240):
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow server did not answer at {uri}: {log_path.read_text()[-2000:]}")


def stop_process_group(process) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # the server and its uvicorn workers, started by this test
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def sweep_directory(cwd: Path) -> Path:
    (sweep,) = (cwd / "outputs" / "multirun").glob("*/*")
    return sweep


@needs_mnist
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


@needs_mnist
def test_mlflow_run_interrupted_then_resumed_is_one_mlflow_run(tmp_path, mlflow_server):
    from mlflow import MlflowClient

    uri, _ = mlflow_server
    tracking = ["tracking=mlflow", f"tracking.mlflow.tracking_uri={uri}"]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    environment["FCBASELINE_DATA_DIR"] = str(SHARED_DATA)
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


@needs_mnist
def test_tracking_server_stopped_mid_sweep_costs_no_run(tmp_path, mlflow_server):
    uri, server = mlflow_server
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    environment["FCBASELINE_DATA_DIR"] = str(SHARED_DATA)
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


def test_mlflow_missing_is_a_config_error_naming_the_extra(monkeypatch):
    import importlib.util

    from fcbaseline.config import ConfigError, validate
    from tests.conftest import compose_config

    config = compose_config(["tracking=mlflow"])
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real_find_spec(name, *a)
    )
    with pytest.raises(ConfigError, match=r"pip install -e '\.\[mlflow\]'.*tracking=tensorboard"):
        validate(config)
    validate(compose_config(["tracking=tensorboard"]))


# --- the console ------------------------------------------------------------------------------------------


def test_console_has_no_tensorflow_start_up_chatter_unless_asked(tmp_path):
    arguments = ["dataset=digits", "training.epochs=1"]
    quiet_run = run_cli(arguments, cwd=tmp_path, data_dir=None)
    assert quiet_run.returncode == 0, quiet_run.stderr[-3000:]
    console = quiet_run.stdout + quiet_run.stderr
    for chatter in ("absl::InitializeLog", "oneDNN custom operations", "cudart_stub", "cpu_feature_guard"):
        assert chatter not in console
    assert re.search(r"epoch 1/1 .* elapsed \d+s  left 0s", console)
    first_line = (quiet_run.stdout or quiet_run.stderr).splitlines()[0]
    assert "[fcbaseline]" in first_line

    (tmp_path / "loud").mkdir()
    loud = run_cli(arguments, cwd=tmp_path / "loud", data_dir=None, extra_environment={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert loud.returncode == 0 and "oneDNN custom operations" in loud.stdout + loud.stderr  # all of it, when asked


def run_in_terminal(arguments, cwd: Path, columns=120):
    """Run the CLI with a pseudo-terminal (of a real size) as its stdout and stderr; returns its output."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "fcbaseline", *arguments], cwd=cwd, env=environment, stdout=follower, stderr=follower
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        output += chunk
    process.wait(timeout=300)
    os.close(leader)
    return process.returncode, output.decode(errors="replace")


def test_progress_bar_in_a_terminal_and_plain_lines_elsewhere(tmp_path):
    code, output = run_in_terminal(["dataset=digits", "training.epochs=3"], cwd=tmp_path)
    assert code == 0, output[-3000:]
    assert re.search(r"digits: 100%\|[^\r\n]*\| 3/3 \[", output), output[-3000:]
    assert "epoch 3/3" in output  # the log lines still scroll above the bar

    (tmp_path / "sweep").mkdir()
    code, output = run_in_terminal(
        ["-m", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[16],[32]"], cwd=tmp_path / "sweep"
    )
    assert code == 0, output[-3000:]
    assert re.search(r"job 2/2 digits: 100%", output), output[-3000:]

    piped = run_cli(["dataset=digits", "training.epochs=3"], cwd=tmp_path / "sweep", data_dir=None)
    assert piped.returncode == 0 and "%|" not in piped.stdout + piped.stderr

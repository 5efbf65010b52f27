"""Interrupt real MNIST runs with SIGINT, SIGTERM and SIGKILL mid-way, resume them, and compare."""

import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import SHARED_DATA, needs_mnist, read_metrics, run_cli

EPOCHS = 5
ARGUMENTS = [f"training.epochs={EPOCHS}", "model.hidden_sizes=[64]"]


def history_rows(run_directory):
    with open(run_directory / "history.csv", newline="") as file:
        return [{key: value for key, value in row.items() if key != "seconds"} for row in csv.DictReader(file)]


def start_and_stop(run_directory, stop_signal, after_epoch):
    """Start a run, send `stop_signal` once `after_epoch` epochs are in its log, wait for the exit."""
    environment = {**os.environ, "FCBASELINE_DATA_DIR": str(SHARED_DATA), "KERAS_HOME": str(run_directory.parent / "k")}
    process = subprocess.Popen(
        [sys.executable, "-m", "fcbaseline", *ARGUMENTS, f"hydra.run.dir={run_directory}"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = run_directory / "fcbaseline.log"
    deadline = time.time() + 300
    while f"epoch {after_epoch}/{EPOCHS}" not in (log.read_text() if log.exists() else ""):
        assert process.poll() is None and time.time() < deadline, "the run ended before it could be interrupted"
        time.sleep(0.05)
    process.send_signal(stop_signal)
    return process.wait(timeout=300)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    result = run_cli([*ARGUMENTS, f"hydra.run.dir={folder / 'run'}"], cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    return history_rows(folder / "run")


@needs_mnist
@pytest.mark.parametrize(
    "stop_signal, exit_code, status",
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "interrupted"), (signal.SIGKILL, -9, "running")],
    ids=["SIGINT", "SIGTERM", "SIGKILL"],
)
def test_interrupted_run_resumes_to_the_same_history(tmp_path, uninterrupted, stop_signal, exit_code, status):
    run_directory = tmp_path / "run"
    assert start_and_stop(run_directory, stop_signal, after_epoch=2) == exit_code
    metrics = read_metrics(run_directory)
    assert metrics["status"] == status  # SIGKILL leaves no chance to write: the status still says running
    assert (run_directory / "checkpoint.npz").is_file()
    if stop_signal != signal.SIGKILL:  # a clean stop also writes the report, history and plot so far
        done = history_rows(run_directory)
        assert 2 <= len(done) < EPOCHS and done == uninterrupted[: len(done)]
        assert (run_directory / "training_plot.png").is_file()

    # both ways of naming the run to resume: the directory itself, or resume=true with hydra.run.dir
    resume_arguments = ["resume=true", f"hydra.run.dir={run_directory}"] if stop_signal == signal.SIGTERM else []
    result = run_cli(resume_arguments or [f"resume={run_directory}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    resumed = history_rows(run_directory)
    assert [int(row["epoch"]) for row in resumed] == list(range(1, EPOCHS + 1))  # every epoch exactly once
    assert resumed == uninterrupted  # same seed, restored weights, optimizer and batch order: the same numbers
    final = read_metrics(run_directory)
    assert final["status"] == "completed" and final["epochs_run"] == EPOCHS
    assert final["test_accuracy"] == pytest.approx(float(uninterrupted[-1]["val_accuracy"]), abs=1e-5)


def test_resume_refuses_a_directory_without_a_checkpoint_and_leaves_it_alone(tmp_path):
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = run_cli([f"resume={folder}"], cwd=tmp_path, data_dir=None)
    assert result.returncode == 2
    assert "there is no checkpoint.npz" in result.stdout + result.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["fcbaseline.log", "notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine"


def test_resume_refuses_a_different_config_and_keeps_the_run_record(tmp_path):
    first = run_cli(["dataset=digits", "training.epochs=2", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert first.returncode == 0
    saved_config = (tmp_path / "run" / ".hydra" / "config.yaml").read_text()
    result = run_cli([f"resume={tmp_path / 'run'}", "dataset=mnist"], cwd=tmp_path)
    assert result.returncode == 2 and "differs from the interrupted run's in dataset" in result.stdout + result.stderr
    assert (tmp_path / "run" / ".hydra" / "config.yaml").read_text() == saved_config
    assert read_metrics(tmp_path / "run")["status"] == "completed"
    longer = run_cli([f"resume={tmp_path / 'run'}", "training.epochs=4"], cwd=tmp_path)
    assert longer.returncode == 0
    assert [row["epoch"] for row in history_rows(tmp_path / "run")] == ["1", "2", "3", "4"]

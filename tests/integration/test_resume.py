"""Interrupt real MNIST runs with SIGINT, SIGTERM and SIGKILL mid-way, resume them, and compare; resume's
refusals, and a run folder in use refused to a second process."""

import signal
import subprocess
import sys
import time

import pytest

from fcbaseline.rundir import CHECKPOINT
from tests.helpers import cli_environment, history_without_time, needs_cifar10, read_metrics, run_cli

EPOCHS = 5
ARGUMENTS = [f"training.epochs={EPOCHS}", "model.hidden_sizes=[64]"]


def start(run_directory, arguments=ARGUMENTS):
    environment = cli_environment(keras_home=run_directory.parent / "k")
    return subprocess.Popen(
        [sys.executable, "-m", "fcbaseline", *arguments, f"hydra.run.dir={run_directory}"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for_log(process, run_directory, text):
    log = run_directory / "fcbaseline.log"
    deadline = time.time() + 300
    while text not in (log.read_text() if log.exists() else ""):
        assert process.poll() is None and time.time() < deadline, f"the run ended before its log said {text!r}"
        time.sleep(0.02)


def start_and_stop(run_directory, stop_signal, after_epoch, arguments=ARGUMENTS, epochs=EPOCHS):
    """Start a run, send `stop_signal` once `after_epoch` epochs are in its log, wait for the exit."""
    process = start(run_directory, arguments)
    wait_for_log(process, run_directory, f"epoch {after_epoch}/{epochs}")
    process.send_signal(stop_signal)
    return process.wait(timeout=300)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    result = run_cli([*ARGUMENTS, f"hydra.run.dir={folder / 'run'}"], cwd=folder)
    assert result.returncode == 0, result.stderr[-2000:]
    return history_without_time(folder / "run")


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
    assert (run_directory / CHECKPOINT).is_file()
    if stop_signal != signal.SIGKILL:  # a clean stop also writes the report, history and plot so far
        done = history_without_time(run_directory)
        assert 2 <= len(done) < EPOCHS and done == uninterrupted[: len(done)]
        assert (run_directory / "training_plot.png").is_file()

    # both ways of naming the run to resume: the directory itself, or resume=true with hydra.run.dir
    resume_arguments = ["resume=true", f"hydra.run.dir={run_directory}"] if stop_signal == signal.SIGTERM else []
    result = run_cli(resume_arguments or [f"resume={run_directory}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    resumed = history_without_time(run_directory)
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
    assert f"there is no {CHECKPOINT}" in result.stderr
    assert sorted(path.name for path in folder.iterdir()) == ["notes.txt"]  # no log, no lock: left as it was
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
    assert [row["epoch"] for row in history_without_time(tmp_path / "run")] == ["1", "2", "3", "4"]


EVERYTHING = [  # Adam, dropout (random state), a warm-up cosine schedule and early stopping (counters)
    "training.epochs=7",
    "model.hidden_sizes=[64]",
    "optimizer=adam",
    "model.dropout=0.3",
    "optimizer.schedule.name=cosine",
    "optimizer.schedule.warmup_epochs=2",
    "training.callbacks=[early_stopping,model_checkpoint]",
    "training.early_stopping.patience=2",
    "training.early_stopping.min_delta=0.004",
    "training.early_stopping.monitor=val_accuracy",
]


def test_killed_run_with_every_option_resumes_to_the_same_history(tmp_path):
    reference = run_cli([*EVERYTHING, f"hydra.run.dir={tmp_path / 'reference'}"], cwd=tmp_path)
    assert reference.returncode == 0, reference.stderr[-2000:]
    expected = history_without_time(tmp_path / "reference")
    assert len({row["learning_rate"] for row in expected}) == len(expected)  # the schedule moved every epoch
    run_directory = tmp_path / "killed"
    assert start_and_stop(run_directory, signal.SIGKILL, 3, EVERYTHING, 7) == -9
    assert 2 <= len(history_without_time(run_directory)) < len(expected)  # history.csv is written after every epoch
    result = run_cli([f"resume={run_directory}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert history_without_time(run_directory) == expected
    final, first = read_metrics(run_directory), read_metrics(tmp_path / "reference")
    for key in ("test_accuracy", "test_loss", "model_epoch", "epochs_run", "best_val_epoch"):
        assert final[key] == first[key], key


def test_a_second_process_cannot_use_a_running_runs_folder(tmp_path):
    run_directory = tmp_path / "run"
    process = start(run_directory, ["training.epochs=50", "model.hidden_sizes=[32]"])
    try:
        wait_for_log(process, run_directory, "epoch 1/50")
        before = {path.name: path.read_bytes() for path in (run_directory / ".hydra").iterdir()}
        for arguments in ([f"resume={run_directory}"], ["dataset=digits", f"hydra.run.dir={run_directory}"]):
            refused = run_cli(arguments, cwd=tmp_path)
            assert refused.returncode == 2, refused.stderr[-2000:]
            assert f"{run_directory} is in use by process {process.pid}" in refused.stderr
        assert {path.name: path.read_bytes() for path in (run_directory / ".hydra").iterdir()} == before
        assert read_metrics(run_directory)["status"] == "running" and process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_a_signal_before_the_first_epoch_leaves_a_resumable_run(tmp_path):
    run_directory = tmp_path / "run"
    process = start(run_directory)
    wait_for_log(process, run_directory, "training and 10000 test images")  # data loaded, TensorFlow starting
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=300) == 143
    assert read_metrics(run_directory)["status"] == "interrupted"
    assert not (run_directory / CHECKPOINT).exists()
    result = run_cli([f"resume={run_directory}"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_metrics(run_directory)["status"] == "completed"
    assert len(history_without_time(run_directory)) == EPOCHS


@needs_cifar10
def test_a_second_signal_stops_at_once(tmp_path):
    run_directory = tmp_path / "run"
    process = start(run_directory, ["training.epochs=50", "dataset=cifar10", "training.batch_size=8"])
    wait_for_log(process, run_directory, "training:")  # an epoch of several seconds is under way
    process.send_signal(signal.SIGINT)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    assert read_metrics(run_directory)["status"] == "interrupted"
    assert "epoch 1/50" not in (run_directory / "fcbaseline.log").read_text()  # it did not wait for the epoch

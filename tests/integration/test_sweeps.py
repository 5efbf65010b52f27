"""Real Hydra multiruns in a subprocess: summary, failure isolation, divergence, resume, seeds, validation
splits, Ctrl-C, and the launchers (joblib, Ray, a Ray cluster, submitit's local executor). Optuna
searches: test_search.py."""

import csv
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fcbaseline.commands import summarize
from tests.helpers import cli_environment, read_metrics, run_cli, summary_rows, sweep_directory


def test_failed_job_is_isolated_summarized_and_rerun_alone_on_resume(tmp_path):
    sweep_arguments = ["-m", "training.epochs=1", "model.activation=relu"]
    result = run_cli([*sweep_arguments, "model.hidden_sizes=[64],[0],[32]"], cwd=tmp_path)
    assert result.returncode == 1  # the sweep finished, and says that a job failed
    assert "Jobs not completed: 1" in result.stderr
    sweep = sweep_directory(tmp_path)
    rows = summary_rows(sweep)
    assert {row["job"]: row["status"] for row in rows} == {"0": "completed", "1": "failed", "2": "completed"}
    assert [row["job"] for row in rows][-1] == "1"  # best first, failures last
    assert all(float(row["test_accuracy"]) > 0.8 for row in rows if row["status"] == "completed")
    failed = read_metrics(sweep / "1")
    assert "model.hidden_sizes[0]=0" in failed["error"] and "Traceback" in failed["traceback"]
    for name in ("summary.md", "summary.png"):
        assert (sweep / name).is_file()
    summary = (sweep / "summary.md").read_text()  # the job table names each job by what the sweep varies
    assert "| 1 | model.hidden_sizes=[0] | failed |" in summary
    assert "Every job has: `training.epochs=1` `model.activation=relu`" in summary
    finished = {job: (sweep / job / "model.keras").stat().st_mtime_ns for job in ("0", "2")}

    # keys that cannot change a result (how loud, how many threads, tracking) do not rerun completed jobs
    quieter = ["training.verbose=false", "training.threads=2", "tracking=none"]
    resumed = run_cli(
        [*sweep_arguments, *quieter, "model.hidden_sizes=[64],[16],[32]", f"resume={sweep}"], cwd=tmp_path
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (
        resumed.stdout.count("already completed with this config")
        + resumed.stderr.count("already completed with this config")
        == 2
    )
    assert {job: (sweep / job / "model.keras").stat().st_mtime_ns for job in ("0", "2")} == finished
    assert sorted(path.name for path in sweep.iterdir() if path.is_dir()) == ["0", "1", "2"]  # no renumbering
    assert {row["job"]: row["status"] for row in summary_rows(sweep)} == {j: "completed" for j in "012"}
    assert read_metrics(sweep / "1")["architecture"] == "784-16-10 relu"
    assert "model.hidden_sizes=[16]" in (sweep / "1" / ".hydra" / "overrides.yaml").read_text()


def test_diverging_job_stops_early_with_its_report(tmp_path):
    result = run_cli(
        ["-m", "dataset=digits", "training.epochs=5", "model.activation=linear", "optimizer.lr=1e30,0.01"],
        cwd=tmp_path,
        data_dir=None,
    )
    assert result.returncode == 0, result.stderr[-3000:]  # diverging is a result, not a crash
    sweep = sweep_directory(tmp_path)
    statuses = {row["job"]: row["status"] for row in summary_rows(sweep)}
    assert statuses == {"0": "diverged", "1": "completed"}
    diverged = read_metrics(sweep / "0")
    assert diverged["epochs_run"] == 1 and diverged["test_loss"] is None  # NaN is written as null
    for name in ("history.csv", "training_plot.png", "classification_report.txt"):
        assert (sweep / "0" / name).is_file()

    resumed = run_cli(
        [
            "-m",
            "dataset=digits",
            "training.epochs=5",
            "model.activation=linear",
            "optimizer.lr=1e30,0.01",
            f"resume={sweep}",
        ],
        cwd=tmp_path,
        data_dir=None,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    log = resumed.stdout + resumed.stderr
    assert "job 0: already diverged with this config; kept as it is" in log  # final: not retrained every time
    assert "job 1: already completed with this config; kept as it is" in log


def test_summarize_command_rebuilds_and_reports_killed_jobs(tmp_path):
    result = run_cli(
        ["-m", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[16],[32]"], cwd=tmp_path, data_dir=None
    )
    assert result.returncode == 0
    sweep = sweep_directory(tmp_path)
    # a job killed outright leaves metrics.json saying "running", written by a process that is gone
    metrics_path = sweep / "1" / "metrics.json"
    metrics_path.write_text(metrics_path.read_text().replace('"status": "completed"', '"status": "running"'))
    (sweep / "summary.csv").unlink()
    assert summarize.main([str(sweep), str(sweep)]) == 0
    assert {row["job"]: row["status"] for row in summary_rows(sweep)} == {"0": "completed", "1": "killed"}
    assert summarize.main([str(tmp_path / "no_such_sweep")]) == 2
    (sweep / "summary.md").unlink()
    command = run_cli(["summarize", str(sweep)], cwd=tmp_path, data_dir=None)  # the same from the command line
    assert command.returncode == 0, command.stderr[-3000:]
    assert "2 jobs summarized" in command.stdout
    assert "model.hidden_sizes=[32] | killed |" in (sweep / "summary.md").read_text()


def test_joblib_launcher_runs_jobs_in_parallel_with_capped_threads(tmp_path):
    result = run_cli(
        [
            "-m",
            "hydra/launcher=joblib",
            "hydra.launcher.n_jobs=2",
            "dataset=digits",
            "training.epochs=3",
            "model.hidden_sizes=[16],[32],[64],[128]",
        ],
        cwd=tmp_path,
        data_dir=None,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    jobs = [read_metrics(sweep / str(job)) for job in range(4)]
    assert all(job["status"] == "completed" for job in jobs)
    assert {job["threads"] for job in jobs} == {1}  # 2 cores / 2 jobs at once
    assert len({job["pid"] for job in jobs}) >= 2  # really more than one process
    assert len(summary_rows(sweep)) == 4


def test_ray_launcher_on_a_local_ray_instance(tmp_path):
    result = run_cli(
        ["-m", "hydra/launcher=ray", "dataset=digits", "training.epochs=3", "model.hidden_sizes=[16],[32]"],
        cwd=tmp_path,
        data_dir=None,
        extra_environment={"RAY_USAGE_STATS_ENABLED": "0"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    rows = summary_rows(sweep)
    assert {row["status"] for row in rows} == {"completed"} and len(rows) == 2
    assert {read_metrics(sweep / job)["threads"] for job in ("0", "1")} == {1}  # one CPU per Ray task


def test_ray_cluster_launcher_joins_a_running_cluster(tmp_path):
    """`ray start --head` stands in for a cluster; hydra/launcher=ray_cluster joins it by address."""
    ray = str(Path(sys.executable).parent / "ray")
    started = subprocess.run(
        [ray, "start", "--head", "--num-cpus", "2", "--disable-usage-stats"],
        capture_output=True,
        text=True,
    )
    assert started.returncode == 0, started.stderr[-2000:]
    try:
        result = run_cli(
            ["-m", "hydra/launcher=ray_cluster", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[16],[32]"],
            cwd=tmp_path,
            data_dir=None,
        )
    finally:
        subprocess.run([ray, "stop", "--force"], capture_output=True)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Connecting to existing Ray cluster" in output
    assert {row["status"] for row in summary_rows(sweep_directory(tmp_path))} == {"completed"}


def test_seed_sweep_summary_has_the_aggregated_rows(tmp_path):
    sweep = ["-m", "dataset=digits", "training.epochs=2", "model.hidden_sizes=[16],[32]", "training.seed=range(3)"]
    result = run_cli(sweep, cwd=tmp_path, data_dir=None)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = (sweep_directory(tmp_path) / "summary.md").read_text()
    section = summary.split("## Seeds and folds aggregated")[1]
    rows = [line for line in section.splitlines() if line.startswith("| model.hidden_sizes=")]  # only what varies
    assert len(rows) == 2 and all("| 3 |" in line and " [" in line for line in rows)
    assert rows[0].endswith("| best |") and rows[1].split("|")[-2].strip() in ("yes", "no")
    assert "Every job has: `dataset=digits` `training.epochs=2`" in summary.split("## Seeds")[0]
    assert len([line for line in summary.split("## Seeds")[0].splitlines() if line.startswith("| ")]) == 1 + 6


def test_sweeps_choose_on_a_validation_split_unless_told_and_then_say_so(tmp_path):
    result = run_cli(
        ["-m", "dataset=digits", "training.epochs=1", "model.hidden_sizes=[16],[32]"], cwd=tmp_path, data_dir=None
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    for job in ("0", "1"):
        metrics = read_metrics(sweep / job)
        assert metrics["validation"] == "split"  # training.validation=auto in a sweep
        assert (metrics["training_samples"], metrics["validation_samples"]) == (1212, 135)  # 90% / 10% of 1,347
    assert (sweep / "summary.md").read_text().startswith("# Sweep summary")
    assert {row["validation"] for row in summary_rows(sweep)} == {"split"}

    (tmp_path / "insisted").mkdir()
    insisted = ["-m", "dataset=digits", "training.epochs=1", "model.hidden_sizes=[16],[32]", "training.validation=test"]
    result = run_cli(insisted, cwd=tmp_path / "insisted", data_dir=None)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = (sweep_directory(tmp_path / "insisted") / "summary.md").read_text()
    assert summary.splitlines()[0].startswith("**This ranking used the test set**: 2 of 2 jobs")

    single = run_cli(["dataset=digits", "training.epochs=1"], cwd=tmp_path / "insisted", data_dir=None)
    assert single.returncode == 0
    (run,) = (tmp_path / "insisted" / "outputs" / "runs").glob("*/*")
    assert read_metrics(run)["validation"] == "test"  # a single run keeps the recipes' own way


@pytest.mark.parametrize(
    "launcher", [[], ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"]], ids=["in_process", "joblib"]
)
def test_ctrl_c_in_a_sweep_finishes_the_epoch_skips_the_rest_summarizes_and_says_how_to_resume(tmp_path, launcher):
    environment = cli_environment()
    arguments = ["-m", *launcher, "training.epochs=12", "model.hidden_sizes=[32],[64],[96]"]
    command = [sys.executable, "-m", "fcbaseline", *arguments]
    # its own process group, as a terminal's Ctrl-C reaches the command and the launcher's workers
    process = subprocess.Popen(
        command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    running = ["0", "1"] if launcher else ["0"]  # in training when the signal comes
    while process.poll() is None and not all(
        list((tmp_path / "outputs" / "multirun").glob(f"*/*/{job}/history.csv")) for job in running
    ):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.communicate(timeout=300)[1].decode()
    assert process.returncode == 130, stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    statuses = {row["job"]: row["status"] for row in summary_rows(sweep)}
    assert statuses == {
        **{job: "interrupted" for job in running},
        **{job: "not_started" for job in "012" if job not in running},
    }
    with open(sweep / "0" / "history.csv") as file:
        assert 1 <= len(list(csv.DictReader(file))) < 12 and (sweep / "0" / "checkpoint.npz").is_file()
    hint = "python -m fcbaseline " + " ".join(shlex.quote(argument) for argument in arguments) + f" resume={sweep}"
    assert hint in stderr and "Traceback" not in stderr
    assert not (sweep / ".interrupted").exists()  # the stop's record is gone with the sweep

    resumed = run_cli(shlex.split(hint)[3:], cwd=tmp_path)  # the printed command, as given
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {row["status"] for row in summary_rows(sweep)} == {"completed"}
    assert "resuming after epoch" in (sweep / "0" / "fcbaseline.log").read_text()  # job 0 continued, not redone


def test_job_folders_a_resumed_sweep_does_not_define_are_reported_apart(tmp_path):
    first = ["-m", "dataset=digits", "training.epochs=1", "model.hidden_sizes=[16],[32],[0]"]
    assert run_cli(first, cwd=tmp_path, data_dir=None).returncode == 1  # job 2 fails
    sweep = sweep_directory(tmp_path)
    smaller = ["-m", "dataset=digits", "training.epochs=1", "model.hidden_sizes=[16],[32]", f"resume={sweep}"]
    resumed = run_cli(smaller, cwd=tmp_path, data_dir=None)
    assert resumed.returncode == 0, resumed.stderr[-3000:]  # job 2 is not this sweep's failure
    assert [row["job"] for row in summary_rows(sweep)] in (["0", "1"], ["1", "0"])
    summary = (sweep / "summary.md").read_text()
    assert "2 jobs: 2 completed." in summary
    assert "## Job folders this sweep does not define" in summary
    assert "- 2: dataset=digits training.epochs=1 model.hidden_sizes=[0] (failed)" in summary


def test_submitit_local_launcher_runs_summarizes_and_resumes(tmp_path):
    arguments = ["-m", "hydra/launcher=submitit_local", "dataset=digits", "training.epochs=2", "tracking=none"]
    result = run_cli([*arguments, "model.hidden_sizes=[16],[32],[64]"], cwd=tmp_path, data_dir=None)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = sweep_directory(tmp_path)
    jobs = [read_metrics(sweep / str(job)) for job in range(3)]
    assert {job["status"] for job in jobs} == {"completed"} and len(summary_rows(sweep)) == 3
    assert len({job["pid"] for job in jobs}) == 3 and os.getpid() not in {job["pid"] for job in jobs}
    assert {job["threads"] for job in jobs} == {1}  # three jobs at once on this machine's 2 cores
    assert list((sweep / ".submitit").glob("*/*_log.out"))  # really run by submitit
    models = {job: (sweep / str(job) / "model.keras").stat().st_mtime_ns for job in range(3)}
    resumed = run_cli(
        [*arguments, "training.verbose=false", "model.hidden_sizes=[16],[32],[64]", f"resume={sweep}"],
        cwd=tmp_path,
        data_dir=None,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {job: (sweep / str(job) / "model.keras").stat().st_mtime_ns for job in range(3)} == models
    assert "already completed with this config" in (sweep / "0" / "fcbaseline.log").read_text()

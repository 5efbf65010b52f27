"""fcbaseline's Optuna sweeper in real searches in a subprocess: pruning, Ctrl-C and resume to n_trials,
two searches sharing one storage with parallel trials, and the study opened by Optuna's own API from a
fresh process. Its pure decisions: tests/unit/test_search.py."""

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.helpers import cli_environment, read_metrics, run_cli, summary_rows, sweep_directory


def trials_of(sweep, study_name="fcbaseline"):
    """The study as a fresh process sees it, through Optuna's own API only."""
    script = (
        "import json, optuna, sys\n"
        "study = optuna.load_study(study_name=sys.argv[1], storage=sys.argv[2])\n"
        "print(json.dumps([{'number': t.number, 'state': t.state.name, 'value': t.value, 'params': t.params,\n"
        "                   'attrs': t.user_attrs, 'steps': sorted(t.intermediate_values)} for t in study.trials]))\n"
    )
    storage = sweep if str(sweep).startswith("sqlite:") else f"sqlite:///{sweep}/optuna.db"
    found = subprocess.run([sys.executable, "-c", script, study_name, storage], capture_output=True, text=True)
    assert found.returncode == 0, found.stderr[-2000:]
    return json.loads(found.stdout)


SEARCH = [  # 6 trials of a small MNIST MLP over lr; a trial worse than the median at an epoch stops
    "-m",
    "hparams_search=mnist_optuna",
    "hydra.sweeper.study_name=fcbaseline",
    "hydra.sweeper.n_trials=6",
    "hydra.sweeper.sampler.name=random",
    "hydra.sweeper.pruner.median.n_startup_trials=1",
    "hydra.sweeper.pruner.median.n_warmup_steps=0",
    "optimizer.lr=tag(log, interval(0.0001, 0.5))",
    "model.hidden_sizes=[64]",
    "model.activation=relu",
    "training.batch_size=256",
    "training.epochs=10",
    "tracking=none",
]


def test_search_prunes_is_interrupted_by_ctrl_c_and_resumes_to_its_trial_count(tmp_path):
    environment = cli_environment()
    process = subprocess.Popen(
        [sys.executable, "-m", "fcbaseline", *SEARCH],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a terminal's Ctrl-C reaches it
    )
    while process.poll() is None and not list((tmp_path / "outputs" / "multirun").glob("*/*/0/history.csv")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # the first trial is in training (and never pruned: nothing to compare)
    stderr = process.communicate(timeout=300)[1].decode()
    assert process.returncode == 130, stderr[-3000:]
    [sweep] = [path.parent.parent for path in (tmp_path / "outputs" / "multirun").glob("*/*/0/history.csv")]
    assert read_metrics(sweep / "0")["status"] == "interrupted" and (sweep / "0" / "checkpoint.npz").is_file()
    [trial] = trials_of(sweep)
    assert trial["state"] == "RUNNING" and trial["attrs"]["fcbaseline.job"] == 0  # left open for the resume
    hint = next(line.strip() for line in stderr.splitlines() if line.strip().startswith("python -m fcbaseline"))
    assert hint.endswith(f"resume={sweep}") and "Traceback" not in stderr

    resumed = run_cli(shlex.split(hint)[3:], cwd=tmp_path)  # the printed command, as given
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resuming after epoch" in (sweep / "0" / "fcbaseline.log").read_text()  # continued, not redone
    trials = trials_of(sweep)
    assert len(trials) == 6 and {trial["state"] for trial in trials} <= {"COMPLETE", "PRUNED"}
    jobs = {trial["attrs"]["fcbaseline.job"]: trial for trial in trials}
    assert sorted(jobs) == list(range(6))
    pruned = [job for job, trial in jobs.items() if trial["state"] == "PRUNED"]
    assert pruned, "the seeded draws include learning rates far below the best: the pruner stops those"
    for job, trial in jobs.items():
        metrics = read_metrics(sweep / str(job))
        assert metrics["validation"] == "split"  # the test set never chooses
        assert trial["steps"] == list(range(1, metrics["epochs_run"] + 1))  # val accuracy reported every epoch
        if trial["state"] == "PRUNED":
            assert metrics["status"] == "pruned" and metrics["epochs_run"] < 10
        else:
            assert metrics["status"] == "completed" and trial["value"] == pytest.approx(metrics["model_val_accuracy"])
    statuses = {row["job"]: row["status"] for row in summary_rows(sweep)}
    assert {statuses[str(job)] for job in pruned} == {"pruned"}
    best = yaml.safe_load((sweep / "optuna_best.yaml").read_text())
    completed = [trial for trial in trials if trial["state"] == "COMPLETE"]
    assert best["model_val_accuracy"] == max(trial["value"] for trial in completed)
    assert best["job_folder"] == str(sweep / str(best["best_trial"]))  # one job per trial, in order here
    with open(sweep / "optuna_trials.csv", newline="") as file:
        table = list(csv.DictReader(file))
    assert [row["state"] for row in table] == [trial["state"].lower() for trial in trials]

    # the study is complete: the same command again launches nothing, and pruned jobs are final
    before = {job: (sweep / str(job) / "metrics.json").stat().st_mtime_ns for job in jobs}
    again = run_cli(shlex.split(hint)[3:], cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(trials_of(sweep)) == 6
    assert {job: (sweep / str(job) / "metrics.json").stat().st_mtime_ns for job in jobs} == before


def test_two_searches_share_one_storage_with_parallel_trials(tmp_path):
    """One search runs two trials at a time in joblib workers, another beside it, one study between them."""
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    common = [
        "-m",
        "hparams_search=mnist_optuna",
        "dataset=digits",
        f"hydra.sweeper.storage={storage}",
        "hydra.sweeper.n_trials=6",
        "training.epochs=3",
        "tracking=none",
    ]
    parallel = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2"]
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    environment.pop("FCBASELINE_DATA_DIR", None)
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "fcbaseline", *common, *extra],
            cwd=folder,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for folder, extra in zip(folders, (parallel, []))
    ]
    outputs = [process.communicate(timeout=600)[1].decode() for process in processes]
    for process, output in zip(processes, outputs):
        assert process.returncode == 0, output[-3000:]
    trials = trials_of(storage, "mnist_mlp")
    # n_trials counts the study's trials; two searches asking at the same moment may add one each
    assert 6 <= len(trials) <= 7 and {trial["state"] for trial in trials} <= {"COMPLETE", "PRUNED"}
    sweeps = [sweep_directory(folder) for folder in folders]
    by_sweep = {str(sweep.resolve()): [] for sweep in sweeps}
    for trial in trials:
        by_sweep[trial["attrs"]["fcbaseline.sweep_dir"]].append(trial["attrs"]["fcbaseline.job"])
    for sweep in sweeps:
        jobs = sorted(by_sweep[str(sweep.resolve())])
        assert jobs and jobs == list(range(len(jobs)))  # each search numbers its own job folders
        assert sorted(int(row["job"]) for row in summary_rows(sweep)) == jobs
    first = [read_metrics(sweeps[0] / str(job)) for job in by_sweep[str(sweeps[0].resolve())]]
    assert len({job["pid"] for job in first}) >= 2 and {job["threads"] for job in first} == {1}  # 2 cores, 2 jobs

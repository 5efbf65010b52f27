"""fcbaseline's Optuna sweeper (fcbaseline/search/): pure decisions, then real searches in a subprocess:
pruning, Ctrl-C and resume to n_trials, two searches sharing one storage with parallel trials, and the
study opened by Optuna's own API from a fresh process. Also submitit's local launcher and the thread budget."""

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time

import optuna
import pytest
import yaml
from hydra.core.override_parser.overrides_parser import OverridesParser

from fcbaseline import threads
from fcbaseline.search import space, study
from tests.conftest import SHARED_DATA, compose_config, needs_mnist, read_metrics, run_cli
from tests.test_sweeps import summary_rows, sweep_directory


def test_search_space_from_the_override_grammar():
    params = {
        "optimizer.lr": "tag(log, interval(0.003, 0.3))",
        "model.hidden_sizes": 'choice("[128]", "[256,128]")',
        "training.batch_size": "range(32, 129, 32)",
        "training.epochs": "5",
    }
    distributions, fixed = space.search_space(params, ["dataset=digits", "optimizer.lr=interval(0.01, 0.1)"])
    assert distributions["model.hidden_sizes"] == optuna.distributions.CategoricalDistribution(["[128]", "[256,128]"])
    assert distributions["training.batch_size"] == optuna.distributions.IntDistribution(32, 128, step=32)
    # the command line wins over the config's entry for the same key
    assert distributions["optimizer.lr"] == optuna.distributions.FloatDistribution(0.01, 0.1)
    assert fixed == ["training.epochs=5", "dataset=digits"]
    log_scale = space.search_space({"optimizer.lr": "tag(log, interval(0.003, 0.3))"}, [])[0]["optimizer.lr"]
    assert log_scale.log and (log_scale.low, log_scale.high) == (0.003, 0.3)
    with pytest.raises(space.SearchSpaceError, match="integer ranges only"):
        space.search_space({"optimizer.lr": "range(0.1, 0.5, 0.1)"}, [])


def test_sampled_values_become_overrides_that_parse_back_to_the_same_value():
    value = 0.1 + 0.2  # no short decimal: the override must carry every digit
    [override] = OverridesParser.create().parse_overrides([space.as_override("optimizer.lr", value)])
    assert override.value() == value
    [override] = OverridesParser.create().parse_overrides([space.as_override("model.hidden_sizes", "[256,128]")])
    assert override.value() == [256, 128]


def test_what_a_job_tells_its_trial():
    assert study.outcome("completed", 0.91) == ("complete", 0.91)
    assert study.outcome("diverged", 0.2) == ("complete", 0.2)  # a poor result, not a broken trial
    assert study.outcome("diverged", float("nan")) == ("fail", None)
    assert study.outcome("pruned", 0.5) == ("pruned", None)
    assert study.outcome("failed", None) == ("fail", None)
    assert study.outcome(None, None) == ("fail", None)  # never wrote its metrics
    for status in ("interrupted", "not_started"):  # left open: resume=<sweep dir> continues the trial
        assert study.outcome(status, 0.5) == ("running", None)


def test_trial_accounting_ownership_and_launch_groups(tmp_path):
    assert study.room(counted_trials=4, n_trials=6) == 2 and study.room(7, 6) == 0
    assert study.consecutive_runs([3, 4, 7, 8, 10]) == [[3, 4], [7, 8], [10]]
    mine = {study.SWEEP_ATTRIBUTE: str(tmp_path.resolve()), study.JOB_ATTRIBUTE: 4}
    assert study.own_job(mine, tmp_path) == 4
    assert study.own_job({**mine, study.SWEEP_ATTRIBUTE: "/elsewhere"}, tmp_path) is None
    assert study.storage_url(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/optuna.db"
    assert study.storage_url("sqlite:///shared.db", tmp_path) == "sqlite:///shared.db"


def test_samplers_and_pruners_by_name_with_clear_refusals():
    pruner = study.make_pruner({"name": "median", "median": {"n_startup_trials": 2, "n_warmup_steps": 1}})
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert isinstance(study.make_pruner({"name": "none"}), optuna.pruners.NopPruner)
    with pytest.raises(study.SearchConfigError, match="hydra.sweeper.pruner.name=medain is not one of median"):
        study.make_pruner({"name": "medain"})
    with pytest.raises(study.SearchConfigError, match=r"hydra.sweeper.pruner.median .*patience"):
        study.make_pruner({"name": "median", "median": {"patience": 3}})
    # a resumed search draws on from seed + trials so far, instead of repeating its first draws
    first = study.make_sampler({"name": "random", "seed": 42}, trials_so_far=0)
    later = study.make_sampler({"name": "random", "seed": 42}, trials_so_far=3)
    distribution = optuna.distributions.FloatDistribution(0, 1)
    draws = [sampler.sample_independent(None, None, "x", distribution) for sampler in (first, later)]
    assert draws[0] != draws[1]


def test_thread_budget_follows_the_launcher_target_and_the_jobs_running_at_once():
    joblib = {"_target_": threads.JOBLIB, "n_jobs": -1}
    assert threads.budget(None, joblib, jobs_per_batch=2, cores=16) == 8  # two jobs on 16 cores: 8 each
    assert threads.budget(None, {**joblib, "n_jobs": 4}, jobs_per_batch=10, cores=16) == 4
    assert threads.budget(None, {**joblib, "n_jobs": 4}, jobs_per_batch=10, cores=2) == 1
    assert threads.budget(None, {**joblib, "n_jobs": -2}, jobs_per_batch=None, cores=16) == 1  # 15 workers
    assert threads.budget(3, joblib, jobs_per_batch=2, cores=16) == 3  # training.threads wins
    ray = {"_target_": threads.RAY[0], "ray": {"remote": {"num_cpus": 4}}}
    assert threads.budget(None, ray, jobs_per_batch=8, cores=16) == 4
    local = {"_target_": threads.SUBMITIT_LOCAL, "cpus_per_task": None}
    assert threads.budget(None, local, jobs_per_batch=4, cores=16) == 4
    assert threads.budget(None, {**local, "cpus_per_task": 6}, jobs_per_batch=4, cores=16) == 6
    slurm = {"_target_": threads.SUBMITIT_SLURM, "cpus_per_task": None}
    assert threads.budget(None, slurm, jobs_per_batch=4, cores=16) is None  # SLURM's allocation decides
    basic = {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}
    assert threads.budget(None, basic, jobs_per_batch=8, cores=16) is None  # one job at a time: every core


def test_launcher_configs_are_recognised_by_target_not_name():
    """The SLURM config (conf/hydra/launcher/slurm.yaml) and a user's own joblib config under another
    name get the right budget: the decision reads `_target_`."""
    config = compose_config(["hydra/launcher=slurm", "hydra.launcher.partition=gpu"], return_hydra_config=True)
    launcher = config.hydra.launcher
    assert launcher._target_ == threads.SUBMITIT_SLURM and launcher.partition == "gpu"
    assert threads.budget(None, launcher, jobs_per_batch=4, cores=64) == launcher.cpus_per_task
    config = compose_config(["hydra/launcher=joblib"], return_hydra_config=True)
    renamed = {**dict(config.hydra.launcher), "n_jobs": 2}  # as if saved under conf/hydra/launcher/mine.yaml
    assert threads.budget(None, renamed, jobs_per_batch=6, cores=16) == 8


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


@needs_mnist
def test_search_prunes_is_interrupted_by_ctrl_c_and_resumes_to_its_trial_count(tmp_path):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("HYDRA_")}
    environment["FCBASELINE_DATA_DIR"] = str(SHARED_DATA)
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
            assert metrics["status"] == "completed" and trial["value"] == pytest.approx(metrics["best_val_accuracy"])
    statuses = {row["job"]: row["status"] for row in summary_rows(sweep)}
    assert {statuses[str(job)] for job in pruned} == {"pruned"}
    best = yaml.safe_load((sweep / "optuna_best.yaml").read_text())
    completed = [trial for trial in trials if trial["state"] == "COMPLETE"]
    assert best["best_val_accuracy"] == max(trial["value"] for trial in completed)
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

"""The pure decisions behind runs and sweeps, each with its reasons: what a resumed sweep does with a job,
how many threads a job gets, the XLA cache's flags, the progress line and bar, which console lines are
start-up chatter, what the trackers record as hyper-parameters, where MLflow tracks a run and which MLflow
status a run ends with."""

import pytest
from mlflow.entities import RunStatus

from fcbaseline import quiet, threads, xla_cache
from fcbaseline.progress import eta_seconds, format_duration, job_label, wants_bar
from fcbaseline.resume import sweep_decision
from fcbaseline.rundir import FINAL_STATUSES, Status
from fcbaseline.tracking import MLFLOW_STATUS, flatten, hyperparameters, mlflow_destination, mlflow_params
from fcbaseline.tracking.sweep import sweep_status
from tests.helpers import compose_config

# ---------------------------------------------------------------- resuming a sweep


def test_resume_decisions_say_what_and_why():
    assert sweep_decision(None, False, None) == ("fresh", "not run before")
    assert sweep_decision("not_started", False, []) == ("fresh", "not run before")
    assert sweep_decision("completed", True, []) == ("skip", "already completed with this config; kept as it is")
    assert sweep_decision("diverged", False, [])[0] == "skip"  # final, even without a checkpoint
    assert sweep_decision("pruned", False, [])[0] == "skip"  # the pruner's verdict stands
    assert sweep_decision("interrupted", True, []) == (
        "continue",
        "interrupted after a saved epoch: continues from its checkpoint",
    )
    assert sweep_decision("running", True, [])[0] == "continue"  # killed outright after some epochs
    assert sweep_decision("failed", False, []) == ("fresh", "failed before its first epoch ended: run afresh")
    assert sweep_decision("completed", True, ["model"]) == ("fresh", "its config changed (model): run afresh")
    assert sweep_decision("completed", True, None)[0] == "fresh"  # no record of what it ran with
    assert sweep_decision(Status.COMPLETED, True, []) == sweep_decision("completed", True, [])  # enum or text


# ---------------------------------------------------------------- threads


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


# ---------------------------------------------------------------- the XLA compilation cache


def test_xla_cache_flags_and_cpu_fingerprint():
    assert xla_cache.flags_with_cache("", None) == ""
    assert xla_cache.flags_with_cache("--tf_xla_auto_jit=2", "/c") == "--tf_xla_auto_jit=2 " + xla_cache.FLAG + "=/c"
    mine = xla_cache.FLAG + "=/mine"
    assert xla_cache.flags_with_cache(mine, "/c") == mine  # the user's own choice is kept
    avx512 = "model name\t: Xeon\nflags\t\t: fpu avx512f avx512_bf16\nprocessor\t: 1\n"
    avx2 = "model name\t: Xeon\nflags\t\t: fpu avx2\nprocessor\t: 1\n"
    assert xla_cache.cpu_fingerprint(avx512, "x86_64") != xla_cache.cpu_fingerprint(avx2, "x86_64")
    assert xla_cache.cpu_fingerprint(avx512, "x86_64") == xla_cache.cpu_fingerprint(avx512 + avx512, "x86_64")


# ---------------------------------------------------------------- the console


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


# ---------------------------------------------------------------- tracking


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


# every status a run can end with: a result (completed, diverged, pruned), a stop (interrupted), an error
RUN_ENDINGS = (*FINAL_STATUSES, Status.INTERRUPTED, Status.FAILED)


@pytest.mark.parametrize("status", RUN_ENDINGS, ids=str)
def test_every_way_a_run_ends_is_a_terminal_mlflow_status(status):
    """MLflow's own RunStatus accepts what the run is marked with (set_terminated refuses anything else),
    found also by the plain text metrics.json holds."""
    mlflow_status = RunStatus.from_string(MLFLOW_STATUS[status.value])  # raises for a name MLflow does not know
    assert RunStatus.is_terminated(mlflow_status)
    if status in (Status.COMPLETED, Status.PRUNED):  # results: a pruned trial is a search's normal outcome
        assert mlflow_status == RunStatus.FINISHED
    elif status == Status.INTERRUPTED:  # stopped by the user, resumable: not a failure
        assert mlflow_status == RunStatus.KILLED
    else:  # diverged or failed: MLflow's UI shows them apart from the finished runs
        assert mlflow_status == RunStatus.FAILED


def test_a_sweep_parent_run_status_follows_its_jobs():
    assert sweep_status(["completed", "completed"]) == "FINISHED"
    assert sweep_status(["completed", "pruned"]) == "FINISHED"
    assert sweep_status([Status.COMPLETED, Status.PRUNED]) == "FINISHED"
    assert sweep_status(["completed", "diverged"]) == "FAILED"
    assert sweep_status(["completed", "interrupted", "failed"]) == "KILLED"
    for jobs in (["completed"], ["completed", "diverged"], ["interrupted"]):
        assert RunStatus.is_terminated(RunStatus.from_string(sweep_status(jobs)))


# ---------------------------------------------------------------- splits and a sweep's first job


@pytest.mark.parametrize(
    "counts, fraction, problem",
    [
        ([178] * 10, 0.1, None),
        ([2, 50], 0.5, None),  # 26 held out: one image of the small class on each side
        ([3, 7], 0.4, None),
        ([3, 7], 0.5, None),
        ([3, 7], 0.6, None),
        ([3, 7], 0.3, "the smallest class has 3 of the 10 images, so the fraction must lie in [0.4, 0.6]"),
        ([3, 7], 0.7, "must lie in [0.4, 0.6]"),
        ([1, 50], 0.5, "a class has 1 image(s), too few to put one on each side"),
        ([131] + [135] * 9, 0.001, "must lie in [0.0082, 0.9918]"),
    ],
)
def test_a_split_must_leave_the_smallest_class_on_both_sides(counts, fraction, problem):
    from fcbaseline.data.splits import split_problem

    found = split_problem(counts, fraction)
    assert found is None if problem is None else problem in found
    if problem and "must lie in" in problem:  # the range it states is accepted at both ends
        low, high = (float(bound) for bound in found.split("[")[1].split("]")[0].split(", "))
        assert split_problem(counts, low) is None and split_problem(counts, high) is None


def test_a_sweeps_first_job_is_checked_with_its_first_swept_values():
    from fcbaseline.sweep.lifecycle import first_job_config

    def first(*overrides):  # composed as Hydra composes a multirun's shared config: without the swept values
        shared = [override for override in overrides if "," not in override and "range(" not in override]
        config = compose_config(shared, return_hydra_config=True)
        config.hydra.overrides.task = list(overrides)  # as the command line records them
        return first_job_config(config)

    assert first("optimizer.lr=0.1,-1", "training.seed=5").optimizer.lr == 0.1
    assert first("dataset=arrays", "dataset.file=a.npz,b.npz").dataset.file == "a.npz"
    assert first("training.seed=range(3,6)").training.seed == 3
    assert "hydra" not in first("training.seed=1")
    assert first("dataset=mnist,digits") is None  # a swept group: each job checks its own config


# ---------------------------------------------------------------- where MLflow tracks a run


SERVER, LOCAL = "http://127.0.0.1:5000", ("sqlite:////work/outputs/mlflow.db", "the default, a local store")
MLFLOW_DESTINATIONS = [
    # (config's tracking_uri, config's experiment, environment) -> (uri, why, experiment, why)
    ((None, None, {}), (*LOCAL, "fcbaseline", "the default")),
    (
        (None, None, {"MLFLOW_TRACKING_URI": SERVER, "MLFLOW_EXPERIMENT_NAME": "team"}),
        (SERVER, "MLFLOW_TRACKING_URI", "team", "MLFLOW_EXPERIMENT_NAME"),
    ),
    (
        ("http://other:1", "mine", {"MLFLOW_TRACKING_URI": SERVER, "MLFLOW_EXPERIMENT_NAME": "team"}),
        ("http://other:1", "tracking.mlflow.tracking_uri", "mine", "tracking.mlflow.experiment"),
    ),
    (
        (None, None, {"MLFLOW_EXPERIMENT_ID": "7"}),
        (*LOCAL, "7", "MLFLOW_EXPERIMENT_ID"),
    ),
    (  # MLflow's own order: the name before the id
        (None, None, {"MLFLOW_EXPERIMENT_ID": "7", "MLFLOW_EXPERIMENT_NAME": "team"}),
        (*LOCAL, "team", "MLFLOW_EXPERIMENT_NAME"),
    ),
    (  # empty variables count as unset, as in MLflow
        (None, None, {"MLFLOW_TRACKING_URI": "", "MLFLOW_EXPERIMENT_NAME": ""}),
        (*LOCAL, "fcbaseline", "the default"),
    ),
    (  # a password in the URI is never written down
        (None, None, {"MLFLOW_TRACKING_URI": "https://me:secret@mlflow.example.com/"}),
        ("https://***@mlflow.example.com/", "MLFLOW_TRACKING_URI", "fcbaseline", "the default"),
    ),
]


@pytest.mark.parametrize("given, expected", MLFLOW_DESTINATIONS)
def test_mlflow_destination_follows_the_config_then_the_environment_then_the_default(given, expected):
    from pathlib import Path

    tracking_uri, experiment, environment = given
    settings = {"tracking_uri": tracking_uri, "experiment": experiment}
    record = mlflow_destination(settings, environment, Path("/work")).record()
    keys = ("tracking_uri", "tracking_uri_from", "experiment", "experiment_from")
    assert tuple(record[key] for key in keys) == expected


def test_a_uri_s_user_password_or_token_is_never_written_down():
    from fcbaseline.tracking import redacted, without_password

    assert without_password("https://TOKEN@host:5000/x") == "https://***@host:5000/x"
    assert without_password("sqlite:////work/outputs/mlflow.db") == "sqlite:////work/outputs/mlflow.db"
    message = "API request to https://me:secret@host/api/2.0/mlflow/runs/create failed"
    assert redacted(message, "https://me:secret@host") == message.replace("me:secret@", "***@")
    params = mlflow_params({"tracking": {"mlflow": {"tracking_uri": "http://u:p@h"}}})
    assert params["tracking.mlflow.tracking_uri"] == "http://***@h"


def test_an_experiment_given_by_id_has_no_name_to_create():
    from pathlib import Path

    destination = mlflow_destination({}, {"MLFLOW_EXPERIMENT_ID": "7"}, Path("/work"))
    assert (destination.experiment_id, destination.experiment_name) == ("7", None)


PARENT = {"run_id": "p1", "tracking_uri": "http://127.0.0.1:5999", "experiment_id": "4"}
SWEEP_DESTINATIONS = [
    # (the job's config settings, its environment, the parent's record) -> (uri, uri from, experiment, from)
    ({}, {}, PARENT, ("http://127.0.0.1:5999", "the sweep's parent run", "4", "the sweep's parent run")),
    ({}, {}, {}, ("local", "the default, a local store", "fcbaseline", "the default")),
    (  # the job's own environment wins over its parent
        {},
        {"MLFLOW_TRACKING_URI": SERVER, "MLFLOW_EXPERIMENT_NAME": "team"},
        PARENT,
        (SERVER, "MLFLOW_TRACKING_URI", "team", "MLFLOW_EXPERIMENT_NAME"),
    ),
    (  # and so does its config, key by key
        {"experiment": "mine"},
        {},
        PARENT,
        ("http://127.0.0.1:5999", "the sweep's parent run", "mine", "tracking.mlflow.experiment"),
    ),
    (  # a parent's masked URI cannot be followed: it lacks the password
        {},
        {},
        {**PARENT, "tracking_uri": "https://***@mlflow.example.com/"},
        ("local", "the default, a local store", "fcbaseline", "the default"),
    ),
]


@pytest.mark.parametrize("settings, environment, parent, expected", SWEEP_DESTINATIONS)
def test_a_sweep_s_job_follows_its_parent_run_unless_it_is_told_where(
    settings, environment, parent, expected, tmp_path, monkeypatch
):
    """run_destination is what both the MLflow tracker and metrics.json["mlflow"] use."""
    import json
    from pathlib import Path

    from fcbaseline.rundir import MLFLOW_SWEEP_RECORD
    from fcbaseline.tracking import run_destination

    monkeypatch.chdir(tmp_path)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    if parent:
        (tmp_path / MLFLOW_SWEEP_RECORD).write_text(json.dumps(parent))
    destination, read_parent = run_destination(settings, tmp_path)
    record = destination.record()
    keys = ("tracking_uri", "tracking_uri_from", "experiment", "experiment_from")
    local = f"sqlite:///{Path(tmp_path) / 'outputs' / 'mlflow.db'}"
    expected = tuple(local if value == "local" else value for value in expected)
    assert (tuple(record[key] for key in keys), read_parent) == (expected, parent)

"""The run folder's one owner (rundir.py): metrics.json through a run's lifecycle, with Status written as
plain text; the exit-status table; which keys and overrides name a run; what a sweep job knows."""

import json
import os
import re
import signal
import sys
from pathlib import Path

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from fcbaseline import exits, rundir
from fcbaseline.config import ConfigError
from fcbaseline.config.keys import is_result_free, without_bookkeeping
from fcbaseline.context import RunContext, run_name
from fcbaseline.data import DataError
from fcbaseline.files import FolderBusy, OutputError
from fcbaseline.rundir import ARTIFACTS, METRICS, RunFolder, Status, check_writable
from fcbaseline.sweep import record
from fcbaseline.sweep.record import SweepJob


def test_metrics_json_through_a_runs_lifecycle(tmp_path):
    folder = RunFolder(tmp_path)
    folder.start({"dataset": "digits", "parameters": 10})
    assert json.loads((tmp_path / METRICS).read_text()) == {"status": "running", "dataset": "digits", "parameters": 10}
    try:
        raise ValueError("a bad value")
    except ValueError as error:
        folder.fail(error)
    failed = folder.metrics()
    assert failed["status"] == "failed" and failed["dataset"] == "digits"  # what was recorded stays
    assert failed["error"] == "ValueError: a bad value" and "Traceback" in failed["traceback"]
    folder.interrupt()
    assert folder.status() == Status.INTERRUPTED and folder.metrics()["parameters"] == 10
    folder.finish({"status": Status.COMPLETED, "test_accuracy": float("nan")})
    assert json.loads((tmp_path / METRICS).read_text()) == {"status": "completed", "test_accuracy": None}
    folder.not_started(["a=1"])
    assert folder.metrics() == {"status": "not_started", "overrides": ["a=1"]}


def test_status_is_plain_text_everywhere_it_goes():
    assert json.dumps({"status": Status.PRUNED}) == '{"status": "pruned"}'
    assert f"{Status.DIVERGED}: done" == "diverged: done" and str(Status.FAILED) == "failed"
    assert {Status.COMPLETED: 1}.get("completed") == 1  # a status read back from metrics.json finds its entry
    assert Status("interrupted") is Status.INTERRUPTED


def test_files_lists_the_artifacts_the_folder_holds(tmp_path):
    (tmp_path / ".hydra").mkdir()
    for name in ("metrics.json", "model.keras", ".hydra/config.yaml", "unrelated.txt"):
        (tmp_path / name).write_text("x")
    files = RunFolder(tmp_path).files()
    assert list(files) == [name for name in ARTIFACTS if name in files]  # in the trackers' order
    assert set(files) == {"metrics.json", "model.keras", ".hydra/config.yaml"}


def test_an_unwritable_output_folder_is_refused_naming_the_key(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(ConfigError, match=r"Choose a writable folder with hydra.run.dir=<folder>"):
        check_writable(tmp_path / "a_file" / "run", "hydra.run.dir")
    check_writable(tmp_path / "fine", "run_dir")
    assert (tmp_path / "fine").is_dir() and not list((tmp_path / "fine").iterdir())  # the probe is gone


@pytest.mark.parametrize(
    "error, code",
    [
        (ConfigError("x"), 2),
        (FolderBusy("x"), 2),
        (DataError("x"), 1),
        (OutputError("x"), 1),
        (RuntimeError("a bug"), None),  # not expected: logged with its traceback, exit 1
    ],
)
def test_one_exit_table(error, code):
    assert exits.expected_exit(error) == code


def test_interrupted_runs_exit_as_the_shell_expects():
    assert exits.interrupted(signal.SIGINT) == 130 and exits.interrupted(signal.SIGTERM) == 143


def test_result_free_keys_and_bookkeeping_overrides():
    assert is_result_free("training.verbose") and is_result_free("tracking.mlflow.enabled")
    assert not is_result_free("training.verbose_extra") and not is_result_free("training.epochs")
    overrides = [
        "resume=/x",
        "tracking=none",
        "+tracking.mlflow.experiment=a",
        "hydra/launcher=joblib",
        "optimizer.lr=1",
    ]
    assert without_bookkeeping(overrides) == ["optimizer.lr=1"]


def test_run_names_say_what_the_sweep_varies(tmp_path):
    single = RunContext(tmp_path / "2026-12-01" / "10-00-00_1", ("dataset=digits",))
    assert run_name(single) == "2026-12-01/10-00-00_1"
    overrides = ("dataset=digits", "optimizer.lr=0.1", "tracking=none", "+model.l2=0.01")
    job = SweepJob(tmp_path, 3, swept=("optimizer.lr", "model.l2"))
    assert run_name(RunContext(tmp_path / "3", overrides, job)) == "job 3: optimizer.lr=0.1 +model.l2=0.01"
    unrecorded = SweepJob(tmp_path, 4)  # a launcher that did not record what it varies: all but bookkeeping
    assert run_name(RunContext(tmp_path / "4", overrides, unrecorded)) == (
        "job 4: dataset=digits optimizer.lr=0.1 +model.l2=0.01"
    )


def test_a_job_reads_its_sweep_once_from_the_record_the_launching_process_wrote(tmp_path):
    hydra = OmegaConf.create(
        {
            "hydra": {
                "sweep": {"dir": str(tmp_path)},
                "overrides": {"task": ["model.hidden_sizes=[16],[32]", "optimizer.lr=0.1,0.2", "tracking=none,mlflow"]},
                "runtime": {"choices": {"hydra/sweeper": "basic"}},
                "sweeper": {"max_batch_size": None},
                "launcher": {"_target_": "joblib", "n_jobs": "${hydra.sweeper.max_batch_size}"},
                "job": {"num": 5},
            }
        }
    )
    written = record.write(hydra)
    assert written == {"jobs_planned": 8, "swept": ["model.hidden_sizes", "optimizer.lr"], "jobs_per_batch": 8}
    job = record.read(hydra.hydra)
    assert (job.number, job.jobs_planned, job.swept, job.jobs_per_batch) == (
        5,
        8,
        ("model.hidden_sizes", "optimizer.lr"),
        8,
    )
    assert job.launcher == {"_target_": "joblib", "n_jobs": None} and job.sweep_dir == Path(tmp_path)
    assert job.stopped() == 0
    (tmp_path / ".interrupted").write_text(str(int(signal.SIGTERM)))
    assert job.stopped() == signal.SIGTERM


@pytest.mark.parametrize(
    "error, status",
    [
        (ConfigCompositionException("Could not override 'optimizer.lrr'"), 2),  # a usage error
        (RuntimeError("a joblib worker died"), 1),  # a failure after the run or sweep started
    ],
)
def test_hydras_plain_exit_1_is_a_usage_error_only_when_composing_failed(monkeypatch, error, status):
    from fcbaseline import __main__, app

    def hydra_reporting():  # what Hydra's run_and_report does with an error: print it, exit 1 while handling it
        try:
            raise error
        except Exception:
            sys.exit(1)

    monkeypatch.setattr(app, "main", hydra_reporting)
    monkeypatch.setattr(sys, "argv", ["fcbaseline", "dataset=digits"])
    with pytest.raises(SystemExit) as exited:
        __main__.cli()
    assert exited.value.code == status


def everything_under(folder: Path) -> dict:
    return {str(path): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


@pytest.mark.parametrize(
    "layout, resuming, refusal",
    [
        ({"run/metrics.json": "{}"}, False, "already holds the results of an earlier run (metrics.json)"),
        ({"run/checkpoint.npz": "x"}, False, "already holds the results of an earlier run (checkpoint.npz)"),
        ({"run/3/metrics.json": "{}"}, False, "already holds the results of an earlier run (3/metrics.json)"),
        ({"run/summary.csv": ""}, False, "already holds the results of an earlier run (summary.csv)"),
        ({}, True, "there is no folder"),  # resume=<a folder that does not exist>
    ],
)
def test_a_claim_refused_leaves_everything_as_it_was(tmp_path, layout, resuming, refusal):
    for name, text in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    before = everything_under(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(refusal)) as refused:
        rundir.claim(tmp_path / "run", "hydra.run.dir", resuming)
    assert "resume=" in str(refused.value)  # the way forward is named
    assert everything_under(tmp_path) == before and (layout or not (tmp_path / "run").exists())


def test_a_claim_takes_a_new_folder_a_folder_of_other_files_or_a_run_to_resume(tmp_path):
    rundir.claim(tmp_path / "new", "run_dir").release()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("mine")
    rundir.claim(tmp_path / "mine", "run_dir").release()
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.json").write_text("{}")
    lock = rundir.claim(tmp_path / "old", "run_dir", resuming=True)
    try:  # while one process works there, another is refused, and no second lock file appears
        with pytest.raises(FolderBusy, match=f"in use by process {os.getpid()}"):
            rundir.claim(tmp_path / "old", "run_dir", resuming=True)
    finally:
        lock.release()

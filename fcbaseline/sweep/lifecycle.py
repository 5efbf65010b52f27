"""The one Hydra callback (conf/config.yaml) that owns a run's or a sweep's folder in the launching
process, from start to end.

A single run: its config (and, resuming, its checkpoint) checked, its folder checked writable and
locked, before Hydra writes anything into it, so that a refusal leaves nothing behind. A sweep: the
config its jobs share and its folder likewise; then <sweep dir>/sweep.json (what each job reads of its
sweep: record.py), the stop on SIGINT/SIGTERM (stop.py) and, with tracking=mlflow, the parent MLflow
run; at the end the
summary, the parent run finished, the summary printed, and the exit status: 128 + the signal when it
was stopped (with the command that continues it), 1 when a job failed or was killed.
"""

import copy
import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import List

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from fcbaseline import exits, rundir, runner
from fcbaseline.config.keys import task_overrides, without_resume
from fcbaseline.errors import ConfigError
from fcbaseline.rundir import SUMMARY_MD, Status
from fcbaseline.search import settings
from fcbaseline.sweep import record
from fcbaseline.sweep.stop import SweepStop, stopped
from fcbaseline.sweep.summary import summarize
from fcbaseline.tracking.sweep import finish_parent, start_parent


def resume_command(arguments: List[str], sweep_dir: Path) -> str:
    """The command that continues this sweep: the same arguments, resume=<sweep dir>."""
    kept = without_resume(arguments)
    return " ".join(["python -m fcbaseline", *(shlex.quote(argument) for argument in kept), f"resume={sweep_dir}"])


def refused(check):
    """`check()`'s result, or its refusal in one paragraph on stderr and the exit of exits.py's table, before
    anything runs or is written (HYDRA_FULL_ERROR=1: the traceback instead, as Hydra does)."""
    try:
        return check()
    except Exception as error:  # never raised on: Hydra would only warn about a callback's error, and run
        code = exits.expected_exit(error)
        if code is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
            traceback.print_exc()  # a bug, or the traceback asked for
        else:
            print(str(error), file=sys.stderr)
        sys.exit(code if code is not None else exits.ExitCode.FAILED)


def check_hydra_paths(config: DictConfig, sweep: bool) -> None:
    """Hydra's own path settings may not send a run's files elsewhere: the log's name (hydra.job.name),
    the record's folder (hydra.output_subdir) and, in a sweep, each job's folder (hydra.sweep.subdir:
    inside the sweep folder, one per job)."""
    hydra = OmegaConf.to_container(config.hydra, resolve=False)
    settings = [("hydra.job.name", hydra["job"].get("name")), ("hydra.output_subdir", hydra.get("output_subdir"))]
    for key, value in settings:
        if value is not None and not rundir.is_plain_name(str(value)):
            raise ConfigError(f"{key}={value} must be a plain name inside the run folder (no / or ..); leave it out.")
    subdir = str(hydra["sweep"].get("subdir"))
    if sweep and ("${hydra.job.num}" not in subdir or subdir.startswith("/") or ".." in subdir.split("/")):
        raise ConfigError(
            f"hydra.sweep.subdir={subdir} must give each job its own folder inside the sweep folder, with "
            f"${{hydra.job.num}} in it and no / at the start or ..: leave it out (the default is ${{hydra.job.num}})."
        )


def task_config(config: DictConfig) -> DictConfig:
    """The config the task receives: Hydra's own node removed, as Hydra does for each job."""
    task = copy.deepcopy(config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task


def first_job_config(config: DictConfig):
    """The first job's config, for the checks made before a sweep's folder is claimed: the config every job
    shares (Hydra composes it without the swept values) with the first value of each swept key. None when
    that cannot be had without composing (a swept config group such as dataset=a,b): each job checks its own."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(task_overrides(config.hydra))
    swept = {override.key_or_group for override in parsed if override.is_sweep_override()}
    if any("." not in key.lstrip("+~") for key in swept):
        return None
    first = task_config(config)
    if (config.hydra.runtime.choices.get("hydra/sweeper") or "basic") != "basic":
        return first  # a search: its swept values are sampled later, each job checks its own
    batches = BasicSweeper.split_arguments(parsed, None) if swept else [[[]]]
    with open_dict(first):
        for override in OverridesParser.create().parse_overrides(batches[0][0]):
            if override.key_or_group in swept:
                OmegaConf.update(first, override.key_or_group.lstrip("+~"), override.value(), merge=True)
    return first


def check_one_folder(config: DictConfig) -> None:
    """resume=<folder> runs in that folder: another hydra.run.dir beside it names a second one."""
    resume = config.get("resume")
    if resume in (None, True, "true", "True") or Path(config.hydra.run.dir).resolve() == Path(resume).resolve():
        return
    raise ConfigError(
        f"resume={resume} and hydra.run.dir={config.hydra.run.dir} name two folders: a resumed run continues in "
        f"its own folder. Give resume=<folder> alone."
    )


class Lifecycle(Callback):
    def __init__(self):
        self.lock = None  # the folder's lock, held until this process ends
        self.stop = None  # the sweep's SweepStop
        self.parent = None  # the sweep's parent MLflow run
        self.jobs_planned = None

    def on_run_start(self, config, **kwargs) -> None:
        run_dir, resuming = Path(config.hydra.run.dir), bool(config.get("resume"))
        refused(lambda: check_hydra_paths(config, sweep=False))
        refused(lambda: check_one_folder(config))
        refused(lambda: runner.preflight(task_config(config), task_overrides(config.hydra), run_dir))
        self.lock = refused(lambda: rundir.claim(run_dir, "hydra.run.dir", resuming))

    def on_multirun_start(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        refused(lambda: check_hydra_paths(config, sweep=True))
        if config.get("resume"):
            refused(lambda: rundir.check_sweep_folder(sweep_dir))
        first = refused(lambda: first_job_config(config))  # checked before the folder is claimed; each job again
        if first is not None:
            refused(lambda: runner.preflight(first, task_overrides(config.hydra), sweep_dir, resuming=False))
        refused(lambda: settings.check(config.hydra.sweeper, task_overrides(config.hydra)))
        self.lock = refused(lambda: rundir.claim(sweep_dir, "hydra.sweep.dir", bool(config.get("resume"))))
        self.jobs_planned = record.write(config)["jobs_planned"]
        self.stop = SweepStop(sweep_dir).install()
        self.parent = start_parent(config, sweep_dir)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarize(sweep_dir, self.jobs_planned)
        finish_parent(self.parent, sweep_dir, rows)
        print(f"Sweep summary: {sweep_dir / SUMMARY_MD}")
        print((sweep_dir / SUMMARY_MD).read_text())
        signal_number = stopped(sweep_dir)
        self.stop.uninstall()
        if signal_number:
            print(f"Interrupted; continue the sweep with\n  {resume_command(sys.argv[1:], sweep_dir)}", file=sys.stderr)
            sys.exit(exits.interrupted(signal_number))
        if any(row["status"] in (Status.FAILED, Status.KILLED) for row in rows):
            failed = [row["job"] for row in rows if row["status"] != Status.COMPLETED]
            print(f"Jobs not completed: {', '.join(failed)}; see their metrics.json for the error.", file=sys.stderr)
            sys.exit(exits.ExitCode.FAILED)

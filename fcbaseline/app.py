"""The Hydra task: Hydra composes the config and runs this in each job; the run's context comes from
Hydra's settings (read once, here), the run itself from runner.py, and every error or signal becomes an
exit status through exits.py's table. A sweep's job never stops the sweep: it records what happened in
its own metrics.json, and the sweep's lifecycle callback summarizes and chooses the exit status.
"""

import logging
import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from fcbaseline import exits, runner
from fcbaseline.config import config_dir, register_configs
from fcbaseline.config.keys import task_overrides
from fcbaseline.context import RunContext
from fcbaseline.files import FolderLock
from fcbaseline.rundir import RunFolder
from fcbaseline.sweep import record, stop
from fcbaseline.training.reuse import CompiledRuns

log = logging.getLogger("fcbaseline")
NOT_A_RESULT = float("nan")  # a sweep job's return value when it has no objective
# This process's last compiled epoch, for the next job of the same shape (training/reuse.py). The one
# state kept across jobs, here at the edge: Hydra calls the task once per job and passes nothing else.
COMPILED_RUNS = CompiledRuns()

register_configs()  # before Hydra composes, also in launcher workers that unpickle this task


def context_from_hydra(hydra_config) -> RunContext:
    sweep = record.read(hydra_config) if hydra_config.mode == RunMode.MULTIRUN else None
    launcher_name = hydra_config.runtime.choices.get("hydra/launcher") or ""
    overrides = tuple(task_overrides(hydra_config))
    return RunContext(Path(hydra_config.runtime.output_dir), overrides, sweep, launcher_name, COMPILED_RUNS)


@hydra.main(version_base="1.3", config_path=config_dir(), config_name="config")
def main(config: DictConfig) -> float:
    context = context_from_hydra(HydraConfig.get())
    return run_job(config, context) if context.in_sweep else run_single(config, context)


def run_single(config: DictConfig, context: RunContext) -> float:
    """One run (its folder is locked by the lifecycle callback): its status becomes the exit status."""
    try:
        return runner.run_in_folder(config, context).objective
    except KeyboardInterrupt as stopped:
        leave_interrupted(stopped, context.run_dir)
    except Exception as error:
        sys.exit(report(error, full_error=os.environ.get("HYDRA_FULL_ERROR") == "1"))


def run_job(config: DictConfig, context: RunContext) -> float:
    """A sweep's job, skipped when the sweep was stopped before it began."""
    if context.sweep.stopped():
        RunFolder(context.run_dir).not_started(context.overrides)
        log.warning(f"job {context.sweep.number} not started: the sweep was interrupted")
        return NOT_A_RESULT
    try:
        with FolderLock(context.run_dir):
            return runner.run_in_folder(config, context).objective
    except KeyboardInterrupt as stopped:
        if getattr(stopped, "at_once", True):
            leave_interrupted(stopped, context.run_dir)
        stop.record(context.sweep.sweep_dir, stopped.signal_number)  # the summary and the hint follow
    except Exception as error:
        report(error, full_error=False)
    return NOT_A_RESULT


def report(error: Exception, full_error: bool) -> int:
    """One clear paragraph for a usage, data or output problem, the traceback for anything else; the exit."""
    code = exits.expected_exit(error)
    if code is not None:
        log.error(str(error))
    else:
        log.exception(f"the run failed: {type(error).__name__}: {error}")
    if full_error:  # HYDRA_FULL_ERROR=1: the traceback too, as in any Hydra app
        raise error
    return code if code is not None else exits.ExitCode.FAILED


def leave_interrupted(stopped: KeyboardInterrupt, run_dir: Path) -> None:
    """Exit 128 + the signal, with the command that continues the run."""
    signal_number = getattr(stopped, "signal_number", 2)
    status = exits.interrupted(signal_number)
    log.warning(f"interrupted: continue with  python -m fcbaseline resume={run_dir}")
    if getattr(stopped, "at_once", True):  # a second signal: a TensorFlow epoch may still be running
        logging.shutdown()  # in its worker thread (training/loop.interruptible); leave now, without waiting
        sys.stdout.flush(), sys.stderr.flush()
        os._exit(status)
    sys.exit(status)

"""What a run knows about where it runs, given to it rather than looked up: its folder, the overrides
it was started with, for a sweep's job its `SweepJob` (sweep/record.py), and what the process keeps of
the last run's compiled epoch (training/reuse.py). The Hydra task builds
it from Hydra's settings (app.py); the Python API from its arguments. From it follow the thread
budget and the run's name in trackers (and, in execution.py, the progress bar and an Optuna trial's report)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Tuple

from fcbaseline import threads
from fcbaseline.config.keys import key_of, without_bookkeeping
from fcbaseline.sweep.record import SweepJob


@dataclass(frozen=True)
class RunContext:
    run_dir: Path
    overrides: Tuple[str, ...] = ()  # as given on the command line (or to fcbaseline.run)
    sweep: Optional[SweepJob] = None  # set for a sweep's job
    launcher_name: str = ""  # the hydra/launcher choice ("" outside Hydra, "basic" by default)
    # the process's training/reuse.CompiledRuns, which the next run of the same shape reuses (None: none)
    compiled: Any = field(default=None, compare=False, repr=False)

    @property
    def in_sweep(self) -> bool:
        return self.sweep is not None


def thread_budget(setting, context: RunContext):
    """TensorFlow threads for this run (threads.budget): training.threads, else from the launcher's
    `_target_` and settings and how many jobs the sweeper hands it at once."""
    if context.sweep is None:
        return threads.budget(setting, {}, None, threads.cores())
    return threads.budget(setting, context.sweep.launcher, context.sweep.jobs_per_batch, threads.cores())


def run_name(context: RunContext) -> str:
    """How trackers name the run: in a sweep `job 3: <the swept values>` (all its overrides when the sweep
    did not record what it varies), else the run folder's date/time."""
    if context.sweep is None:
        return f"{context.run_dir.parent.name}/{context.run_dir.name}"
    overrides = without_bookkeeping(context.overrides)
    if context.sweep.swept:
        overrides = [override for override in overrides if key_of(override) in context.sweep.swept]
    return f"job {context.sweep.number}: {' '.join(overrides)}".strip()

"""What a job knows of its sweep, read once: the launching process writes <sweep dir>/sweep.json when
the sweep starts (lifecycle.py), and each job, in this process, a joblib worker or a Ray task, reads it
with its own Hydra settings into one `SweepJob` that is passed down (thread budget, run names,
TensorBoard's HParams experiment, the progress bar's `job 3/8`, an Optuna trial's pruning)."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Tuple

from omegaconf import OmegaConf

from fcbaseline.config.keys import is_bookkeeping, task_overrides
from fcbaseline.files import read_json, write_json
from fcbaseline.rundir import SWEEP_RECORD
from fcbaseline.sweep import stop


@dataclass(frozen=True)
class SweepJob:
    """A run that is a sweep's job."""

    sweep_dir: Path
    number: int  # the job's number, which names its folder
    jobs_planned: Optional[int] = None  # how many jobs the sweep runs, when known
    swept: Tuple[str, ...] = ()  # the config keys the sweep varies
    jobs_per_batch: Optional[int] = None  # how many jobs the sweeper hands the launcher at once
    launcher: dict = field(default_factory=dict)  # the launcher's config: its _target_ and settings
    sweeper: dict = field(default_factory=dict)  # the sweeper's config: its _target_ and settings

    def stopped(self) -> int:
        """The signal that stopped the sweep, as recorded in its folder; 0 while it runs."""
        return stop.stopped(self.sweep_dir)


def swept_keys(overrides, search_space) -> list:
    """The config keys a sweep varies: command-line sweeps (`a=1,2`, `range(...)`, `choice(...)`) and an
    Optuna search space (hydra.sweeper.params); bookkeeping keys (tracking, resume) are not results."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    keys = [override.key_or_group for override in parsed if override.is_sweep_override()]
    keys += [key for key in search_space or {} if key not in keys]
    return [key for key in keys if not is_bookkeeping(key)]


def planned_jobs(config) -> Optional[int]:
    """The number of jobs a multirun will launch: the grid's size for Hydra's basic sweeper, the trial
    count for Optuna; None for a sweeper this does not know."""
    sweeper = config.hydra.runtime.choices.get("hydra/sweeper") or "basic"
    if sweeper == "basic":
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        overrides = OverridesParser.create().parse_overrides(task_overrides(config.hydra))
        return sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None))
    return config.hydra.sweeper.get("n_trials")


def jobs_per_batch(planned: Optional[int], sweeper) -> Optional[int]:
    """How many jobs the sweeper hands the launcher at once: the whole grid (or the basic sweeper's
    max_batch_size), an Optuna search's n_jobs trials; None when unknown."""
    limits = [value for value in (planned, sweeper.get("n_jobs"), sweeper.get("max_batch_size")) if value]
    return min(limits) if limits else None


def write(config) -> dict:
    """In the launching process, when the sweep starts: <sweep dir>/sweep.json; returns what it holds."""
    planned = planned_jobs(config)
    record = {
        "jobs_planned": planned,
        "swept": swept_keys(task_overrides(config.hydra), config.hydra.sweeper.get("params")),
        "jobs_per_batch": jobs_per_batch(planned, config.hydra.sweeper),
    }
    write_json(Path(config.hydra.sweep.dir) / SWEEP_RECORD, record)
    return record


def read(hydra_config) -> SweepJob:
    """In a job: its sweep's record and its own Hydra settings (HydraConfig.get()), once."""
    sweep_dir = Path(hydra_config.sweep.dir)
    record = read_json(sweep_dir / SWEEP_RECORD)
    return SweepJob(
        sweep_dir=sweep_dir,
        number=int(hydra_config.job.num),
        jobs_planned=record.get("jobs_planned"),
        swept=tuple(record.get("swept") or ()),
        jobs_per_batch=record.get("jobs_per_batch"),
        launcher=plain(hydra_config.launcher),
        sweeper=plain(hydra_config.sweeper),
    )


def plain(node) -> dict:
    """A launcher's or sweeper's settings as plain values (left unresolved when an interpolation cannot be)."""
    if node is None:
        return {}
    try:
        return OmegaConf.to_container(node, resolve=True)
    except Exception:  # an interpolation only Hydra's launcher can resolve: its plain settings still count
        return OmegaConf.to_container(node, resolve=False)

"""The Optuna side of a search, shared by the sweeper (search/sweeper.py, in the launching process) and
the trials (search/trial.py, in each job): where the study lives, its sampler and pruner by name, which
trials belong to which sweep folder, and what a job's outcome tells the study.

Samplers and pruners are chosen by name from explicit registries (never a `_target_` from a config):
hydra.sweeper.sampler.name=tpe|random, hydra.sweeper.pruner.name=median|percentile|successive_halving|
hyperband|none, each with its own arguments under its name (hydra.sweeper.pruner.median.n_warmup_steps=2).
"""

from pathlib import Path
from typing import Iterable, List, Optional, Tuple

from fcbaseline.errors import ConfigError
from fcbaseline.rundir import Status

STUDY_FILE = "optuna.db"  # the default storage, in the sweep folder
SWEEP_ATTRIBUTE = "fcbaseline.sweep_dir"  # a trial's user attributes: which sweep folder runs it...
JOB_ATTRIBUTE = "fcbaseline.job"  # ...as which job (its numbered folder)
SWEEPER_TARGET = "hydra_plugins.fcbaseline_search.optuna_sweeper.OptunaSweeper"


def storage_url(configured: Optional[str], sweep_dir: Path) -> str:
    """The study's storage: the configured Optuna storage URL, else SQLite in the sweep folder (so that
    `resume=<sweep dir>` finds the study again, and optuna-dashboard can open it)."""
    return configured or f"sqlite:///{Path(sweep_dir).resolve() / STUDY_FILE}"


def open_storage(url: str, attempts: int = 5):
    """Optuna's storage for `url`. Two searches creating one new SQLite database at the same moment can
    both try to stamp its schema version, and one fails (UNIQUE constraint on alembic_version): the loser
    retries and finds the database ready."""
    import time

    import optuna
    import sqlalchemy.exc

    for attempt in range(attempts):
        try:
            return optuna.storages.get_storage(url)
        except sqlalchemy.exc.SQLAlchemyError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5 * (attempt + 1))


def sampler_builders():
    import optuna

    return {
        "tpe": optuna.samplers.TPESampler,  # Optuna's default: multivariate, constant liar for parallel trials
        "random": optuna.samplers.RandomSampler,
    }


def pruner_builders():
    import optuna

    return {
        "median": optuna.pruners.MedianPruner,  # stop a trial below the median of earlier ones at the same epoch
        "percentile": optuna.pruners.PercentilePruner,
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
        "hyperband": optuna.pruners.HyperbandPruner,
        "none": optuna.pruners.NopPruner,
    }


class SearchConfigError(ConfigError):
    """hydra.sweeper settings Optuna cannot use; the message names the key and the fix."""


def build(kind: str, settings, builders: dict, **extra):
    """The sampler or pruner `settings.name` built with the arguments under settings.<name> (+ `extra`)."""
    name = settings.get("name")
    if name not in builders:
        raise SearchConfigError(
            f"hydra.sweeper.{kind}.name={name} is not one of {', '.join(builders)}; choose one of those."
        )
    arguments = dict(settings.get(name) or {})
    try:
        return builders[name](**arguments, **extra)
    except (TypeError, ValueError) as error:
        raise SearchConfigError(
            f"hydra.sweeper.{kind}.{name} ({arguments}) is refused by Optuna: {error}. See the arguments of "
            f"optuna.{'samplers' if kind == 'sampler' else 'pruners'}.{type_name(builders[name])}."
        ) from None


def type_name(builder) -> str:
    return getattr(builder, "__name__", str(builder))


def make_sampler(settings, trials_so_far: int):
    """The sampler, seeded with seed + the trials already in the study: a resumed or shared search goes on
    with new random draws instead of repeating the first ones."""
    seed = settings.get("seed")
    return build("sampler", settings, sampler_builders(), seed=None if seed is None else seed + trials_so_far)


def make_pruner(settings):
    return build("pruner", settings, pruner_builders())


def own_job(user_attrs: dict, sweep_dir: Path) -> Optional[int]:
    """The job number of a trial that this sweep folder runs; None for another search's trial."""
    if user_attrs.get(SWEEP_ATTRIBUTE) != str(Path(sweep_dir).resolve()):
        return None
    return user_attrs.get(JOB_ATTRIBUTE)


def outcome(status: Optional[str], value) -> Tuple[str, Optional[float]]:
    """What a finished job tells its trial: ("complete", value), ("pruned", None), ("fail", None), or
    ("running", None) for an interrupted or not-started job, whose trial stays open for resume=<sweep dir>."""
    if status in (Status.INTERRUPTED, Status.NOT_STARTED):
        return "running", None
    if status == Status.PRUNED:
        return "pruned", None
    finite = isinstance(value, (int, float)) and value == value
    if status in (Status.COMPLETED, Status.DIVERGED) and finite:
        return "complete", float(value)
    return "fail", None


def room(counted_trials: int, n_trials: int) -> int:
    """New trials still to ask for: n_trials counts every trial of the study (finished, or running here or
    in another search sharing the storage), so searches sharing a study stop together at n_trials."""
    return max(0, n_trials - counted_trials)


def consecutive_runs(job_numbers: Iterable[int]) -> List[List[int]]:
    """[3, 4, 7] -> [[3, 4], [7]]: a launcher numbers the jobs of one launch consecutively."""
    runs: List[List[int]] = []
    for number in job_numbers:
        if runs and number == runs[-1][-1] + 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    return runs

"""A search's settings checked before its sweep folder is claimed. Hydra calls the lifecycle callback's
on_multirun_start before it makes the sweeper, so the callback checks them here (counts, sampler, pruner,
search space, a configured storage URL): a refusal leaves no folder behind, as any other refusal."""

from typing import Sequence

from fcbaseline.search import space
from fcbaseline.search import study as studies

SWEEPER = "hydra_plugins.fcbaseline_search.optuna_sweeper.OptunaSweeper"


def check_counts(n_trials, n_jobs) -> None:
    for key, value in (("n_trials", n_trials), ("n_jobs", n_jobs)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise studies.SearchConfigError(f"hydra.sweeper.{key}={value} must be a positive whole number.")


def check_storage(url: str) -> None:
    """A configured storage URL whose database kind SQLAlchemy knows and whose driver is installed
    (nothing is opened or created)."""
    import sqlalchemy.engine

    try:
        sqlalchemy.engine.make_url(url).get_dialect().import_dbapi()
    except Exception as error:  # a malformed URL, an unknown database or a missing driver
        raise studies.SearchConfigError(
            f"hydra.sweeper.storage={url}: Optuna cannot open it ({type(error).__name__}: {error}). Give an "
            f"Optuna storage URL such as sqlite:////absolute/path/studies.db, or null for <sweep dir>/optuna.db."
        ) from None


def check(sweeper, arguments: Sequence[str]) -> None:
    """Refuse (SearchConfigError, SearchSpaceError: ConfigErrors) what the sweeper would refuse."""
    if sweeper.get("_target_") != SWEEPER:
        return
    check_counts(sweeper.n_trials, sweeper.n_jobs)
    studies.make_sampler(sweeper.sampler, 0)
    studies.make_pruner(sweeper.pruner)
    space.search_space(dict(sweeper.params or {}), list(arguments))
    if sweeper.storage:
        check_storage(sweeper.storage)

"""Which config keys and overrides say what a run computes, and which only say where or how it works.

`RESULT_FREE_KEYS` cannot change a result: a resumed sweep does not rerun a job for them
(resume.sweep_decision) and trackers do not list them as hyper-parameters. The bookkeeping keys say
where a run resumes, how it is tracked and how Hydra runs it: they are left out wherever overrides
name a run (run names, a sweep's swept keys, the summary's configuration column).
"""

from typing import Iterable, List

RESULT_FREE_KEYS = (
    "resume",
    "training.verbose",
    "training.threads",
    "training.progress_bar",
    "dataset.data_dir",
    "tracking",
)
BOOKKEEPING_KEYS = ("resume", "tracking", "hydra")


def key_of(override: str) -> str:
    """`+training.foo=3` -> `training.foo`; a group choice `tracking=none` -> `tracking`."""
    return override.lstrip("+~").split("=", 1)[0]


def _under(key: str, roots) -> bool:
    return any(key == root or key.startswith(f"{root}.") or key.startswith(f"{root}/") for root in roots)


def is_result_free(key: str, also=()) -> bool:
    """Whether `key` (dotted) cannot change a result; `also`: more roots that count as such here."""
    return _under(key, (*RESULT_FREE_KEYS, *also))


def is_bookkeeping(key: str) -> bool:
    return _under(key, BOOKKEEPING_KEYS)


def without_resume(overrides: Iterable[str]) -> List[str]:
    """The overrides without `resume=`: what reruns the same run or sweep."""
    return [override for override in overrides if key_of(override) != "resume"]


def without_bookkeeping(overrides: Iterable[str]) -> List[str]:
    """The overrides that say what a run computes: not where it resumes, how it is tracked, nor Hydra's."""
    return [override for override in overrides if not is_bookkeeping(key_of(override))]


def task_overrides(hydra_config) -> List[str]:
    """The command line's overrides as typed (hydra.overrides.task), never resolved: an override that
    holds an interpolation (training.epochs=${nope}) is text here, checked where the config is."""
    from omegaconf import OmegaConf

    return [str(override) for override in OmegaConf.to_container(hydra_config.overrides.task, resolve=False)]

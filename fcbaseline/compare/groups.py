"""Which runs `fcbaseline compare` compares, and how: the completed runs found in the folders given (run
folders, or sweep folders holding numbered job folders), each described by its configuration (every
result-changing key of its saved config but the seed and the fold), grouped by it, with the statistics
of each group and the test against the best one. Reading is here; the decisions are pure functions."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from fcbaseline.compare import statistics
from fcbaseline.config.added import with_added_keys
from fcbaseline.errors import ConfigError
from fcbaseline.reading import read_yaml_mapping
from fcbaseline.rundir import METRICS, SAVED_CONFIG, RunFolder, Status
from fcbaseline.tracking import hyperparameters

NOT_CONFIGURATION = ("training.seed", "training.fold")  # what a group's runs may differ in
FIGURES = ("best_val_accuracy", "test_accuracy")


@dataclass(frozen=True)
class Run:
    folder: Path
    metrics: dict
    settings: Dict[str, object]  # flattened result-changing config keys

    @property
    def test_set(self) -> tuple:
        """What must agree between runs for their test figures to be compared."""
        metrics = self.metrics
        return (metrics.get("dataset"), metrics.get("test_samples"), metrics.get("test_labels_digest"))


def run_folders(folders: List[Path]) -> List[Path]:
    """Each folder given, or its numbered job folders when it is a sweep's; refused when it holds neither."""
    found = []
    for folder in folders:
        if (folder / METRICS).is_file():
            found.append(folder)
            continue
        jobs = sorted(
            (child for child in folder.iterdir() if child.is_dir() and (child / METRICS).is_file()),
            key=lambda path: (not path.name.isdigit(), int(path.name) if path.name.isdigit() else 0),
        )
        if not jobs:
            raise ConfigError(
                f"{folder} holds no run ({METRICS}) and no sweep's job folders: give run folders "
                f"(outputs/runs/<date>/<time>) or sweep folders (outputs/multirun/<date>/<time>)."
            )
        found.extend(jobs)
    return found


def read_run(folder: Path) -> Optional[Run]:
    """The run in `folder` when it completed, else None (the command says how many were left out)."""
    metrics = RunFolder(folder).metrics()
    if metrics.get("status") != Status.COMPLETED:
        return None
    fix = "Leave that run out of the comparison, or restore its .hydra/config.yaml."
    config = with_added_keys(read_yaml_mapping(folder / SAVED_CONFIG, "a run's saved config", fix))
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:  # the values the run used: a recipe's ${dataset.recipe.hidden_sizes} as the sizes it gave
        plain = OmegaConf.to_container(config, resolve=True)
    except OmegaConfBaseException:  # an interpolation only Hydra resolves: compared as written
        plain = OmegaConf.to_container(config, resolve=False)
    settings = hyperparameters(plain)
    return Run(folder, metrics, {k: v for k, v in settings.items() if k not in NOT_CONFIGURATION})


def check_same_test_set(runs: List[Run]) -> None:
    """Refuse runs on different datasets or test sets: their test figures say nothing about each other."""
    sets = {run.test_set for run in runs}
    if len(sets) > 1:
        first, *others = sorted(sets, key=str)
        differing = [run.folder for run in runs if run.test_set != first][:3]
        raise ConfigError(
            f"these runs were not tested on the same test set (dataset, test images, labels digest: {first} "
            f"against {others[0]}; e.g. {', '.join(map(str, differing))}): their figures cannot be compared. "
            f"Compare runs of one dataset and test split."
        )


def configuration_keys(runs: List[Run]):
    """(the keys whose values differ between runs: what a group is named by, the keys shared by all)."""
    keys = list(dict.fromkeys(key for run in runs for key in run.settings))
    differing = [key for key in keys if len({repr(run.settings.get(key)) for run in runs}) > 1]
    return differing, [key for key in keys if key not in differing]


@dataclass
class Group:
    label: str  # the differing keys' values, `model.hidden_sizes=[128] optimizer.lr=0.1`
    runs: List[Run]
    figures: Dict[str, statistics.Interval] = field(default_factory=dict)
    p_vs_best: Optional[float] = None  # Holm-corrected Welch p-value against the best group, on validation
    best: bool = False

    @property
    def indistinguishable(self) -> Optional[bool]:
        """From the best on validation: True, False, or None when it cannot be tested (too few runs)."""
        if self.best:
            return True
        return None if self.p_vs_best is None else self.p_vs_best >= statistics.ALPHA


def grouped(runs: List[Run]) -> List[Group]:
    """Runs grouped by configuration, each group's statistics, best mean validation accuracy first, and
    every other group tested against the best (Welch, Holm-corrected over the comparisons)."""
    differing, _ = configuration_keys(runs)
    groups: Dict[str, Group] = {}
    for run in runs:
        label = " ".join(f"{key}={run.settings.get(key)}" for key in differing) or "(one configuration)"
        groups.setdefault(label, Group(label, [])).runs.append(run)
    for group in groups.values():
        group.figures = {name: statistics.interval([r.metrics.get(name) for r in group.runs]) for name in FIGURES}
    ordered = sorted(groups.values(), key=lambda group: -(group.figures["best_val_accuracy"].mean or -1.0))
    if ordered:
        best = ordered[0]
        best.best = True
        values = lambda group: [run.metrics["best_val_accuracy"] for run in group.runs]  # noqa: E731
        raw = {group.label: statistics.welch_p(values(best), values(group)) for group in ordered[1:]}
        for group in ordered[1:]:
            group.p_vs_best = statistics.holm(raw)[group.label]
    return ordered

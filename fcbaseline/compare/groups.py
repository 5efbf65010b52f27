"""Which runs `fcbaseline compare` compares, and how: the completed runs found in the folders given (run
folders, or sweep folders holding numbered job folders), each described by its configuration (every
result-changing key of its saved config but the seed and the fold, the validation it really used and
the data it trained on), grouped by it, with the statistics of each group and the test against the best
one. Reading is here; the decisions are pure functions."""

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional

from fcbaseline.compare import statistics
from fcbaseline.config.added import with_added_keys
from fcbaseline.errors import ConfigError
from fcbaseline.reading import read_yaml_mapping
from fcbaseline.rundir import METRICS, SAVED_CONFIG, RunFolder, Status
from fcbaseline.tracking import hyperparameters

REPEAT_KEYS = ("training.seed", "training.fold_seed", "training.fold")  # what a group's runs may differ in
VALIDATION, TEST = "model_val_accuracy", "test_accuracy"  # validation: of the model each run kept
FIGURES = (VALIDATION, TEST)


@dataclass(frozen=True)
class Run:
    folder: Path
    metrics: dict
    settings: Dict[str, object]  # flattened result-changing config keys, the validation used, the data
    repeat: tuple = ()  # its REPEAT_KEYS values: two runs of a group never share them

    def test_set(self, by_content: bool = True) -> tuple:
        """What must agree between runs for their test figures to be compared: the test images and labels
        by content, or (by_content=False, for runs saved before that digest) the labels'."""
        metrics = self.metrics
        test = (metrics.get("data_digests") or {}).get("test") if by_content else metrics.get("test_labels_digest")
        return (metrics.get("dataset"), metrics.get("test_samples"), test)

    @property
    def resample_ratio(self) -> Optional[float]:
        """Validation images / training images when the run validated on a part of the training set drawn
        by its seed or fold (split, kfold: the statistics' correction), else None."""
        metrics = self.metrics
        if metrics.get("validation") not in RESAMPLED or not metrics.get("training_samples"):
            return None
        return metrics.get("validation_samples", 0) / metrics["training_samples"]


RESAMPLED = ("split", "kfold")  # validation on a part of the training set the seed (split) or fold draws


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
    return list(dict.fromkeys(path.resolve() for path in found))  # a folder given twice counts once


def read_run(folder: Path) -> Optional[Run]:
    """The run in `folder` when it completed, else None (the command says how many were left out)."""
    run_folder = RunFolder(folder)
    metrics = run_folder.metrics()
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
    repeat = tuple(settings.pop(key, None) for key in REPEAT_KEYS)
    if metrics.get("validation") != "kfold":  # the fold keys change nothing there: not a new result
        repeat = repeat[:1] + (None, None)
    # auto validates on the test set alone and on a split in a sweep: the mode used is what counts
    settings["training.validation"] = metrics.get("validation", settings.get("training.validation"))
    settings["data_digests.training"] = (metrics.get("data_digests") or {}).get("training")  # not its path
    metrics = {**metrics, VALIDATION: run_folder.model_val_accuracy(metrics)}
    return Run(folder, metrics, settings, repeat)


def comparable(runs: List[Run]) -> List[Run]:
    """`runs` as compared: when some were saved before the data digests, none is grouped by them (the
    training data then by its settings alone)."""
    if all(run.settings.get("data_digests.training") for run in runs):
        return runs
    without = lambda run: {k: v for k, v in run.settings.items() if k != "data_digests.training"}  # noqa: E731
    return [replace(run, settings=without(run)) for run in runs]


def check_same_test_set(runs: List[Run]) -> None:
    """Refuse runs on different datasets or test sets: their test figures say nothing about each other."""
    by_content = all((run.metrics.get("data_digests") or {}).get("test") for run in runs)
    sets = {run.test_set(by_content) for run in runs}
    if len(sets) > 1:
        first, *others = sorted(sets, key=str)
        differing = [run.folder for run in runs if run.test_set(by_content) != first][:3]
        raise ConfigError(
            f"these runs were not tested on the same test set (dataset, test images, test data digest: {first} "
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
    p_vs_best: Optional[float] = None  # Holm-corrected p-value against the best group, on validation
    best: bool = False

    @property
    def indistinguishable(self) -> Optional[bool]:
        """From the best on validation: True, False, or None when it cannot be tested (too few runs)."""
        if self.best:
            return True
        return None if self.p_vs_best is None else self.p_vs_best >= statistics.ALPHA

    @property
    def resample_ratio(self) -> Optional[float]:
        """Validation / training images when every run validated on a resampled part of the training set."""
        ratios = [run.resample_ratio for run in self.runs]
        return None if None in ratios else sum(ratios) / len(ratios)

    def values(self, name: str) -> Dict[tuple, Optional[float]]:
        return {run.repeat: run.metrics.get(name) for run in self.runs}


def check_repeats(group: Group) -> None:
    """Refuse a group holding two runs with the same seed and fold: a run given twice (a copy of its
    folder), or a configuration repeated without a new seed; counted twice, it would narrow the interval."""
    seen: Dict[tuple, Path] = {}
    for run in group.runs:
        if run.repeat in seen:
            repeat = ", ".join(f"{key}={value}" for key, value in zip(REPEAT_KEYS, run.repeat) if value is not None)
            raise ConfigError(
                f"{seen[run.repeat]} and {run.folder} are runs of one configuration with the same {repeat}: "
                f"not two independent results. Give each run once; for more runs of a configuration, sweep "
                f"training.seed (or training.fold with training.validation=kfold)."
            )
        seen[run.repeat] = run.folder


def figures(group: Group) -> Dict[str, statistics.Interval]:
    """Each figure's interval; the validation one corrected when the runs validated on resampled parts
    of the training set (statistics.interval), the test one not (every run is tested on the same images)."""
    validation = list(group.values(VALIDATION).values())
    return {
        VALIDATION: statistics.interval(validation, correction=group.resample_ratio or 0.0),
        TEST: statistics.interval(list(group.values(TEST).values())),
    }


def p_against_best(best: Group, group: Group) -> Optional[float]:
    """The uncorrected p-value of `group` against the best on validation: Welch's t-test when both
    validated on the test set; when both validated on resampled parts of the training set (a split per
    seed, or folds) with the same seeds and folds, Nadeau and Bengio's corrected paired t-test on the
    pairs' differences; None otherwise (one run, or resamples that do not pair)."""
    if best.resample_ratio is None and group.resample_ratio is None:
        return statistics.welch_p(list(best.values(VALIDATION).values()), list(group.values(VALIDATION).values()))
    first, second = best.values(VALIDATION), group.values(VALIDATION)
    if best.resample_ratio is None or group.resample_ratio is None or set(first) != set(second):
        return None
    pairs = sorted(first, key=repr)
    ratio = (best.resample_ratio + group.resample_ratio) / 2
    return statistics.corrected_paired_p([first[key] for key in pairs], [second[key] for key in pairs], ratio)


def grouped(runs: List[Run]) -> List[Group]:
    """Runs grouped by configuration, each group's statistics, best mean validation accuracy first, and
    every other group tested against the best (p_against_best, Holm-corrected over the tests made)."""
    differing, _ = configuration_keys(runs)
    groups: Dict[str, Group] = {}
    for run in runs:
        label = " ".join(f"{key}={run.settings.get(key)}" for key in differing) or "(one configuration)"
        groups.setdefault(label, Group(label, [])).runs.append(run)
    for group in groups.values():
        check_repeats(group)
        group.figures = figures(group)
    ordered = sorted(groups.values(), key=lambda group: -(group.figures[VALIDATION].mean or -1.0))
    if ordered:
        best = ordered[0]
        best.best = True
        adjusted = statistics.holm({group.label: p_against_best(best, group) for group in ordered[1:]})
        for group in ordered[1:]:
            group.p_vs_best = adjusted[group.label]
    return ordered


def comparisons(groups: List[Group]) -> int:
    """How many tests the correction counted: the groups tested against the best."""
    return sum(group.p_vs_best is not None for group in groups)

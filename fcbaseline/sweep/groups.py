"""What a sweep's summary compares, as pure functions of its rows: each job labelled by the overrides that
vary between jobs, and the jobs that differ only in the seed aggregated per configuration, with 95%
intervals and the configurations indistinguishable from the best marked (compare/statistics.py)."""

import math
import statistics as descriptive
from typing import List

from fcbaseline.compare import statistics
from fcbaseline.rundir import Status


def varying(override_lines: List[str]) -> List[str]:
    """Each line of overrides cut to the overrides whose values differ between the lines."""
    parsed = [dict(override.split("=", 1) for override in line.split() if "=" in override) for line in override_lines]
    keys = [
        key for key in dict.fromkeys(key for job in parsed for key in job) if len({job.get(key) for job in parsed}) > 1
    ]
    return [" ".join(f"{key}={job.get(key)}" for key in keys) or line for line, job in zip(override_lines, parsed)]


def short_label(overrides: str) -> str:
    """A plot label: each key by its last part when no other key in the label shares it, numbers with
    4 significant digits (`optimizer.lr=0.23707858649124688` -> `lr=0.2371`)."""
    pairs = [override.split("=", 1) if "=" in override else (override, None) for override in overrides.split()]
    last = [key.lstrip("+~").split(".")[-1] for key, _ in pairs]
    parts = []
    for (key, value), name in zip(pairs, last):
        name = name if last.count(name) == 1 else key
        if value is not None and "." in value:
            try:
                value = f"{float(value):.4g}"
            except ValueError:
                pass
        parts.append(name if value is None else f"{name}={value}")
    return " ".join(parts)


def swept_labels(rows: List[dict]) -> List[str]:
    """Each job's plot label: only the overrides whose values differ between jobs (the swept ones), short."""
    return [f"{row['job']}: {short_label(label)}" for row, label in zip(rows, varying([r["overrides"] for r in rows]))]


REPEATS = ("training.seed=", "training.fold=")  # what repeats a configuration: seeds, cross-validation folds


def configuration_of(overrides: str) -> str:
    """A job's overrides without its seed and fold: the configuration it tried."""
    return " ".join(override for override in overrides.split() if not override.startswith(REPEATS))


def seed_groups(rows: List[dict]) -> List[dict]:
    """Jobs that differ only in training.seed, as one row per configuration: the completed jobs' count, mean
    and standard deviation (n - 1) of best validation and test accuracy; best mean validation first.
    Empty when no job sets a seed, since then there is nothing to aggregate."""
    if not any(repeat in row["overrides"] for row in rows for repeat in REPEATS):
        return []
    groups = {}
    for row in rows:
        groups.setdefault(configuration_of(row["overrides"]), []).append(row)
    aggregated = []
    for configuration, members in groups.items():
        done = [row for row in members if row["status"] == Status.COMPLETED]
        entry = {"configuration": configuration, "jobs": len(members), "n": len(done)}
        for figure in ("best_val_accuracy", "test_accuracy"):
            values = [row[figure] for row in done if isinstance(row[figure], float) and math.isfinite(row[figure])]
            entry[f"{figure}_mean"] = descriptive.mean(values) if values else None
            entry[f"{figure}_std"] = descriptive.stdev(values) if len(values) > 1 else None
            entry[f"{figure}_values"] = values
        aggregated.append(entry)
    aggregated = sorted(aggregated, key=lambda entry: -(entry["best_val_accuracy_mean"] or -1.0))
    return tested_against_the_best(aggregated)


def tested_against_the_best(groups: List[dict]) -> List[dict]:
    """Each group's 95% intervals, and whether it is indistinguishable from the first (best) group on
    validation (Welch's t-test, Holm-corrected; None when a group has fewer than 2 completed jobs)."""
    for group in groups:
        for figure in ("best_val_accuracy", "test_accuracy"):
            group[f"{figure}_interval"] = statistics.interval(group[f"{figure}_values"])
    if not groups:
        return groups
    best = groups[0]["best_val_accuracy_values"]
    raw = {index: statistics.welch_p(best, group["best_val_accuracy_values"]) for index, group in enumerate(groups)}
    adjusted = statistics.holm({index: p for index, p in raw.items() if index > 0})
    for index, group in enumerate(groups):
        p_value = adjusted.get(index)
        group["p_vs_best"] = p_value
        group["indistinguishable"] = True if index == 0 else (None if p_value is None else p_value >= statistics.ALPHA)
    return groups

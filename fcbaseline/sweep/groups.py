"""What a sweep's summary compares: each job labelled by the overrides that vary between jobs (pure
functions of its rows), and the jobs that differ only in the seed or the fold aggregated per
configuration exactly as `fcbaseline compare` does (compare/groups.py: 95% intervals, the
configurations indistinguishable from the best marked), read from the jobs' own folders."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import List

from fcbaseline.compare.groups import Group, check_same_test_set, comparable, grouped, read_run
from fcbaseline.errors import ConfigError
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


@dataclass
class Repeated:
    """A sweep's configurations repeated over seeds or folds, as `fcbaseline compare` groups them."""

    groups: List[Group] = field(default_factory=list)  # best mean validation first, tested against the best
    left_out: int = 0  # jobs repeating a configuration that did not complete
    note: str = ""  # why the jobs are not aggregated, when they cannot be


def repeated_configurations(sweep_dir: Path, rows: List[dict]) -> Repeated:
    """The sweep's completed jobs grouped by configuration with compare/groups.py's statistics, when its
    jobs set a seed or a fold; empty otherwise, since then there is nothing to aggregate. Jobs on
    different test sets, or two runs of one configuration and seed, are not aggregated: `note` says why."""
    if not any(repeat in row["overrides"] for row in rows for repeat in REPEATS):
        return Repeated()
    runs = []
    for row in rows:
        try:
            run = read_run(sweep_dir / row["job"]) if row["status"] == Status.COMPLETED else None
        except ConfigError:  # a damaged saved config: the job is left out like an unfinished one
            run = None
        if run is not None:
            runs.append(run)
    left_out, runs = len(rows) - len(runs), comparable(runs)
    try:
        check_same_test_set(runs)
        return Repeated(grouped(runs), left_out)
    except ConfigError as error:
        return Repeated([], left_out, f"Not aggregated: {error}")

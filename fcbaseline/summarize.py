"""Summarize a sweep from the job directories on disk: summary.csv, summary.md and summary.png.

    fcbaseline-summarize outputs/multirun/2026-11-24/10-00-00_123456 [more sweep dirs...]
    python -m fcbaseline.summarize <sweep dir>...

It reads each job's metrics.json, history.csv and .hydra/overrides.yaml, so it works for any
launcher (in-process, joblib, Ray, SLURM), for a sweep still running and for an interrupted one.
`SummaryCallback` runs it at the end of every multirun (conf/config.yaml registers it) and makes
the command exit 1 when a job failed.
"""

import argparse
import csv
import io
import math
import os
import platform
import shlex
import statistics
import sys
from pathlib import Path
from typing import List, Optional

import yaml
from hydra.experimental.callback import Callback

from fcbaseline.files import read_json, write_atomically, write_text
from fcbaseline.stopping import SweepStop

COLUMNS = [
    "job",
    "overrides",
    "status",
    "validation",
    "test_accuracy",
    "test_loss",
    "best_val_accuracy",
    "best_val_epoch",
    "epochs_run",
    "wall_time_seconds",
    "parameters",
    "error",
]


def job_directories(sweep_dir: Path) -> List[Path]:
    jobs = [path for path in sweep_dir.iterdir() if path.is_dir() and (path / "metrics.json").exists()]
    return sorted(
        jobs, key=lambda path: (not path.name.isdigit(), int(path.name) if path.name.isdigit() else 0, path.name)
    )


def job_overrides(job: Path, metrics: dict) -> str:
    path = job / ".hydra" / "overrides.yaml"
    overrides = yaml.safe_load(path.read_text()) if path.exists() else metrics.get("overrides", [])
    return " ".join(override for override in overrides or [] if not override.startswith("resume="))


def read_job(job: Path) -> dict:
    metrics = read_json(job / "metrics.json")
    row = {column: metrics.get(column) for column in COLUMNS}
    row["job"] = job.name
    row["overrides"] = job_overrides(job, metrics)
    row["status"] = metrics.get("status", "unknown")
    if row["status"] == "running" and not process_alive(metrics):
        row["status"] = "killed"  # killed outright (SIGKILL, out of memory, node lost): it never wrote its end
    row["error"] = (metrics.get("error") or "").splitlines()[0][:200] if metrics.get("error") else ""
    return row


def process_alive(metrics: dict) -> bool:
    """Whether the process that wrote a 'running' metrics.json still runs (unknowable from another host)."""
    if metrics.get("host") != platform.node() or not metrics.get("pid"):
        return True
    try:
        os.kill(metrics["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sort_key(row: dict):
    """Best validation accuracy first (the test set never chooses); jobs without one last."""
    value = row["best_val_accuracy"]
    return (value is None or not math.isfinite(value), -(value or 0.0), row["job"])


def read_histories(job: Path):
    path = job / "history.csv"
    if not path.exists():
        return None
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return [int(row["epoch"]) for row in rows], [float(row["val_accuracy"]) for row in rows]


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


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


def configuration_of(overrides: str) -> str:
    """A job's overrides without its seed: the configuration it tried."""
    return " ".join(override for override in overrides.split() if not override.startswith("training.seed="))


def seed_groups(rows: List[dict]) -> List[dict]:
    """Jobs that differ only in training.seed, as one row per configuration: the completed jobs' count, mean
    and standard deviation (n - 1) of best validation and test accuracy; best mean validation first.
    Empty when no job sets a seed, since then there is nothing to aggregate."""
    if not any("training.seed=" in row["overrides"] for row in rows):
        return []
    groups = {}
    for row in rows:
        groups.setdefault(configuration_of(row["overrides"]), []).append(row)
    aggregated = []
    for configuration, members in groups.items():
        done = [row for row in members if row["status"] == "completed"]
        entry = {"configuration": configuration, "jobs": len(members), "n": len(done)}
        for figure in ("best_val_accuracy", "test_accuracy"):
            values = [row[figure] for row in done if isinstance(row[figure], float) and math.isfinite(row[figure])]
            entry[f"{figure}_mean"] = statistics.mean(values) if values else None
            entry[f"{figure}_std"] = statistics.stdev(values) if len(values) > 1 else None
            entry[f"{figure}_values"] = values
        aggregated.append(entry)
    return sorted(aggregated, key=lambda entry: -(entry["best_val_accuracy_mean"] or -1.0))


def seed_lines(groups: List[dict]) -> List[str]:
    """The summary.md section for seed_groups."""
    if not groups:
        return []
    lines = [
        "",
        "## Seeds aggregated",
        "",
        "Jobs that differ only in `training.seed`; mean ± standard deviation over the completed ones, best mean "
        "validation accuracy first.",
        "",
        "| configuration | n | best_val_accuracy | test_accuracy |",
        "|---|---|---|---|",
    ]
    for group in groups:
        cells = [
            ""
            if group[f"{figure}_mean"] is None
            else f"{group[f'{figure}_mean']:.4f}"
            + ("" if group[f"{figure}_std"] is None else f" ± {group[f'{figure}_std']:.4f}")
            for figure in ("best_val_accuracy", "test_accuracy")
        ]
        name = (group["configuration"] or "(no other override)").replace("|", "\\|")
        lines.append(f"| {name} | {group['n']} of {group['jobs']} | {cells[0]} | {cells[1]} |")
    return lines


def plot_seed_spread(axes, groups: List[dict]) -> None:
    """Mean best validation accuracy per configuration with its standard deviation, each seed a dot."""
    for index, group in enumerate(groups):
        values = group["best_val_accuracy_values"]
        if values:
            axes.barh(
                index,
                group["best_val_accuracy_mean"],
                xerr=group["best_val_accuracy_std"] or 0,
                color="tab:blue",
                alpha=0.6,
                capsize=4,
            )
            axes.plot(values, [index] * len(values), "k.", markersize=6)
    labels = varying([group["configuration"] for group in groups])
    axes.set_yticks(range(len(groups)), [(label or "-")[:48] for label in labels], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("best validation accuracy: mean ± std, dots are seeds")
    axes.set_title("Seeds aggregated, best mean first")


LEGEND_JOBS = 10  # curves named in summary.png's legend (best validation first)
STATUS_COLORS = {"completed": "tab:blue", "pruned": "tab:orange"}  # any other status: red


def plot_summary(path: Path, sweep_dir: Path, rows: List[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    with plt.style.context("ggplot"):
        figure, (curves, bars) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [3, 2]})
        labels = swept_labels(rows)
        for rank, (row, label) in enumerate(zip(rows, labels)):
            history = read_histories(sweep_dir / row["job"])
            if history and history[0]:  # the legend names the best LEGEND_JOBS; the others are drawn faint
                named = rank < LEGEND_JOBS
                style = {"label": label} if named else {"color": "gray", "alpha": 0.4, "linewidth": 0.8}
                curves.plot(*history, marker="." if len(history[0]) < 30 else None, **style)
        curves.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        curves.set_title("Validation accuracy per epoch")
        curves.set_xlabel("Epoch #")
        curves.set_ylabel("val_accuracy")
        if curves.lines:
            faint = " (gray: the other jobs)" if len(rows) > LEGEND_JOBS else ""
            curves.legend(fontsize=7, title=f"best validation first{faint}", title_fontsize=7)
        groups = seed_groups(rows)
        if groups:
            plot_seed_spread(bars, groups)
            finish_plot(figure, path, sweep_dir, plt)
            return
        values = [row["test_accuracy"] if isinstance(row["test_accuracy"], float) else 0.0 for row in rows]
        colors = [STATUS_COLORS.get(row["status"], "tab:red") for row in rows]
        bars.barh(range(len(rows)), values, color=colors)
        bars.set_yticks(range(len(rows)), [label[:48] for label in labels], fontsize=8)
        bars.invert_yaxis()
        bars.set_xlim(0, 1)
        bars.set_xlabel("test accuracy (orange: pruned, red: not completed)")
        bars.set_title("Final test accuracy by job, best validation first")
        for index, (value, row) in enumerate(zip(values, rows)):
            bars.text(
                value + 0.01,
                index,
                f"{value:.4f}" if row["status"] == "completed" else row["status"],
                va="center",
                fontsize=8,
            )
        finish_plot(figure, path, sweep_dir, plt)


def finish_plot(figure, path: Path, sweep_dir: Path, plt) -> None:
    figure.suptitle(f"Sweep {sweep_dir}")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))
    plt.close(figure)


def test_set_warning(rows: List[dict]) -> List[str]:
    """The summary's first line when jobs validated on the test set: their ranking used the test set."""
    on_test = [row["job"] for row in rows if row.get("validation") == "test"]
    if not on_test:
        return []
    return [
        f"**This ranking used the test set**: {len(on_test)} of {len(rows)} jobs validated on it "
        f"(training.validation=test), so the best validation accuracy below is test accuracy and choosing by "
        f"it is choosing on the test set. Leave training.validation at auto (a split of the training set in "
        f"sweeps) or set it to split for an honest choice.",
        "",
    ]


def split_foreign(rows: List[dict], jobs_defined: Optional[int]):
    """(this sweep's rows, rows of job folders it does not define): with resume=<sweep dir> and a smaller
    sweep than before, the folders numbered past its jobs are left from the earlier definition."""
    if jobs_defined is None:
        return rows, []
    foreign = [row for row in rows if row["job"].isdigit() and int(row["job"]) >= jobs_defined]
    return [row for row in rows if row not in foreign], foreign


def foreign_lines(foreign: List[dict]) -> List[str]:
    if not foreign:
        return []
    lines = ["", "## Job folders this sweep does not define", ""]
    lines.append("Left from an earlier definition of the sweep (resumed with fewer jobs): not ranked, not counted.")
    lines += [""] + [f"- {row['job']}: {row['overrides']} ({row['status']})" for row in foreign]
    return lines


def summarize(sweep_dir: Path, jobs_defined: Optional[int] = None) -> List[dict]:
    """Write summary.csv, summary.md and summary.png into `sweep_dir`; return this sweep's rows, best first
    (`jobs_defined`: how many jobs the sweep defines, when known; other job folders are listed apart)."""
    rows = sorted((read_job(job) for job in job_directories(sweep_dir)), key=sort_key)
    rows, foreign = split_foreign(rows, jobs_defined)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(sweep_dir / "summary.csv", buffer.getvalue())
    counts = {
        status: sum(row["status"] == status for row in rows) for status in dict.fromkeys(row["status"] for row in rows)
    }
    lines = test_set_warning(rows) + [
        f"# Sweep summary: {sweep_dir}",
        "",
        f"{len(rows)} jobs: "
        + ", ".join(f"{count} {status}" for status, count in counts.items())
        + ". Best validation accuracy first.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += [
        "| " + " | ".join(format_value(row[column]).replace("|", "\\|") for column in COLUMNS) + " |" for row in rows
    ]
    lines += seed_lines(seed_groups(rows)) + foreign_lines(foreign)
    write_text(sweep_dir / "summary.md", "\n".join(lines) + "\n")
    plot_summary(sweep_dir / "summary.png", sweep_dir, rows)
    return rows


def planned_jobs(config) -> Optional[int]:
    """The number of jobs a multirun will launch: the grid's size for Hydra's basic sweeper, the trial
    count for Optuna; None for a sweeper this does not know."""
    sweeper = config.hydra.runtime.choices.get("hydra/sweeper") or "basic"
    if sweeper == "basic":
        from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
        from hydra.core.override_parser.overrides_parser import OverridesParser

        overrides = OverridesParser.create().parse_overrides(list(config.hydra.overrides.task))
        return sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None))
    return config.hydra.sweeper.get("n_trials")


def jobs_per_batch(config) -> Optional[int]:
    """How many jobs the sweeper hands the launcher at once: the whole grid (or the basic sweeper's
    max_batch_size), an Optuna search's n_jobs trials; None when unknown."""
    planned, sweeper = planned_jobs(config), config.hydra.sweeper
    limits = [value for value in (planned, sweeper.get("n_jobs"), sweeper.get("max_batch_size")) if value]
    return min(limits) if limits else None


def resume_command(arguments: List[str], sweep_dir: Path) -> str:
    """The command that continues this sweep: the same arguments, resume=<sweep dir>."""
    kept = [argument for argument in arguments if not argument.startswith("resume=")]
    return " ".join(["python -m fcbaseline", *(shlex.quote(argument) for argument in kept), f"resume={sweep_dir}"])


class SummaryCallback(Callback):
    """Hydra callback: summarize the sweep when a multirun ends; exit 1 when any job failed."""

    sweep_started = False  # read by fcbaseline.__main__.cli: a failure after this is not a usage error
    jobs_planned = None  # how many jobs this sweep runs, when known (the progress bar's `job 3/8`)

    def on_multirun_start(self, config, **kwargs) -> None:
        SummaryCallback.sweep_started = True
        SummaryCallback.jobs_planned = planned_jobs(config)
        SweepStop.install(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarize(sweep_dir, SummaryCallback.jobs_planned)
        failed = [row["job"] for row in rows if row["status"] != "completed"]
        print(f"Sweep summary: {sweep_dir / 'summary.md'}")
        print((sweep_dir / "summary.md").read_text())
        stopped = SweepStop.stopped(sweep_dir)
        SweepStop.uninstall()
        if stopped:
            print(f"Interrupted; continue the sweep with\n  {resume_command(sys.argv[1:], sweep_dir)}", file=sys.stderr)
            sys.exit(128 + stopped)
        if any(row["status"] in ("failed", "killed") for row in rows):
            print(f"Jobs not completed: {', '.join(failed)}; see their metrics.json for the error.", file=sys.stderr)
            sys.exit(1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Rebuild summary.csv, summary.md and summary.png of fcbaseline sweeps."
    )
    parser.add_argument("sweep_dirs", nargs="+", type=Path, help="sweep directories (outputs/multirun/<date>/<time>)")
    arguments = parser.parse_args(argv)
    status = 0
    for sweep_dir in arguments.sweep_dirs:
        if not sweep_dir.is_dir():
            print(
                f"{sweep_dir}: not a directory; give the sweep directory that holds the numbered job folders.",
                file=sys.stderr,
            )
            status = 2
            continue
        rows = summarize(sweep_dir)
        print(f"{sweep_dir}: {len(rows)} jobs summarized in summary.csv, summary.md, summary.png")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""A sweep's summary, from the job folders on disk: summary.csv, summary.md and summary.png.

It reads each job's metrics.json, history.csv and .hydra/overrides.yaml, so it works for any launcher
(in-process, joblib, Ray, SLURM), for a sweep still running and for an interrupted one. The sweep's
lifecycle callback writes it when a multirun ends; `fcbaseline-summarize <sweep dir>` rebuilds it.
"""

import csv
import io
import math
import os
import platform
from pathlib import Path
from typing import List, Optional

import yaml

from fcbaseline.compare.report import table_lines
from fcbaseline.config.keys import without_resume
from fcbaseline.files import write_text
from fcbaseline.rundir import METRICS, SAVED_OVERRIDES, SUMMARY_CSV, SUMMARY_MD, SUMMARY_PNG, RunFolder, Status
from fcbaseline.sweep.groups import Repeated, repeated_configurations, varying

COLUMNS = [
    "job",
    "overrides",
    "status",
    "validation",
    "model_val_accuracy",  # what the jobs are ranked by: the validation accuracy of the model each kept
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
    jobs = [path for path in sweep_dir.iterdir() if path.is_dir() and (path / METRICS).exists()]
    return sorted(
        jobs, key=lambda path: (not path.name.isdigit(), int(path.name) if path.name.isdigit() else 0, path.name)
    )


def job_overrides(job: Path, metrics: dict) -> str:
    path = job / SAVED_OVERRIDES
    try:
        overrides = yaml.safe_load(path.read_text()) if path.exists() else metrics.get("overrides", [])
    except (OSError, yaml.YAMLError):  # a damaged record: the summary shows the job without its overrides
        overrides = []
    overrides = overrides if isinstance(overrides, list) else []
    return " ".join(without_resume([str(override) for override in overrides]))


def read_job(job: Path) -> dict:
    folder = RunFolder(job)
    metrics = folder.metrics()
    row = {column: metrics.get(column) for column in COLUMNS}
    row["model_val_accuracy"] = folder.model_val_accuracy(metrics)
    row["job"] = job.name
    row["overrides"] = job_overrides(job, metrics)
    row["status"] = metrics.get("status", "unknown")
    if row["status"] == Status.RUNNING and not process_alive(metrics):
        row["status"] = Status.KILLED  # killed outright (SIGKILL, out of memory, node lost): it never wrote its end
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
    """Best validation accuracy (of the model kept) first (the test set never chooses); jobs without one last."""
    value = row["model_val_accuracy"]
    return (value is None or not math.isfinite(value), -(value or 0.0), row["job"])


def format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


def seed_lines(repeated: Repeated) -> List[str]:
    """The summary.md section for the configurations repeated over seeds or folds (repeated_configurations):
    the table `fcbaseline compare` gives for these jobs."""
    if not repeated.groups and not repeated.note:
        return []
    left_out = f" ({repeated.left_out} jobs not completed, left out)" if repeated.left_out else ""
    lines = [
        "",
        "## Seeds and folds aggregated",
        "",
        f"Jobs that differ only in `training.seed` or `training.fold`{left_out}; mean [95% confidence interval, "
        "Student's t; the validation one widened for overlapping training sets on a split or folds] of the "
        "validation accuracy of the model each job kept and of the test accuracy, best mean "
        "validation first. Indistinguishable from the best: a t-test on validation accuracy against the best "
        "configuration (Welch's on the test set; on a split or folds, Nadeau and Bengio's corrected paired "
        "test), Holm-corrected, p >= 0.05; `fcbaseline compare` gives the same for any runs.",
        "",
    ]
    return lines + ([repeated.note] if repeated.note else table_lines(repeated.groups))


def test_set_warning(rows: List[dict]) -> List[str]:
    """The summary's first line when jobs validated on the test set: their ranking used the test set."""
    on_test = [row["job"] for row in rows if row.get("validation") == "test"]
    if not on_test:
        return []
    return [
        f"**This ranking used the test set**: {len(on_test)} of {len(rows)} jobs validated on it "
        f"(training.validation=test), so the validation accuracy below is test accuracy and choosing by "
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


def job_table(rows: List[dict]) -> List[str]:
    """The jobs, each named by the overrides that differ between jobs; the ones all share said once above."""
    lines = [override.split() for override in (row["overrides"] for row in rows)]
    shared = [override for override in (lines[0] if lines else []) if all(override in line for line in lines)]
    shown = [{**row, "overrides": label} for row, label in zip(rows, varying([row["overrides"] for row in rows]))]
    table = []
    if shared and len(rows) > 1:
        table = ["", "Every job has: " + " ".join(f"`{override}`" for override in shared)]
    table += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    return table + [
        "| " + " | ".join(format_value(row[column]).replace("|", "\\|") for column in COLUMNS) + " |" for row in shown
    ]


def summarize(sweep_dir: Path, jobs_defined: Optional[int] = None) -> List[dict]:
    """Write summary.csv, summary.md and summary.png into `sweep_dir`; return this sweep's rows, best first
    (`jobs_defined`: how many jobs the sweep defines, when known; other job folders are listed apart)."""
    rows = sorted((read_job(job) for job in job_directories(sweep_dir)), key=sort_key)
    rows, foreign = split_foreign(rows, jobs_defined)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(sweep_dir / SUMMARY_CSV, buffer.getvalue())
    counts = {
        status: sum(row["status"] == status for row in rows) for status in dict.fromkeys(row["status"] for row in rows)
    }
    lines = test_set_warning(rows) + [
        f"# Sweep summary: {sweep_dir}",
        "",
        f"{len(rows)} jobs: "
        + ", ".join(f"{count} {status}" for status, count in counts.items())
        + ". Best validation accuracy of the model kept (model_val_accuracy) first.",
    ]
    repeated = repeated_configurations(sweep_dir, rows)
    lines += job_table(rows) + seed_lines(repeated) + foreign_lines(foreign)
    write_text(sweep_dir / SUMMARY_MD, "\n".join(lines) + "\n")
    from fcbaseline.sweep.plot import plot_summary  # matplotlib: only once there is a summary to draw

    plot_summary(sweep_dir / SUMMARY_PNG, sweep_dir, rows, repeated.groups)
    return rows

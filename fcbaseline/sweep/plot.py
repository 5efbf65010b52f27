"""summary.png: each job's validation accuracy per epoch beside its final test accuracy (or, for seed
groups, each configuration's mean with its 95% interval), labelled by what the sweep varies."""

import csv
from pathlib import Path
from typing import List

from fcbaseline.compare.groups import VALIDATION, Group
from fcbaseline.compare.report import draw_intervals
from fcbaseline.files import write_atomically
from fcbaseline.rundir import HISTORY, Status
from fcbaseline.sweep.groups import swept_labels


def read_histories(job: Path):
    path = job / HISTORY
    if not path.exists():
        return None
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    return [int(row["epoch"]) for row in rows], [float(row["val_accuracy"]) for row in rows]


def plot_seed_spread(axes, groups: List[Group]) -> None:
    """Each repeated configuration's mean validation accuracy with its 95% interval, blue when
    indistinguishable from the best, each seed or fold a dot (as compare.png draws it)."""
    draw_intervals(axes, groups, VALIDATION, "validation")
    axes.set_title("Seeds and folds aggregated, best mean first\n(blue: indistinguishable from the best)")


LEGEND_JOBS = 10  # curves named in summary.png's legend (best validation first)
STATUS_COLORS = {Status.COMPLETED: "tab:blue", Status.PRUNED: "tab:orange"}  # any other status: red


def plot_summary(path: Path, sweep_dir: Path, rows: List[dict], groups: List[Group]) -> None:
    """`groups`: the configurations the sweep repeats over seeds or folds (sweep/groups.py), if any."""
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
                f"{value:.4f}" if row["status"] == Status.COMPLETED else row["status"],
                va="center",
                fontsize=8,
            )
        finish_plot(figure, path, sweep_dir, plt)


def finish_plot(figure, path: Path, sweep_dir: Path, plt) -> None:
    figure.suptitle(f"Sweep {sweep_dir}")
    figure.tight_layout()
    write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))
    plt.close(figure)

"""What `fcbaseline compare` writes: the table (printed, compare.md, compare.csv) and compare.png, each
group's mean and 95% interval of validation and test accuracy drawn so that overlap shows, each run a dot."""

import csv
import io
import math
import textwrap
from pathlib import Path
from typing import List, Optional, Tuple

from fcbaseline.compare.groups import Group
from fcbaseline.compare.statistics import ALPHA, LEVEL, McNemar
from fcbaseline.files import write_atomically, write_text

COLUMNS = ("configuration", "n", "val_mean", "val_std", "val_low", "val_high", "test_mean", "test_std")
COLUMNS += ("test_low", "test_high", "p_vs_best", "indistinguishable_from_best")


def number(value: Optional[float], digits: int = 4) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def mark(group: Group) -> str:
    if group.best:
        return "best"
    return {True: "yes", False: "no", None: "untested (n < 2)"}[group.indistinguishable]


def cell(interval) -> str:
    if interval.mean is None:
        return ""
    if interval.low is None:
        return number(interval.mean)
    return f"{number(interval.mean)} [{number(interval.low)}, {number(interval.high)}]"


def markdown(groups: List[Group], shared: List[str], left_out: int, mcnemar: Optional[McNemar]) -> str:
    """The table, with the settings every run shares stated once above it."""
    runs = sum(len(group.runs) for group in groups)
    lines = [
        "# fcbaseline compare",
        "",
        f"{runs} completed runs in {len(groups)} configurations"
        + (f" ({left_out} runs not completed, left out)" if left_out else "")
        + f"; mean [{LEVEL:.0%} confidence interval, Student's t] over each configuration's runs, best mean "
        f"validation accuracy first. Indistinguishable from the best: Welch's t-test on validation accuracy "
        f"against the best configuration, Holm-corrected for {max(len(groups) - 1, 0)} comparisons, "
        f"p >= {ALPHA}.",
    ]
    settings = groups[0].runs[0].settings if groups else {}
    if shared:
        lines += ["", "Shared by every run: " + ", ".join(f"`{key}={settings.get(key)}`" for key in shared)]
    lines += [
        "",
        "| configuration | n | best validation accuracy | test accuracy | p vs best | indistinguishable from best |",
        "|---|---:|---|---|---:|---|",
    ]
    for group in groups:
        label = group.label.replace("|", "\\|")
        val, test = group.figures["best_val_accuracy"], group.figures["test_accuracy"]
        p_value = number(group.p_vs_best, 3)
        lines.append(f"| {label} | {len(group.runs)} | {cell(val)} | {cell(test)} | {p_value} | {mark(group)} |")
    if mcnemar is not None:
        lines += [
            "",
            f"McNemar's exact test between the two runs' test predictions: {mcnemar.only_first_right} images only "
            f"the first classifies correctly, {mcnemar.only_second_right} only the second; p = {mcnemar.p_value:.4g}.",
        ]
    return "\n".join(lines) + "\n"


def csv_text(groups: List[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for group in groups:
        val, test = group.figures["best_val_accuracy"], group.figures["test_accuracy"]
        figures = [val.mean, val.std, val.low, val.high, test.mean, test.std, test.low, test.high, group.p_vs_best]
        writer.writerow([group.label, len(group.runs), *[number(value, 6) for value in figures], mark(group)])
    return out.getvalue()


DRAWN_GROUPS = 30  # more rows than this make a picture nobody reads; the table keeps them all


def drawn(groups: List[Group], limit: int = DRAWN_GROUPS) -> Tuple[List[Group], str]:
    """The groups compare.png draws (the first `limit` of the ranking, best first) and what its title
    says of those left out."""
    if len(groups) <= limit:
        return groups, ""
    return groups[:limit], f"the best {limit} of {len(groups)} configurations by validation; all in compare.md"


def plot(path: Path, groups: List[Group]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups, left_out = drawn(groups)
    with plt.style.context("ggplot"):
        height = 2.0 + 0.5 * len(groups)
        figure, panels = plt.subplots(1, 2, figsize=(13, height), sharey=True)
        for axes, name, title in zip(panels, ("best_val_accuracy", "test_accuracy"), ("validation", "test")):
            for row, group in enumerate(groups):
                interval = group.figures[name]
                values = [run.metrics.get(name) for run in group.runs]
                color = "tab:blue" if group.indistinguishable else "tab:gray"
                if interval.low is not None:
                    axes.hlines(row, interval.low, interval.high, color=color, linewidth=5, alpha=0.5)
                if interval.mean is not None:
                    axes.plot([interval.mean], [row], "|", color="black", markersize=14)
                axes.plot(values, [row] * len(values), "k.", markersize=5)
            axes.set_xlabel(f"{title} accuracy: mean, {LEVEL:.0%} interval (bar), runs (dots)")
        labels = [f"{rank}. {textwrap.shorten(group.label, 60)}" for rank, group in enumerate(groups, 1)]
        panels[0].set_yticks(range(len(groups)), labels, fontsize=8)
        panels[0].invert_yaxis()
        title = "blue: indistinguishable from the best on validation (Welch, Holm); gray: worse or untested"
        figure.suptitle(f"{title}\n{left_out}" if left_out else title)
        figure.tight_layout()
        write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=100))
        plt.close(figure)


def write_all(folder: Path, groups: List[Group], shared: List[str], left_out: int, mcnemar) -> str:
    """compare.md, compare.csv and compare.png into `folder`; returns the markdown (the printed table)."""
    text = markdown(groups, shared, left_out, mcnemar)
    write_text(folder / "compare.md", text)
    write_text(folder / "compare.csv", csv_text(groups))
    plot(folder / "compare.png", groups)
    return text

"""What `fcbaseline compare` writes: the table (printed, compare.md, compare.csv) and compare.png, each
group's mean and 95% interval of validation and test accuracy drawn so that overlap shows, each run a dot."""

import csv
import io
import math
import textwrap
from pathlib import Path
from typing import List, Optional, Tuple

from fcbaseline.compare.groups import FIGURES, TEST, VALIDATION, Group, comparisons
from fcbaseline.compare.statistics import ALPHA, LEVEL, McNemar
from fcbaseline.files import write_atomically, write_text
from fcbaseline.rundir import TEST_PREDICTIONS

COLUMNS = ("configuration", "n", "val_mean", "val_std", "val_low", "val_high", "test_mean", "test_std")
COLUMNS += ("test_low", "test_high", "p_vs_best", "indistinguishable_from_best")


def number(value: Optional[float], digits: int = 4) -> str:
    return "" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def mark(group: Group) -> str:
    if group.best:
        return "best"
    return {True: "yes", False: "no", None: "untested"}[group.indistinguishable]


def cell(interval) -> str:
    if interval.mean is None:
        return ""
    if interval.low is None:
        return number(interval.mean)
    return f"{number(interval.mean)} [{number(interval.low)}, {number(interval.high)}]"


def on_test_warning(groups: List[Group]) -> List[str]:
    """The table's first line when some runs validated on the test set: their ranking is the test set's."""
    on_test = sum(run.metrics.get("validation") == "test" for group in groups for run in group.runs)
    if not on_test:
        return []
    return [
        "",
        f"**{on_test} of these runs validated on the test set** (training.validation=test, or auto in a single "
        f"run): their validation accuracy is test accuracy, and ranking by it chooses on the test set. Run "
        f"them with training.validation=split (or kfold) for an honest choice.",
    ]


def mcnemar_lines(mcnemar: Optional[Tuple[str, str, McNemar]]) -> List[str]:
    if mcnemar is None:
        return []
    first, second, test = mcnemar
    if test is None:
        return ["", f"No McNemar's test: `{first}` or `{second}` kept no {TEST_PREDICTIONS}."]
    return [
        "",
        f"McNemar's exact test between two runs' test predictions: {test.only_first_right} test images only "
        f"`{first}` classifies correctly, {test.only_second_right} only `{second}`; p = {test.p_value:.4g}.",
    ]


def table_lines(groups: List[Group]) -> List[str]:
    """The groups as a markdown table (compare.md, and the sweep summary's repeated configurations)."""
    lines = [
        "| configuration | n | validation accuracy | test accuracy | p vs best | indistinguishable from best |",
        "|---|---:|---|---|---:|---|",
    ]
    for group in groups:
        label = group.label.replace("|", "\\|")
        val, test = group.figures[VALIDATION], group.figures[TEST]
        p_value = number(group.p_vs_best, 3)
        lines.append(f"| {label} | {val.n} | {cell(val)} | {cell(test)} | {p_value} | {mark(group)} |")
    return lines


def markdown(groups: List[Group], shared: List[str], left_out: int, mcnemar) -> str:
    """The table, with the settings every run shares stated once above it; `mcnemar`: (the first run's
    folder, the second's, their test) or None."""
    runs = sum(len(group.runs) for group in groups)
    resampled = any(group.resample_ratio is not None for group in groups)
    lines = [
        "# fcbaseline compare",
        "",
        f"{runs} completed runs in {len(groups)} configurations"
        + (f" ({left_out} runs not completed, left out)" if left_out else "")
        + f"; mean [{LEVEL:.0%} confidence interval, Student's t] over each configuration's runs, best mean "
        f"validation accuracy (of the model each run kept) first. Indistinguishable from the best: "
        f"a t-test on validation accuracy against the best configuration (Welch's for runs validated on the "
        f"test set; for runs validated on a split or folds of the training set, Nadeau and Bengio's corrected "
        f"paired test over the same seeds and folds), Holm-corrected for {comparisons(groups)} comparisons, "
        f"p >= {ALPHA}; untested: one run, or seeds and folds that do not pair."
        + (
            " Validation intervals of runs validated on a split or folds are widened for their overlapping "
            "training sets."
            if resampled
            else ""
        ),
    ]
    lines += on_test_warning(groups)
    settings = groups[0].runs[0].settings if groups else {}
    if shared:
        lines += ["", "Shared by every run: " + ", ".join(f"`{key}={settings.get(key)}`" for key in shared)]
    lines += [""] + table_lines(groups)
    return "\n".join(lines + mcnemar_lines(mcnemar)) + "\n"


def csv_text(groups: List[Group]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for group in groups:
        val, test = group.figures[VALIDATION], group.figures[TEST]
        figures = [val.mean, val.std, val.low, val.high, test.mean, test.std, test.low, test.high, group.p_vs_best]
        writer.writerow([group.label, val.n, *[number(value, 6) for value in figures], mark(group)])
    return out.getvalue()


DRAWN_GROUPS = 30  # more rows than this make a picture nobody reads; the table keeps them all


def drawn(groups: List[Group], limit: int = DRAWN_GROUPS) -> Tuple[List[Group], str]:
    """The groups compare.png draws (the first `limit` of the ranking, best first) and what its title
    says of those left out."""
    if len(groups) <= limit:
        return groups, ""
    return groups[:limit], f"the best {limit} of {len(groups)} configurations by validation; all in compare.md"


def draw_intervals(axes, groups: List[Group], name: str, title: str, labelled: bool = True) -> None:
    """Each group's mean (tick), 95% interval (bar: blue when indistinguishable from the best, else gray)
    and runs (dots) of figure `name`, best first from the top; labelled: the groups named on the left."""
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
    if labelled:
        labels = [f"{rank}. {textwrap.shorten(group.label, 60)}" for rank, group in enumerate(groups, 1)]
        axes.set_yticks(range(len(groups)), labels, fontsize=8)
        axes.invert_yaxis()


def plot(path: Path, groups: List[Group]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups, left_out = drawn(groups)
    with plt.style.context("ggplot"):
        height = 2.0 + 0.5 * len(groups)
        figure, panels = plt.subplots(1, 2, figsize=(13, height), sharey=True)
        for axes, name, title in zip(panels, FIGURES, ("validation", "test")):
            draw_intervals(axes, groups, name, title, labelled=axes is panels[0])
        title = "blue: indistinguishable from the best on validation (t-test, Holm); gray: worse or untested"
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

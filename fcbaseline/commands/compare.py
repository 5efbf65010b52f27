"""`fcbaseline compare <run or sweep folders...> [--output DIR]`

Is configuration A better than B, or is it noise? The completed runs in the folders given are grouped by
configuration (every result-changing key but the seed and the fold), and for each group the table gives
n, the mean and 95% confidence interval (Student's t) of the validation accuracy of the model each run
kept and of the test accuracy, ranked by validation; each group is tested against the best (Welch's
t-test on validation; for runs validated on a split or folds of the training set, a corrected paired
t-test; Holm-corrected) and marked when indistinguishable from it. Two single runs also get McNemar's
exact test on their test predictions. The table is printed and written with compare.csv and compare.png into
outputs/compare/<date>/<time>/ under the working directory, or --output. Runs on different test sets are
refused. The statistics: fcbaseline/compare/statistics.py.
"""

import argparse
import sys
from datetime import datetime
from pathlib import Path

from fcbaseline import exits
from fcbaseline.compare import groups as grouping
from fcbaseline.compare import report
from fcbaseline.compare.statistics import mcnemar
from fcbaseline.errors import ConfigError, DataError
from fcbaseline.exits import ExitCode
from fcbaseline.files import OutputError, check_creatable, make_folder
from fcbaseline.predictions import read_test_predictions
from fcbaseline.rundir import TEST_PREDICTIONS


def default_output() -> Path:
    now = datetime.now()
    return Path.cwd() / "outputs" / "compare" / f"{now:%Y-%m-%d}" / f"{now:%H-%M-%S_%f}"


def two_runs_test(runs):
    """(first folder, second folder, McNemar's test or None when a run kept no test predictions) when
    exactly two runs are compared, else None."""
    if len(runs) != 2:
        return None
    names = [str(run.folder) for run in runs]
    if not all((run.folder / TEST_PREDICTIONS).is_file() for run in runs):
        return (*names, None)
    first, second = (read_test_predictions(run.folder / TEST_PREDICTIONS) for run in runs)
    if not (first["true_class"] == second["true_class"]).all():
        raise ConfigError(f"{runs[0].folder} and {runs[1].folder} hold predictions for different test labels.")
    right = [arrays["predicted_class"] == arrays["true_class"] for arrays in (first, second)]
    return (*names, mcnemar(*right))


def compare(folders, output: Path) -> str:
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError(f"{folder}: not a directory; give run folders or sweep folders.")
    check_creatable(output, "Give another folder with --output.")
    found = grouping.run_folders(list(folders))
    runs = grouping.comparable([run for run in (grouping.read_run(folder) for folder in found) if run is not None])
    if not runs:
        raise ConfigError(f"none of the {len(found)} runs found has completed: there is nothing to compare.")
    grouping.check_same_test_set(runs)
    groups = grouping.grouped(runs)
    _, shared = grouping.configuration_keys(runs)
    make_folder(output, "Give another folder with --output.")
    return report.write_all(output, groups, shared, len(found) - len(runs), two_runs_test(runs))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="fcbaseline compare",
        description="Compare fcbaseline runs: confidence intervals, t-tests against the best, McNemar.",
    )
    parser.add_argument("folders", nargs="+", type=Path, help="run folders and/or sweep folders")
    parser.add_argument("--output", type=Path, help="folder for compare.md/csv/png (default outputs/compare/<time>)")
    arguments = parser.parse_args(argv)
    output = arguments.output or default_output()
    try:
        text = compare(arguments.folders, output)
    except (ConfigError, DataError, OutputError) as error:
        print(str(error), file=sys.stderr)
        return exits.expected_exit(error)
    print(text)
    print(f"written: {output / 'compare.md'}, compare.csv, compare.png")
    return ExitCode.OK

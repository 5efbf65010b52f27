"""`fcbaseline summarize <sweep dirs...>` (also `fcbaseline-summarize`): rebuild summary.csv, summary.md
and summary.png of sweeps from their job folders, also while a sweep runs or after it was interrupted."""

import argparse
import sys
from pathlib import Path

from fcbaseline import exits, rundir
from fcbaseline.errors import ConfigError
from fcbaseline.exits import ExitCode
from fcbaseline.files import OutputError
from fcbaseline.sweep.summary import summarize


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="fcbaseline summarize", description="Rebuild summary.csv, summary.md and summary.png of fcbaseline sweeps."
    )
    parser.add_argument("sweep_dirs", nargs="+", type=Path, help="sweep directories (outputs/multirun/<date>/<time>)")
    arguments = parser.parse_args(argv)
    status = ExitCode.OK
    for sweep_dir in arguments.sweep_dirs:
        if not sweep_dir.is_dir():
            print(
                f"{sweep_dir}: not a directory; give the sweep directory that holds the numbered job folders.",
                file=sys.stderr,
            )
            status = ExitCode.USAGE
            continue
        try:
            rundir.check_is_sweep(sweep_dir)
            rows = summarize(sweep_dir)
        except (ConfigError, OutputError) as error:
            print(str(error), file=sys.stderr)
            status = max(status, exits.expected_exit(error))
            continue
        print(f"{sweep_dir}: {len(rows)} jobs summarized in summary.csv, summary.md, summary.png")
    return status


def cli() -> None:
    sys.exit(main())

"""The one Hydra callback (conf/config.yaml) that owns a run's or a sweep's folder in the launching
process, from start to end.

A single run: its folder is checked writable and locked before Hydra writes anything into it. A sweep:
its folder likewise; then <sweep dir>/sweep.json (what each job reads of its sweep: record.py), the
stop on SIGINT/SIGTERM (stop.py) and, with tracking=mlflow, the parent MLflow run; at the end the
summary, the parent run finished, the summary printed, and the exit status: 128 + the signal when it
was stopped (with the command that continues it), 1 when a job failed or was killed.
"""

import shlex
import sys
from pathlib import Path
from typing import List

from hydra.experimental.callback import Callback

from fcbaseline import exits, rundir
from fcbaseline.config.keys import without_resume
from fcbaseline.errors import ConfigError
from fcbaseline.files import FolderBusy, OutputError
from fcbaseline.rundir import SUMMARY_MD, Status
from fcbaseline.sweep import record
from fcbaseline.sweep.stop import SweepStop, stopped
from fcbaseline.sweep.summary import summarize
from fcbaseline.tracking.sweep import finish_parent, start_parent


def resume_command(arguments: List[str], sweep_dir: Path) -> str:
    """The command that continues this sweep: the same arguments, resume=<sweep dir>."""
    kept = without_resume(arguments)
    return " ".join(["python -m fcbaseline", *(shlex.quote(argument) for argument in kept), f"resume={sweep_dir}"])


def claim_or_exit(folder: Path, key: str, resuming: bool):
    """The folder claimed (rundir.claim), or one paragraph and exit 2 before anything runs or is written."""
    try:
        return rundir.claim(folder, key, resuming)
    except (ConfigError, OutputError, FolderBusy) as error:
        print(str(error), file=sys.stderr)
        sys.exit(exits.ExitCode.USAGE)


class Lifecycle(Callback):
    def __init__(self):
        self.lock = None  # the folder's lock, held until this process ends
        self.stop = None  # the sweep's SweepStop
        self.parent = None  # the sweep's parent MLflow run
        self.jobs_planned = None

    def on_run_start(self, config, **kwargs) -> None:
        self.lock = claim_or_exit(Path(config.hydra.run.dir), "hydra.run.dir", bool(config.get("resume")))

    def on_multirun_start(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        self.lock = claim_or_exit(sweep_dir, "hydra.sweep.dir", bool(config.get("resume")))
        self.jobs_planned = record.write(config)["jobs_planned"]
        self.stop = SweepStop(sweep_dir).install()
        self.parent = start_parent(config, sweep_dir)

    def on_multirun_end(self, config, **kwargs) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        rows = summarize(sweep_dir, self.jobs_planned)
        finish_parent(self.parent, sweep_dir, rows)
        print(f"Sweep summary: {sweep_dir / SUMMARY_MD}")
        print((sweep_dir / SUMMARY_MD).read_text())
        signal_number = stopped(sweep_dir)
        self.stop.uninstall()
        if signal_number:
            print(f"Interrupted; continue the sweep with\n  {resume_command(sys.argv[1:], sweep_dir)}", file=sys.stderr)
            sys.exit(exits.interrupted(signal_number))
        if any(row["status"] in (Status.FAILED, Status.KILLED) for row in rows):
            failed = [row["job"] for row in rows if row["status"] != Status.COMPLETED]
            print(f"Jobs not completed: {', '.join(failed)}; see their metrics.json for the error.", file=sys.stderr)
            sys.exit(exits.ExitCode.FAILED)

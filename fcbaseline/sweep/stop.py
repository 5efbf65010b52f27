"""A sweep stopped by SIGINT or SIGTERM: the running jobs finish their epoch and save (stopping.py),
the jobs not started yet are skipped, and the sweep ends with its summary instead of in the middle of a
job. The stop is recorded in <sweep dir>/.interrupted, where jobs in other processes (joblib workers,
Ray tasks on a shared filesystem) see it too."""

import logging
import signal
from pathlib import Path

from fcbaseline.rundir import SWEEP_STOP
from fcbaseline.stopping import SIGNALS

log = logging.getLogger("fcbaseline.stopping")


def stopped(sweep_dir: Path) -> int:
    """The signal that stopped the sweep in `sweep_dir`, as any of its jobs sees it; 0 if none did."""
    try:
        return int((Path(sweep_dir) / SWEEP_STOP).read_text())
    except (OSError, ValueError):
        return 0


def record(sweep_dir: Path, number: int) -> None:
    """The sweep is stopping: for this process and for jobs in others."""
    try:
        (Path(sweep_dir) / SWEEP_STOP).write_text(str(int(number)))
    except OSError:
        log.warning(f"cannot record the stop in {sweep_dir}; jobs in other processes will still start")


class SweepStop:
    """The launching process's handlers while a sweep runs (each job installs its own StopRequests over them)."""

    def __init__(self, sweep_dir: Path):
        self.sweep_dir = Path(sweep_dir)

    def install(self) -> "SweepStop":
        (self.sweep_dir / SWEEP_STOP).unlink(missing_ok=True)  # left by an earlier, interrupted run of this sweep
        for number in SIGNALS:
            signal.signal(number, self.request)
        return self

    def request(self, number, frame):
        if stopped(self.sweep_dir):  # a second signal: stop now
            raise KeyboardInterrupt
        record(self.sweep_dir, number)
        log.warning(f"{signal.Signals(number).name} received: the jobs not started yet are skipped.")

    def uninstall(self) -> None:
        (self.sweep_dir / SWEEP_STOP).unlink(missing_ok=True)
        for number in SIGNALS:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)

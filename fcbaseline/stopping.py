"""SIGINT and SIGTERM as a request to stop at the next safe point, for the whole run: while the data
loads, while TensorFlow compiles, after the epoch in progress, between the report's files."""

import logging
import signal
from pathlib import Path
from typing import Optional

log = logging.getLogger(__name__)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived outside the epoch loop (loading, compiling, writing the report)."""


class StopRequests:
    """Turns SIGINT and SIGTERM into a request to stop at the next safe point (state saved): after the
    epoch in progress, or between the steps of a run. A second signal stops at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)
    last_signal = 0  # the signal that stopped the last run, for the exit status

    def __init__(self):
        self.received = None

    def __enter__(self):
        self.previous = {number: signal.getsignal(number) for number in self.SIGNALS}
        for number in self.SIGNALS:
            signal.signal(number, self.request)
        return self

    def request(self, number, frame):
        if self.received is not None:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        self.received = StopRequests.last_signal = number
        log.warning(f"{signal.Signals(number).name} received: stopping at the next safe point, with the state saved.")

    def check(self) -> None:
        """Between the steps of a run: stop here if a signal arrived."""
        if self.received is not None:
            raise Interrupted(signal.Signals(self.received).name)

    def __exit__(self, *exception):
        for number, handler in self.previous.items():
            signal.signal(number, handler)


class SweepStop:
    """A sweep stopped by SIGINT or SIGTERM: the running jobs finish their epoch and save (StopRequests),
    the jobs not started yet are skipped, and the sweep ends with its summary (SummaryCallback) instead of
    in the middle of a job. The launching process records the stop in <sweep dir>/.interrupted, where
    jobs in other processes (joblib workers, Ray tasks on a shared filesystem) see it too."""

    signal = 0  # the signal that stopped the sweep; 0 while it runs
    marker = None  # <sweep dir>/.interrupted

    @classmethod
    def install(cls, sweep_dir: Path) -> None:
        """In the launching process, when the sweep starts (each job installs StopRequests over this)."""
        cls.signal, cls.marker = 0, sweep_dir / MARKER
        cls.marker.unlink(missing_ok=True)  # left by an earlier, interrupted run of this sweep
        for number in StopRequests.SIGNALS:
            signal.signal(number, cls.request)

    @classmethod
    def request(cls, number, frame):
        if cls.signal:  # a second signal: stop now
            raise KeyboardInterrupt
        cls.record(number)
        log.warning(f"{signal.Signals(number).name} received: the jobs not started yet are skipped.")

    @classmethod
    def record(cls, number: int, sweep_dir: Optional[Path] = None) -> None:
        """The sweep is stopping: in this process, and for jobs in others."""
        cls.signal = StopRequests.last_signal = number
        marker = sweep_dir / MARKER if sweep_dir is not None else cls.marker
        if marker is not None:
            try:
                marker.write_text(str(number))
            except OSError:
                pass  # an unwritable sweep folder: this process still knows

    @staticmethod
    def stopped(sweep_dir: Path) -> int:
        """The signal that stopped the sweep in `sweep_dir`, as any of its jobs sees it; 0 if none did."""
        try:
            return SweepStop.signal or int((sweep_dir / MARKER).read_text())
        except (OSError, ValueError):
            return 0

    @classmethod
    def uninstall(cls) -> None:
        if cls.marker is not None:
            cls.marker.unlink(missing_ok=True)
        for number in StopRequests.SIGNALS:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)


MARKER = ".interrupted"

"""SIGINT and SIGTERM as a request to stop at the next safe point, for the whole run: while the data
loads, while TensorFlow compiles, after the epoch in progress, between the report's files."""

import logging
import signal

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
    """A sweep whose jobs run one after another in this process (Hydra's basic launcher): once a signal
    has stopped a job, or arrives between two jobs, the jobs not started yet are skipped and the sweep
    ends with its summary (fcbaseline.summarize.SummaryCallback) instead of in the middle of a job."""

    signal = 0  # the signal that stopped the sweep; 0 while it runs

    @classmethod
    def install(cls) -> None:
        """Between jobs (a job installs StopRequests over this while it runs)."""
        cls.signal = 0
        for number in StopRequests.SIGNALS:
            signal.signal(number, cls.request)

    @classmethod
    def request(cls, number, frame):
        if cls.signal:  # a second signal: stop now
            raise KeyboardInterrupt
        cls.signal = StopRequests.last_signal = number
        log.warning(f"{signal.Signals(number).name} received: the jobs not started yet are skipped.")

    @classmethod
    def uninstall(cls) -> None:
        for number in StopRequests.SIGNALS:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)

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

"""SIGINT and SIGTERM as a request to stop at the next safe point, for the whole run: while the data
loads, while TensorFlow compiles, after the epoch in progress, between the report's files. A second
signal stops at once. The stop is an `Interrupted` (a KeyboardInterrupt) carrying the signal."""

import logging
import signal
import threading

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the run; `at_once` when a second signal did not wait for a safe point."""

    def __init__(self, signal_number: int, at_once: bool = False):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number, self.at_once = int(signal_number), at_once


class StopRequests:
    """Turns SIGINT and SIGTERM into a request to stop at the next safe point (state saved): after the
    epoch in progress, or between the steps of a run. Outside the main thread (where Python cannot take
    signals) it only holds `received`."""

    def __init__(self):
        self.received = None
        self.previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = {number: signal.getsignal(number) for number in SIGNALS}
            for number in SIGNALS:
                signal.signal(number, self.request)
        return self

    def request(self, number, frame):
        if self.received is not None:  # a second Ctrl-C: the user means it
            raise Interrupted(self.received, at_once=True)
        self.received = number
        log.warning(f"{signal.Signals(number).name} received: stopping at the next safe point, with the state saved.")

    def check(self) -> None:
        """Between the steps of a run: stop here if a signal arrived."""
        if self.received is not None:
            raise Interrupted(self.received)

    def __exit__(self, *exception):
        for number, handler in self.previous.items():
            signal.signal(number, handler)

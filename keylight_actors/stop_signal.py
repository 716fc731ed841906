"""Waiting in the main thread until SIGINT or SIGTERM asks the server to stop.

A Python signal handler runs in the main thread between two bytecodes, inside whatever it
interrupted, so it must not take a lock the main thread may already hold. Setting a
``threading.Event`` from it does: a second signal that lands while the first handler is in
``Event.set`` (holding the event's lock) waits on that lock forever. ``keylight serve``
under ``timeout``, which forwards a SIGINT the server also received itself, hung that way.
The handler here only records the signal; the waiting thread polls for it.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterable

POLL_SECONDS = 0.2


class StopSignal:
    def __init__(self, signals: Iterable[signal.Signals] = (signal.SIGINT, signal.SIGTERM)
                 ) -> None:
        self._signals = tuple(signals)
        self.received: signal.Signals | None = None

    def install(self) -> None:
        """Take over the signals; call from the main thread."""
        for signum in self._signals:
            signal.signal(signum, self._record)

    def _record(self, signum: int, _frame: object) -> None:
        if self.received is None:
            self.received = signal.Signals(signum)

    def wait(self) -> signal.Signals:
        """Block until one of the signals arrives; answers which came first."""
        while self.received is None:
            time.sleep(POLL_SECONDS)
        return self.received

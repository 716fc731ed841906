"""`keylight serve` waits for SIGINT or SIGTERM, and stops however many arrive at once."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from keylight_actors.stop_signal import StopSignal

WAIT_LIMIT_SECONDS = 5.0


def _hung(*_: object) -> None:
    raise TimeoutError(f"the wait did not end within {WAIT_LIMIT_SECONDS} s")


@pytest.fixture
def stop_signal():
    """A StopSignal in charge of SIGINT and SIGTERM, and an alarm that turns a wait that
    hangs (a handler deadlocked on a lock, say) into a failure."""
    kept = {signum: signal.getsignal(signum)
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)}
    stop = StopSignal()
    stop.install()
    signal.signal(signal.SIGALRM, _hung)
    signal.setitimer(signal.ITIMER_REAL, WAIT_LIMIT_SECONDS)
    yield stop
    signal.setitimer(signal.ITIMER_REAL, 0)
    for signum, handler in kept.items():
        signal.signal(signum, handler)


def send_soon(*signums: signal.Signals) -> threading.Thread:
    def send() -> None:
        time.sleep(0.1)
        for signum in signums:
            os.kill(os.getpid(), signum)

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def test_a_termination_signal_ends_the_wait_and_says_which(stop_signal):
    sender = send_soon(signal.SIGTERM)
    assert stop_signal.wait() is signal.SIGTERM
    sender.join()


def test_signals_arriving_back_to_back_end_the_wait_with_the_first(stop_signal):
    """A supervisor forwarding a signal the server also got, or Ctrl-C pressed twice."""
    sender = send_soon(signal.SIGINT, signal.SIGINT, signal.SIGTERM, signal.SIGINT)
    assert stop_signal.wait() is signal.SIGINT
    sender.join()

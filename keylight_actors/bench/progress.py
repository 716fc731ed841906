"""A text progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

REDRAW_SECONDS = 0.2
BAR_WIDTH = 28


class Progress:
    def __init__(self, label: str, total: float, *, unit: str = "",
                 stream: TextIO | None = None, enabled: bool = True,
                 tenths: bool = True) -> None:
        self.label = label
        self.total = max(float(total), 1e-9)
        self.unit = unit
        self.done = 0.0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tenths = tenths  # off a terminal: a line per tenth, else only the last line
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._drawn_at = 0.0
        self._last_tenth = -1
        self._started = time.monotonic()

    def update(self, amount: float = 1.0) -> None:
        self.set(self.done + amount)

    def set(self, done: float, *, note: str = "") -> None:
        self.done = min(float(done), self.total)
        if not self.enabled:
            return
        now = time.monotonic()
        if self._tty:
            if now - self._drawn_at >= REDRAW_SECONDS or self.done >= self.total:
                self._drawn_at = now
                self.stream.write("\r" + self._line(note) + "\x1b[K")
                self.stream.flush()
        elif self.tenths:
            tenth = int(10 * self.done / self.total)
            if tenth > self._last_tenth:
                self._last_tenth = tenth
                self.stream.write(self._line(note) + "\n")
                self.stream.flush()

    def close(self, note: str = "") -> None:
        if not self.enabled:
            return
        if self._tty:
            self.stream.write("\r" + self._line(note) + "\x1b[K\n")
        elif self._last_tenth < 10 or not self.tenths:
            self.stream.write(self._line(note) + "\n")
        self.stream.flush()

    def _line(self, note: str) -> str:
        fraction = self.done / self.total
        filled = int(BAR_WIDTH * fraction)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        elapsed = time.monotonic() - self._started
        amount = (f"{self.done:,.0f}/{self.total:,.0f}{self.unit}" if self.unit != "s"
                  else f"{self.done:.0f}/{self.total:.0f}s")
        line = f"{self.label:<34} [{bar}] {fraction:4.0%} {amount} {elapsed:5.1f}s"
        return f"{line} {note}" if note else line

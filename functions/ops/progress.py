"""A progress bar on stderr, standard library only: drawn on a terminal, or when asked for.

Output meant for scripts (stdout, ``--json``) never carries it, and a log file does not fill with
carriage returns unless ``--progress`` asks for them.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """``update(done, total)``; ``total`` None while unknown (a listing of unknown length)."""

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
        min_interval_seconds: float = 0.1,
    ) -> None:
        self.stream = stream or sys.stderr
        self.label = label
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.min_interval_seconds = min_interval_seconds
        self.started = time.monotonic()
        self._drawn = 0.0
        self._width = 0

    def update(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn < self.min_interval_seconds and done != total:
            return
        self._drawn = now
        elapsed = now - self.started
        if total:
            filled = WIDTH * min(done, total) // total
            eta = elapsed / done * (total - done) if done else 0.0
            text = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} eta {eta:.0f}s"
        else:
            text = f"{self.label} {done} read, {elapsed:.0f}s"
        self.stream.write("\r" + text.ljust(self._width))
        self._width = len(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0

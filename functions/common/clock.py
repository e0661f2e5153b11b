"""Time as a dependency: handlers take a ``Clock`` so tests and benchmarks run in virtual time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch (float)."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds`` (virtual clocks advance instead)."""


class SystemClock:
    """Wall-clock time; what the Lambdas use in AWS."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

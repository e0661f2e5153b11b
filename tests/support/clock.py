"""The tests' manual clock: the ``Clock`` of functions/common/clock.py (``now`` in epoch seconds,
``sleep``), in virtual time that moves only when told.

- ``sleep(s)``: the code under test waits; time moves on by ``s`` (never back) and ``s`` is kept
  in ``slept``, as given, for tests that assert on the waits.
- ``advance(s)`` and ``set(t)``: the test moves time (not recorded as sleeps); ``t`` may also be
  assigned directly.
- ``at(when, callback)``: run ``callback`` once a ``sleep`` or ``advance`` reaches ``when``
  (something that happens while the code under test waits).
- ``tick``: every ``now`` first moves time on by ``tick``, so concurrent callers (it is
  thread-safe) each read a later time, as real senders do.

It is not tests/support/virtual_time.py's ``VirtualClock``: that one runs a discrete-event
simulation of threads that block in ``sleep``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class ManualClock:
    def __init__(self, start: float, *, tick: float = 0.0) -> None:
        self.t = start
        self.tick = tick
        self.slept: list[float] = []
        self._due: list[tuple[float, Callable[[], object]]] = []
        self._lock = threading.RLock()

    def now(self) -> float:
        with self._lock:
            if self.tick:
                # rounded to the microsecond so many ticks do not drift at epoch scale
                self.t = round(self.t + self.tick, 6)
            return self.t

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
        self._move(max(seconds, 0.0))

    def advance(self, seconds: float) -> None:
        self._move(seconds)

    def set(self, t: float) -> None:
        with self._lock:
            self.t = t

    def at(self, when: float, callback: Callable[[], object]) -> None:
        with self._lock:
            self._due.append((when, callback))

    def _move(self, seconds: float) -> None:
        with self._lock:
            self.t += seconds
            due = sorted((e for e in self._due if e[0] <= self.t), key=lambda e: e[0])
            self._due = [e for e in self._due if e[0] > self.t]
        for _, callback in due:
            callback()

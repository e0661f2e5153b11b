"""A virtual clock for many threads: time moves only when every participant waits on the clock.

Scheduling is cooperative and deterministic. Exactly one registered thread (the holder of the
*baton*) runs at a time; it hands the baton on only inside :meth:`VirtualClock.sleep` or
:meth:`VirtualClock.wait_for`. The next holder is the participant with the earliest wake-up
(ties: first come, first served); when that wake-up lies in the future, time jumps to it. So time
advances only when every participant is blocked on the clock, nothing between two clock calls
races with another participant, and a run with seeded randomness is reproducible.

Rule for code under test: never hold a real lock across a clock call (the next holder would block
on it with the baton in hand). A watchdog stops the clock and reports such a stall.

    clock = VirtualClock()
    for i in range(8):
        clock.spawn(worker, i, name=f"sender-{i}")   # worker() calls clock.sleep / wait_for
    clock.run(until=lambda: queue.empty(), max_seconds=3600)
    clock.stop()                                      # every participant gets ClockStopped
    clock.raise_errors()
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

EPOCH = 1_800_000_000.0  # 2027-01-15; on a 2**-22 s float grid, so 1-second window sums stay exact


class ClockStopped(BaseException):
    """Raised in a participant's clock call once the clock is stopped.

    A ``BaseException`` so that ``except Exception`` in the code under test does not swallow it.
    """


class _Participant:
    __slots__ = ("cond", "name")

    def __init__(self, name: str, lock: threading.Lock) -> None:
        self.name = name
        self.cond = threading.Condition(lock)


class _Entry:
    __slots__ = ("cancelled", "participant")

    def __init__(self, participant: _Participant) -> None:
        self.participant = participant
        self.cancelled = False


class VirtualClock:
    """Implements ``functions.common.clock.Clock`` for any number of threads."""

    def __init__(self, start: float = EPOCH, *, stall_seconds: float = 60.0) -> None:
        self.start = float(start)
        self._now = float(start)
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, _Entry]] = []
        self._seq = itertools.count()
        self._current: _Participant | None = None
        self._participants: set[_Participant] = set()
        self._idle: dict[_Participant, _Entry] = {}
        self._local = threading.local()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._stall_seconds = stall_seconds
        self._last_switch_wall = time.monotonic()
        self._watchdog: threading.Thread | None = None
        self.switches = 0
        self.errors: list[tuple[str, BaseException]] = []
        self.stall: str | None = None  # set when the watchdog or a deadlock stopped the clock

    # -- the Clock protocol ------------------------------------------------------------------
    def now(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        me = self._me()
        with self._lock:
            self._check_stopped()
            wake = self._after(seconds)
            if me is None:
                if self._participants:
                    raise RuntimeError("clock.sleep from a thread that is not a participant")
                self._now = wake  # single-threaded use: just advance
                return
            self._block(me, wake, idle=False)

    # -- more than the protocol ----------------------------------------------------------------
    def elapsed(self) -> float:
        return self._now - self.start

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        """Idle-wait until ``predicate()`` holds (re-checked after each :meth:`notify`) or the
        timeout passes; returns the predicate's last value. Evaluated with the baton held."""
        me = self._me()
        if me is None:
            raise RuntimeError("clock.wait_for from a thread that is not a participant")
        with self._lock:
            deadline = None if timeout is None else self._after(timeout)
        while True:
            if predicate():
                return True
            with self._lock:
                self._check_stopped()
                if deadline is not None and self._now >= deadline:
                    return False
                self._block(me, deadline, idle=True)

    def notify(self) -> None:
        """Shared state changed: idle-waiters become runnable (after the caller blocks)."""
        with self._lock:
            for participant, entry in self._idle.items():
                entry.cancelled = True
                self._push(self._now, participant)
            self._idle.clear()

    def spawn(self, target: Callable[..., Any], *args: Any, name: str | None = None) -> threading.Thread:
        """Start ``target(*args)`` in a new participant thread; it first runs when given the baton
        (the spawner blocks on the clock, or :meth:`run` / :meth:`register` is called).

        ``ClockStopped`` ends it quietly; any other exception is kept in :attr:`errors`."""
        participant = _Participant(name or f"participant-{len(self._threads)}", self._lock)
        with self._lock:
            self._check_stopped()
            self._participants.add(participant)
            self._push(self._now, participant)
        thread = threading.Thread(
            target=self._participant_main, args=(participant, target, args), name=participant.name
        )
        thread.daemon = True
        self._threads.append(thread)
        thread.start()
        self._start_watchdog()
        return thread

    def register(self, name: str = "main") -> None:
        """Make the calling thread a participant (it waits for the baton if someone holds it)."""
        if self._me() is not None:
            raise RuntimeError("thread already registered")
        me = _Participant(name, self._lock)
        self._local.participant = me
        with self._lock:
            self._check_stopped()
            self._participants.add(me)
            self._push(self._now, me)
            if self._current is None:
                self._dispatch()
            self._await_baton(me)

    def unregister(self) -> None:
        me = self._me()
        if me is None:
            return
        self._local.participant = None
        with self._lock:
            self._leave(me)

    @contextmanager
    def participant(self, name: str = "main") -> Iterator[None]:
        self.register(name)
        try:
            yield
        finally:
            self.unregister()

    def run(self, until: Callable[[], bool], *, max_seconds: float, step: float = 1.0) -> bool:
        """Let the participants run until ``until()`` holds (checked every ``step`` virtual
        seconds with the baton held) or ``max_seconds`` of virtual time passed. Then stop the
        clock and join the threads; the caller inspects a quiet world. Returns ``until()``."""
        owned = self._me() is None
        if owned:
            self.register("run")
        try:
            while True:
                if until():
                    return True
                if self.elapsed() >= max_seconds:
                    return False
                self.sleep(step)
        finally:
            self.stop()
            if owned:
                self._local.participant = None

    def stop(self, join_timeout: float = 10.0) -> list[str]:
        """Every participant's pending or next clock call raises ``ClockStopped``; joins the
        spawned threads and returns the names of those still alive after ``join_timeout``."""
        with self._lock:
            self._stopped = True
            for participant in self._participants:
                participant.cond.notify_all()
        alive = []
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(join_timeout)
                if thread.is_alive():
                    alive.append(thread.name)
        return alive

    @property
    def stopped(self) -> bool:
        return self._stopped

    def raise_errors(self) -> None:
        if self.stall:
            raise AssertionError(f"virtual clock stopped: {self.stall}")
        if self.errors:
            name, exc = self.errors[0]
            raise AssertionError(f"{len(self.errors)} participant(s) failed; first: {name}") from exc

    # -- machinery (self._lock held where noted) -------------------------------------------------
    def _me(self) -> _Participant | None:
        return getattr(self._local, "participant", None)

    def _check_stopped(self) -> None:
        if self._stopped:
            raise ClockStopped

    def _after(self, seconds: float) -> float:
        if math.isnan(seconds):
            raise ValueError("sleep(nan)")
        seconds = max(float(seconds), 0.0)
        wake = self._now + seconds
        if seconds > 0 and wake <= self._now:
            wake = math.nextafter(self._now, math.inf)
        return wake

    def _push(self, wake: float, participant: _Participant) -> _Entry:  # lock held
        entry = _Entry(participant)
        heapq.heappush(self._heap, (wake, next(self._seq), entry))
        return entry

    def _block(self, me: _Participant, wake: float | None, *, idle: bool) -> None:  # lock held
        if self._current is not me:
            raise RuntimeError(f"{me.name} called the clock without holding the baton")
        entry = self._push(wake, me) if wake is not None else _Entry(me)
        if idle:
            self._idle[me] = entry
        self._dispatch()
        self._await_baton(me)

    def _await_baton(self, me: _Participant) -> None:  # lock held
        while self._current is not me and not self._stopped:
            me.cond.wait()
        self._check_stopped()

    def _dispatch(self) -> None:  # lock held: hand the baton to the earliest wake-up
        if self._stopped:
            self._current = None
            return
        while self._heap:
            wake, _, entry = heapq.heappop(self._heap)
            if entry.cancelled or entry.participant not in self._participants:
                continue
            self._idle.pop(entry.participant, None)
            self._now = max(self._now, wake)
            self._current = entry.participant
            self.switches += 1
            self._last_switch_wall = time.monotonic()
            entry.participant.cond.notify()
            return
        self._current = None
        if self._participants:  # everyone idle-waits without a timeout: nothing can ever happen
            self.stall = "deadlock: " + ", ".join(sorted(p.name for p in self._participants))
            self._stopped = True
            for participant in self._participants:
                participant.cond.notify_all()

    def _leave(self, me: _Participant) -> None:  # lock held
        self._participants.discard(me)
        entry = self._idle.pop(me, None)
        if entry is not None:
            entry.cancelled = True
        if self._current is me:
            self._dispatch()

    def _participant_main(self, me: _Participant, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self._local.participant = me
        try:
            with self._lock:
                self._await_baton(me)
            target(*args)
        except ClockStopped:
            pass
        except BaseException as exc:
            with self._lock:
                self.errors.append((me.name, exc))
        finally:
            self._local.participant = None
            with self._lock:
                self._leave(me)

    def _start_watchdog(self) -> None:
        if self._watchdog is not None or self._stall_seconds <= 0:
            return

        def watch() -> None:
            while not self._stopped:
                time.sleep(min(1.0, self._stall_seconds / 4))
                with self._lock:
                    stuck = self._current is not None and (
                        time.monotonic() - self._last_switch_wall > self._stall_seconds
                    )
                    name = self._current.name if self._current else ""
                if stuck and not self._stopped:
                    self.stall = (
                        f"{name} held the baton {self._stall_seconds:.0f} s (wall) without a clock call"
                    )
                    self.stop(join_timeout=0)

        self._watchdog = threading.Thread(target=watch, name="virtual-clock-watchdog", daemon=True)
        self._watchdog.start()


class VirtualSends:
    """The sender's ``send_concurrently`` on a virtual clock: each of a batch's sends in its own
    participant thread (as ``ThreadedSends`` does on a Lambda), the caller waiting on the clock
    until all are done. Results in the tasks' order."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock

    def __call__(self, tasks: Any) -> list[Any]:
        results: list[Any] = [None] * len(tasks)
        done = [0]
        raised: list[BaseException] = []

        def one(i: int, task: Callable[[], Any]) -> None:
            try:
                results[i] = task()
            except ClockStopped:
                raise
            except BaseException as exc:
                raised.append(exc)
            finally:
                done[0] += 1
                self.clock.notify()

        for i, task in enumerate(tasks):
            self.clock.spawn(one, i, task, name=f"send-{i}")
        self.clock.wait_for(lambda: done[0] == len(tasks))
        if raised:
            raise raised[0]
        return results

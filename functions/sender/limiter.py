"""The slice's recipients-per-second limiter: an exact sliding-window log, in memory or in DynamoDB.

Why an exact sliding window. SES throttles on recipients per second over any one-second span.
A fixed window (count per calendar second) lets a full budget through at x.999 and another full
budget at (x+1).000 - twice the rate inside one second; a token bucket with a one-second burst
does the same at its refill boundary. Both trip SES's throttle exactly when the slice is busy.
The log keeps every grant (time, recipients) of the recent past and grants ``r`` recipients at
``now`` only if every half-open window ``(t - 1, t]`` that contains ``now`` still sums to at most
the budget with ``r`` added. A message larger than the budget (SES allows 50 recipients) is
granted only when every window containing ``now`` is empty, so it passes instead of starving.

Time. Clocks are float epoch seconds; the log keeps integer milliseconds (``to_ms`` rounds to
the nearest millisecond), so the guarantee holds exactly for the millisecond-rounded grant times,
i.e. to within half a millisecond of the ``now`` values given - far below any network jitter.
Integers also keep the half-open boundary exact: an entry at 10.000 leaves the window at 11.000.
Senders' clocks and their ``now`` values are not perfectly ordered (clock skew; a retry after a
lost write race keeps its earlier ``now``), so the log keeps *two* seconds behind its newest
entry: a caller whose ``now`` lags the newest grant by up to ``SKEW_TOLERANCE_MS`` is still judged
exactly (also against grants "after" its ``now``); one lagging further is told to wait until its
clock catches up. The log is pruned on every write, so it holds at most about two seconds of
grants.

The budget in force. The heartbeat (``functions/heartbeat``) writes the slice's budget for the
coming tick into the limiter item as ``budget`` (recipients/s) and ``budget_until`` (epoch
seconds, the end of that tick). :func:`budget_in_force` then says: that budget while
``now <= budget_until``; for one more second ``min(budget, rate_per_second)``; after that the
slice's guaranteed ``rate_per_second``. The middle step is what keeps the account safe when the
heartbeat stops: a one-second window can never hold grants made under the heartbeat's budget
*and* under the guaranteed rate, so for every window each slice is bounded by its last budget
(whose sum the heartbeat keeps within the quota) or by its guaranteed rate (whose sum the config
validation keeps within the quota). :func:`booking_horizon` keeps a grant decided under a
heartbeat budget inside that budget's tick (no booking past ``budget_until``) and allows none
ahead during the step; in the fallback proper a slice books ahead under its guaranteed rate, and
the heartbeat, once back, counts those bookings as in force until they have passed. A refusal
caused by the horizon alone says to ask again when the next budget takes over (:func:`judge`),
so senders keep their messages across a tick instead of handing them back to the queue. The
limiter only reads the heartbeat's attributes and never writes them.

DynamoDB and contention. All of a slice's state is one item (pk ``limiter#<slice>``) of the
account-region's state table: ``log`` (string, see ``encode_log``), ``version`` (number),
``expires_at`` (TTL, epoch seconds), ``paused_until`` / ``paused_reason``, and the heartbeat's
``budget`` / ``budget_until``. A reservation is a strongly consistent GetItem, the decision
here, and an UpdateItem that SETs only ``log``, ``version`` and ``expires_at`` on the condition
that ``version`` is still the one read (optimistic concurrency). A lost race returns the
winner's item with the ConditionalCheckFailedException (ReturnValuesOnConditionCheckFailure), so
the retry decides again without another read; after ``max_attempts`` lost races the caller is
told to wait a moment. Refusals write nothing. Cost: one read and one write per grant, and all of
a slice's senders serialise on one item. That is fine for tens of reservations per second per
slice (a write round trip is ~5-10 ms, so conflicts stay rare); well beyond that, or beyond a
few hundred grants per second (the log grows with the grant count and so does the write size),
shard the slice into several slices with a share of its rate each.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from functions.common.dynamodb import DynamoDbClient, conditional_check_item, number, number_value
from functions.common.limiter_item import (  # re-exported: the limiter's public names
    FALLBACK_STEP_SECONDS,
    Entry,
    budget_in_force,
    decode_log,
    encode_log,
    to_ms,
    write_pause,
)
from functions.common.log import log
from functions.sender.ports import Reservation

WINDOW_MS = 1000
"""The sliding window: SES's per-second rate, in milliseconds."""

SKEW_TOLERANCE_MS = 1000
"""How far a caller's ``now`` may lag the newest grant and still be judged exactly."""

STEP_POLL_SECONDS = 0.1
"""How often a caller refused in the step after a budget expired asks again."""


@dataclass(frozen=True)
class Decision:
    """Answer of :func:`decide`.

    ``granted``: ``recipients`` fit at ``now``; ``log`` then holds the new entry and is what to
    store. Otherwise ``wait_ms`` (> 0) is the earliest time from ``now`` at which they would fit
    if nobody else were granted meanwhile, and ``log`` is the log given, unchanged.
    """

    granted: bool
    wait_ms: int
    log: tuple[Entry, ...]

    @property
    def wait_seconds(self) -> float:
        return self.wait_ms / 1000


def decide(
    log: Iterable[Entry], now_ms: int, recipients: int, budget: float, max_wait_ms: int = 0
) -> Decision:
    """Decide one reservation against a window log; pure, so it is the same in memory and in DynamoDB.

    Grants ``recipients`` at the earliest time ``at`` in ``[now_ms, now_ms + max_wait_ms]`` such
    that every window ``(t - WINDOW_MS, t]`` containing ``at`` holds at most ``budget`` with them
    added, or holds nothing yet. Booking a slot ahead (``max_wait_ms`` > 0) is what keeps a large
    message from starving behind a stream of small ones: once booked, later callers fit around it.
    A message larger than the budget goes only into empty windows and books its excess as debt
    in the following windows (``budget`` per window), so a stream of large messages still
    averages the budget. A ``budget`` of zero or less grants nothing.

    The log starts with a horizon marker ``(horizon, 0)``: entries at or before it were pruned,
    so a caller whose windows reach back past it (a clock lagging the others by more than
    ``SKEW_TOLERANCE_MS``) is told to wait rather than judged on an incomplete log.
    """
    if recipients < 1:
        raise ValueError(f"recipients must be at least 1, got {recipients}")
    entries = sorted(log)
    horizon = entries[0][0] if entries and entries[0][1] == 0 else None
    if budget <= 0:
        return Decision(granted=False, wait_ms=WINDOW_MS, log=tuple(entries))
    if horizon is not None and now_ms - WINDOW_MS < horizon:
        return Decision(granted=False, wait_ms=horizon + WINDOW_MS - now_ms, log=tuple(entries))

    times = [t for t, _ in entries]
    prefix = [0, *itertools.accumulate(n for _, n in entries)]

    def window_sum(end: int) -> int:  # recipients granted in (end - WINDOW_MS, end]
        return prefix[bisect.bisect_right(times, end)] - prefix[bisect.bisect_right(times, end - WINDOW_MS)]

    def fits(at: int) -> bool:
        # The windows containing `at` end in [at, at + WINDOW_MS); their sums change only where
        # an entry enters, so checking the one ending at `at` and those ending at later entries
        # (bookings ahead, or other callers' clocks running ahead) covers them all.
        first_later = bisect.bisect_right(times, at)
        last_later = bisect.bisect_left(times, at + WINDOW_MS)
        for end in [at, *times[first_later:last_later]]:
            used = window_sum(end)
            if used > 0 and used + recipients > budget:
                return False
        return True

    # Room appears only when an entry leaves the windows, at its time + WINDOW_MS. The last such
    # moment always fits: no entry is left in any window containing it.
    candidates = [now_ms, *sorted({t + WINDOW_MS for t in times if t + WINDOW_MS > now_ms})]
    at = next(c for c in candidates if fits(c))
    if at - now_ms > max_wait_ms:
        return Decision(granted=False, wait_ms=at - now_ms, log=tuple(entries))
    booked = [(at, recipients)]
    excess, k = recipients - budget, 1
    while excess > 0:  # an oversize message pays its excess back in the windows after it
        debt = min(math.ceil(excess), max(1, math.floor(budget)))
        booked.append((at + k * WINDOW_MS, debt))
        excess, k = excess - debt, k + 1
    pruned_to = now_ms - WINDOW_MS - SKEW_TOLERANCE_MS
    if horizon is not None:
        pruned_to = max(pruned_to, horizon)
    return Decision(granted=True, wait_ms=at - now_ms, log=_add_and_prune(entries, booked, pruned_to))


def _add_and_prune(entries: list[Entry], booked: list[Entry], horizon: int) -> tuple[Entry, ...]:
    merged: dict[int, int] = {}
    for t, n in [*entries, *booked]:
        if n > 0 and t > horizon:
            merged[t] = merged.get(t, 0) + n
    return ((horizon, 0), *sorted(merged.items()))


def booking_horizon(budget: float | None, budget_until: float | None, now: float) -> float | None:
    """The latest time a reservation decided at ``now`` may be booked for (``None``: no limit).

    * A heartbeat budget in force: its ``budget_until``, so a grant lands in the tick whose
      budget allowed it (a later tick's budget may be lower).
    * The step after it expired (``now <= budget_until + FALLBACK_STEP_SECONDS``; most likely
      the heartbeat is just late): ``now``, no booking ahead, so nothing decided under the
      step's ``min(budget, rate)`` outlives it.
    * The fallback proper, and a slice without heartbeat attributes: no limit. Grants booked
      ahead under the guaranteed rate stay safe when the heartbeat resumes, because it counts
      them as in force until they have passed (``functions.common.limiter_item.booked_ahead``).
    """
    if budget is None or budget_until is None:
        return None
    if now <= budget_until:
        return budget_until
    if now <= budget_until + FALLBACK_STEP_SECONDS:
        return now
    return None


def ask_again_after(budget_until: float, now: float) -> float:
    """When a reservation refused only by the booking horizon is worth asking again: as the next
    tick's budget takes over, or (in the step) soon, since a late heartbeat writes any moment."""
    if now <= budget_until:
        return budget_until - now + 0.001
    return min(STEP_POLL_SECONDS, budget_until + FALLBACK_STEP_SECONDS - now + 0.001)


def judge(
    log: Iterable[Entry],
    now: float,
    recipients: int,
    *,
    rate_per_second: float,
    budget: float | None,
    budget_until: float | None,
    max_wait_seconds: float,
) -> Decision:
    """:func:`decide` under the budget in force and within the booking horizon.

    A refusal says when to ask again: the earliest fit under the budget in force, or sooner,
    when the fit lies beyond the horizon and within ``max_wait_seconds`` (the next budget may
    allow it; only asking again tells).
    """
    in_force = budget_in_force(rate_per_second, budget, budget_until, now)
    horizon = booking_horizon(budget, budget_until, now)
    wait_ms = _wait_ms(max_wait_seconds)
    capped = wait_ms if horizon is None else min(wait_ms, _wait_ms(max(0.0, horizon - now)))
    decision = decide(log, to_ms(now), recipients, in_force, capped)
    if decision.granted or budget_until is None or capped == wait_ms or decision.wait_ms > wait_ms:
        return decision
    again = max(1, math.ceil(ask_again_after(budget_until, now) * 1000))
    return Decision(granted=False, wait_ms=min(decision.wait_ms, again), log=decision.log)


@dataclass(frozen=True)
class HeartbeatBudget:
    """What the heartbeat writes for a slice: ``budget`` recipients/s, valid while ``until >= now``."""

    budget: float
    until: float


BudgetSource = Callable[[], HeartbeatBudget | None]
"""The in-memory twin of the limiter item's ``budget`` / ``budget_until`` attributes."""


def _until_slot(now: float, wait_ms: int) -> float:
    """Seconds from the caller's exact ``now`` to the booked millisecond: sleeping from an
    unrounded ``now`` by a rounded wait would send up to half a millisecond off the booked slot,
    and the guarantee holds for the booked times."""
    return max(0.0, (to_ms(now) + wait_ms) / 1000 - now)


def _wait_ms(max_wait_seconds: float) -> int:
    return max(0, math.floor(max_wait_seconds * 1000))


def _validated_rate(rate_per_second: float) -> float:
    if not rate_per_second >= 0:  # also rejects NaN
        raise ValueError(f"rate_per_second must be >= 0, got {rate_per_second}")
    return rate_per_second


class InMemoryLimiter:
    """The limiter for one process (tests, the simulation, the benchmark); thread-safe.

    ``budget_source`` plays the heartbeat: called on each reservation, its answer rules while
    valid, else ``rate_per_second`` does.
    """

    def __init__(self, rate_per_second: float, *, budget_source: BudgetSource | None = None) -> None:
        self.rate_per_second = _validated_rate(rate_per_second)
        self._budget_source = budget_source
        self._lock = threading.Lock()
        self._log: tuple[Entry, ...] = ()
        self._paused_until: float | None = None
        self.paused_reason: str | None = None

    def reserve(self, recipients: int, now: float, max_wait_seconds: float = 0.0) -> Reservation:
        heartbeat = self._budget_source() if self._budget_source is not None else None
        written, until = (heartbeat.budget, heartbeat.until) if heartbeat else (None, None)
        with self._lock:
            if self._paused_until is not None and now < self._paused_until:
                return Reservation(False, self._paused_until - now, self._paused_until)
            decision = judge(
                self._log, now, recipients, rate_per_second=self.rate_per_second, budget=written,
                budget_until=until, max_wait_seconds=max_wait_seconds,
            )  # fmt: skip
            if decision.granted:
                self._log = decision.log
                return Reservation(True, _until_slot(now, decision.wait_ms))
            return Reservation(False, decision.wait_seconds)

    def pause(self, until: float, reason: str) -> None:
        """Stop granting before ``until``; an earlier ``until`` never shortens a pause in force."""
        with self._lock:
            if self._paused_until is None or until > self._paused_until:
                self._paused_until, self.paused_reason = until, reason

    def log_entries(self) -> tuple[Entry, ...]:
        """The current window log (for tests and tooling)."""
        with self._lock:
            return self._log


class DynamoDbLimiter:
    """The limiter shared by all of a slice's senders, in the account-region's state table.

    ``max_attempts`` bounds lost write races per reservation; after them the answer is
    "not granted, wait ``conflict_wait_seconds``". ``ttl_seconds`` sets ``expires_at`` (now + it),
    so an idle slice's item goes away. ``conflicts`` counts lost races (for tests and benchmarks).
    """

    def __init__(
        self,
        client: DynamoDbClient,
        table_name: str,
        slice_name: str,
        rate_per_second: float,
        *,
        max_attempts: int = 5,
        conflict_wait_seconds: float = 0.02,
        ttl_seconds: int = 86400,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.client = client
        self.table_name = table_name
        self.slice_name = slice_name
        self.rate_per_second = _validated_rate(rate_per_second)
        self.max_attempts = max_attempts
        self.conflict_wait_seconds = conflict_wait_seconds
        self.ttl_seconds = ttl_seconds
        self.pk = f"limiter#{slice_name}"
        self.conflicts = 0
        self._count_lock = threading.Lock()

    def _key(self) -> dict[str, Any]:
        return {"pk": {"S": self.pk}}

    def _read(self) -> dict[str, Any]:
        response = self.client.get_item(TableName=self.table_name, Key=self._key(), ConsistentRead=True)
        item = response.get("Item")
        return item if isinstance(item, dict) else {}

    def reserve(self, recipients: int, now: float, max_wait_seconds: float = 0.0) -> Reservation:
        item = self._read()
        for _ in range(self.max_attempts):
            paused_until = number(item, "paused_until")
            if paused_until is not None and now < paused_until:
                return Reservation(False, paused_until - now, paused_until)
            decision = judge(
                decode_log(item.get("log", {}).get("S", "")), now, recipients,
                rate_per_second=self.rate_per_second, budget=number(item, "budget"),
                budget_until=number(item, "budget_until"), max_wait_seconds=max_wait_seconds,
            )  # fmt: skip
            if not decision.granted:
                return Reservation(False, decision.wait_seconds)
            version = number(item, "version")
            values: dict[str, Any] = {
                ":log": {"S": encode_log(decision.log)},
                ":new": number_value((version or 0) + 1),
                ":ttl": number_value(math.ceil(now) + self.ttl_seconds),
            }
            if version is None:
                condition = "attribute_not_exists(#version)"
            else:
                condition = "#version = :old"
                values[":old"] = number_value(version)
            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key=self._key(),
                    UpdateExpression="SET #log = :log, #version = :new, #expires_at = :ttl",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        "#log": "log",
                        "#version": "version",
                        "#expires_at": "expires_at",
                    },
                    ExpressionAttributeValues=values,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            except Exception as exc:
                current = conditional_check_item(exc)
                if current is None:
                    raise
                with self._count_lock:
                    self.conflicts += 1
                item = current  # the winner's item: decide again without another read
                continue
            return Reservation(True, _until_slot(now, decision.wait_ms))
        log(
            "limiter_contention",
            level="WARNING",
            slice=self.slice_name,
            attempts=self.max_attempts,
            wait_seconds=self.conflict_wait_seconds,
        )
        return Reservation(False, self.conflict_wait_seconds)

    def pause(self, until: float, reason: str) -> None:
        """Set ``paused_until`` / ``paused_reason`` unless a later pause is already set (see
        :func:`functions.common.limiter_item.write_pause`)."""
        if write_pause(self.client, self.table_name, self.slice_name, until=until, reason=reason,
                       ttl_seconds=self.ttl_seconds):  # fmt: skip
            log("limiter_paused", slice=self.slice_name, paused_until=until, reason=reason)

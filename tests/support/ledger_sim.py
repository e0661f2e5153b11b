"""A fast discrete-event model of one account-region: the real heartbeat ``tick`` and the real
``DynamoDbLimiter`` of each slice over one in-memory ledger table, with senders that book, sleep
to their slot and send, and SES counting recipients by the time each send lands.

Fast enough for property-based tests (hypothesis draws hundreds of worlds): no threads, no SQS
model, no handler; the sender loop here is the handler's ``_send_claimed`` reduced to its
timing (book within ``max_wait``, else wait as told and ask again, keeping the message).
``tests/integration/test_heartbeat_sim.py`` runs the real handlers in virtual time, and
``tests/bench/test_bench_heartbeat_wire.py`` runs them on the wire.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from functions.common.ledger import to_ms
from functions.heartbeat.handler import HeartbeatConfig, HeartbeatDeps, QuotaCache, SliceConfig, tick
from functions.sender.handler import NO_BUDGET_RETRY_SECONDS
from functions.sender.limiter import DynamoDbLimiter
from tests.support.ledger_table import LedgerTable

T0 = 1_800_000_000.0
POLL_SECONDS = 0.05  # an idle sender's next look at its queue (SQS long polling answers at once)


@dataclass(frozen=True)
class World:
    """One account-region: SES quota, heartbeat headroom, each slice's guaranteed rate, senders
    per slice, arrivals ``(seconds since start, recipients)`` per slice, and the heartbeat's
    behaviour: ``tick_delay(second)`` is how late the tick of that whole second runs (``None``:
    no tick, an outage)."""

    quota: float
    guaranteed: Sequence[float]
    arrivals: Sequence[Sequence[tuple[float, int]]]
    headroom: float = 1.0
    senders: int = 4
    max_wait_seconds: float = 5.0
    batch: int = 10  # messages a sender takes at once (the event source mapping's batch size)
    tick_delay: Callable[[int], float | None] = lambda _second: 0.0
    seconds: int = 60

    @property
    def names(self) -> list[str]:
        return [f"s{i}" for i in range(len(self.guaranteed))]


@dataclass
class Outcome:
    world: World
    sends: list[tuple[float, int, str]] = field(default_factory=list)  # (lands at, recipients, slice)
    backlog: dict[str, list[int]] = field(default_factory=dict)  # recipients waiting at each second
    caps: list[dict[str, float]] = field(default_factory=list)
    unsent: int = 0

    def per_second(self, name: str | None = None) -> list[int]:
        out = [0] * (self.world.seconds + 1)
        for at, n, s in self.sends:
            i = int(at - T0)
            if (name is None or s == name) and 0 <= i < len(out):
                out[i] += n
        return out

    def over_quota_windows(self) -> list[tuple[float, int]]:
        """Sends at whose landing SES saw more than the quota in (t - 1, t], from more than one send."""
        sends = sorted((to_ms(at), n) for at, n, _ in self.sends)
        bad, start, total = [], 0, 0
        for end, (t, n) in enumerate(sends):
            total += n
            while sends[start][0] <= t - 1000:
                total -= sends[start][1]
                start += 1
            if total > self.world.quota and end > start:
                bad.append((t / 1000, total))
        return bad


class _Queues:
    """What the heartbeat reads from SQS: messages waiting or held by a sender, per slice."""

    def __init__(self, depth: Callable[[str], int]) -> None:
        self.depth = depth

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.depth(kwargs["QueueUrl"]))}}


class _Quota:
    def __init__(self, quota: float) -> None:
        self.quota = quota

    def get_account(self, **_: Any) -> dict[str, Any]:
        return {"SendQuota": {"MaxSendRate": self.quota}}


def run(world: World) -> Outcome:  # noqa: PLR0912 - one event loop, kept in one place
    names = world.names
    table = LedgerTable()
    capacity = world.quota * world.headroom
    limiters = {
        n: DynamoDbLimiter(table, "state", n, g, account_rate_per_second=capacity)
        for n, g in zip(names, world.guaranteed, strict=True)
    }
    pending = {n: sorted(a) for n, a in zip(names, world.arrivals, strict=True)}  # not yet arrived
    returning: dict[str, list[tuple[float, int]]] = {n: [] for n in names}  # handed back, invisible
    queued: dict[str, deque[int]] = {n: deque() for n in names}
    batches: dict[tuple[str, int], list[int]] = {}  # (slice, sender) -> recipients of each message in hand
    outcome = Outcome(world, backlog={n: [] for n in names})
    config = HeartbeatConfig(
        state_table="state",
        slices=tuple(SliceConfig(n, g, (n,)) for n, g in zip(names, world.guaranteed, strict=True)),
        headroom=world.headroom,
    )
    depth = lambda n: (  # noqa: E731
        len(queued[n]) + len(returning[n]) + sum(len(b) for (s, _), b in batches.items() if s == n)
    )
    deps = HeartbeatDeps(
        ses=_Quota(world.quota), sqs=_Queues(depth), dynamodb=table, clock=None, quota=QuotaCache()
    )  # type: ignore[arg-type]
    seq = itertools.count()
    events: list[tuple[float, int, str, Any]] = []
    end = T0 + world.seconds
    for second in range(world.seconds + 1):
        delay = world.tick_delay(second)
        if delay is not None:
            heapq.heappush(events, (T0 + second + delay, next(seq), "tick", None))
        heapq.heappush(events, (T0 + second, next(seq), "books", None))
    for n in names:
        for i in range(world.senders):
            heapq.heappush(events, (T0, next(seq), "sender", (n, i, None)))  # (slice, sender, deadline)
    log = StringIO()
    with redirect_stdout(log):
        while events:
            now, _, kind, data = heapq.heappop(events)
            if now > end:
                break
            for n in names:  # arrivals up to now join their slice's queue
                while pending[n] and T0 + pending[n][0][0] <= now:
                    queued[n].append(pending[n].pop(0)[1])
                while returning[n] and T0 + returning[n][0][0] <= now:
                    queued[n].append(returning[n].pop(0)[1])
            if kind == "tick":
                result = tick(deps, config, now)
                outcome.caps.append(dict(result.get("caps", {})))
            elif kind == "books":
                for n in names:
                    waiting = sum(queued[n]) + sum(r for _, r in returning[n])
                    outcome.backlog[n].append(
                        waiting + sum(sum(b) for (s, _), b in batches.items() if s == n)
                    )
            elif kind == "send":  # a booked slot has come: SES counts it now
                name, recipients = data
                outcome.sends.append((now, recipients, name))
            else:
                name, sender, deadline = data
                key = (name, sender)
                if key not in batches:  # take the next batch, as the event source mapping hands it
                    if not queued[name]:
                        heapq.heappush(
                            events, (now + POLL_SECONDS, next(seq), "sender", (name, sender, None))
                        )
                        continue
                    take = min(world.batch, len(queued[name]))
                    batches[key] = [queued[name].popleft() for _ in range(take)]
                    deadline = now + world.max_wait_seconds
                batch = batches[key]
                grants = limiters[name].reserve_many(batch, now, max(deadline - now, 0.0), earliest=now)
                last, wait, kept = now, 0.0, []
                for recipients, grant in zip(batch, grants, strict=True):
                    if grant.granted and grant.at is not None:  # sent at its slot, alongside the rest
                        heapq.heappush(events, (grant.at, next(seq), "send", (name, recipients)))
                        last = max(last, grant.at)
                    else:
                        kept.append(recipients)
                        wait = grant.wait_seconds
                # as the handler does: the batch's sends finish, then what was refused is booked
                # again if the wait allows, else handed back (back when room may appear)
                resume = max(last, now + max(wait, 0.005) if kept else last)
                if kept and resume > deadline:
                    delay = min(max(1, math.ceil(wait)), NO_BUDGET_RETRY_SECONDS)
                    for recipients in kept:
                        bisect.insort(returning[name], (last - T0 + delay, recipients))
                    kept, resume = [], last  # the next batch once this one's sends are done
                if kept:
                    batches[key] = kept
                else:
                    del batches[key]
                    deadline = None
                heapq.heappush(events, (resume, next(seq), "sender", (name, sender, deadline)))
    outcome.unsent = (
        sum(sum(q) for q in queued.values())
        + sum(sum(b) for b in batches.values())
        + sum(n for p in returning.values() for _, n in p)
    )
    return outcome


def utilization_when_backlogged(outcome: Outcome, start: int = 0, end: int | None = None) -> float:
    """Recipients SES accepted in the seconds when some slice had mail waiting / (quota x those
    seconds)."""
    end = outcome.world.seconds if end is None else end
    total = outcome.per_second()
    busy = [s for s in range(start, end) if any(outcome.backlog[n][s] > 0 for n in outcome.world.names)]
    return sum(total[s] for s in busy) / (outcome.world.quota * len(busy)) if busy else 1.0


def lowest_5s_rate(outcome: Outcome, name: str, start: int = 0, end: int | None = None) -> float | None:
    """The slice's lowest mean rate over 5 whole seconds during which it had mail waiting throughout
    (``None``: never backlogged that long)."""
    end = outcome.world.seconds if end is None else end
    sent, backlog = outcome.per_second(name), outcome.backlog[name]
    rates = [
        sum(sent[s : s + 5]) / 5 for s in range(start, end - 4) if all(backlog[s + i] > 0 for i in range(5))
    ]
    return min(rates) if rates else None

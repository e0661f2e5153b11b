"""How far one ledger item carries a slice: the real ``DynamoDbLimiter`` over an in-memory table
that charges DynamoDB's write units and refuses beyond one partition's 1,000 WCU/s, with every
write a round trip, in virtual time.

Why a model and not moto: moto on this machine serves a few hundred requests a second; a slice
at 3,000 recipients/s books about 130 batches a second, each a conditional write that may lose a
race. What matters at that rate is what DynamoDB charges and refuses, and how often writes
collide, and both are modelled here:

* **Write units**: every ``PutItem`` / ``UpdateItem`` costs ``ceil(size / 1 KB)`` WCU, the size
  the larger of the item before and after (DynamoDB's rule), a failed conditional write too; a
  strongly consistent ``GetItem`` ``ceil(size / 4 KB)`` RCU. Sizes count attribute names and
  values as DynamoDB does (strings in UTF-8 bytes, numbers about one byte per two digits + 1).
* **The partition's limit**: a write that would take the key past ``WCU_PER_KEY`` in one second
  fails with ``ProvisionedThroughputExceededException`` (charged nothing; the sender hands its
  batch back and asks again after a back-off).
* **Round trips**: a sender decides on the item it last saw: its previous answer while that is
  younger than the limiter's ``CACHE_SECONDS``, else a strongly consistent read one round trip
  before its write. A lost race is decided again one round trip later on the winner's item, as
  the limiter does. So concurrency is real: every write that lands between a sender's view and
  its own makes it lose.

Senders book batches of ``BATCH`` heavy-tailed messages (1-50 recipients, mean 2.34) from an
endless backlog, hold them until their last slot, then take the next. Sends are counted at their
slots (SES itself is not the question here).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import defaultdict
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from typing import Any

from botocore.exceptions import ClientError

from functions.common.ledger import read_ledger
from functions.sender.limiter import CACHE_SECONDS, DynamoDbLimiter
from tests.support.ledger_table import LedgerTable
from tests.support.scenarios import heavy_tail_recipients

WCU_PER_KEY = 1000
"""DynamoDB's write throughput of one partition (one key), write units a second."""
BATCH = 10
ATTEMPTS = 3
"""Lost races a sender's limiter decides again at once before it waits (its ``max_attempts``)."""
MAX_WAIT_SECONDS = 5.0
T0 = 1_800_000_000.0


def attribute_bytes(name: str, value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute: its name plus its value (S: UTF-8 bytes; N: about one
    byte per two significant digits, plus one)."""
    if "S" in value:
        size = len(str(value["S"]).encode())
    elif "N" in value:
        digits = len(str(value["N"]).replace("-", "").replace(".", "").lstrip("0")) or 1
        size = math.ceil(digits / 2) + 1
    else:
        size = len(repr(value).encode())
    return len(name.encode()) + size


def item_bytes(item: dict[str, Any] | None) -> int:
    return sum(attribute_bytes(k, v) for k, v in (item or {}).items())


@dataclass
class Charges:
    """What one key was charged, per whole second of model time."""

    wcu: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    rcu: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))
    refused_writes: int = 0
    largest_item_bytes: int = 0


class CapacityTable(LedgerTable):
    """A :class:`LedgerTable` that charges write and read units per key and refuses writes beyond
    ``WCU_PER_KEY`` a second. ``clock()`` is the model's time (seconds)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__()
        self.clock = clock
        self.charges: defaultdict[str, Charges] = defaultdict(Charges)

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        answer = super().get_item(**kwargs)
        charges = self.charges[kwargs["Key"]["pk"]["S"]]
        charges.rcu[math.floor(self.clock())] += max(1, math.ceil(item_bytes(answer.get("Item")) / 4096))
        return answer

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        pk = kwargs["Item"]["pk"]["S"]
        size = max(item_bytes(self.items.get(pk)), item_bytes(kwargs["Item"]))
        self._charge(pk, size)
        return super().put_item(**kwargs)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        pk = kwargs["Key"]["pk"]["S"]
        self._charge(pk, item_bytes(self.items.get(pk)) + 200)  # the SET values, roughly
        return super().update_item(**kwargs)

    def _charge(self, pk: str, size: int) -> None:
        charges, second = self.charges[pk], math.floor(self.clock())
        units = max(1, math.ceil(size / 1024))
        if charges.wcu[second] + units > WCU_PER_KEY:
            charges.refused_writes += 1
            raise ClientError(
                {
                    "Error": {
                        "Code": "ProvisionedThroughputExceededException",
                        "Message": "key over 1,000 WCU/s",
                    }
                },
                "PutItem",
            )
        charges.wcu[second] += units  # a failed conditional write is charged too
        charges.largest_item_bytes = max(charges.largest_item_bytes, size)


@dataclass(frozen=True)
class Run:
    rate: float
    senders: int
    seconds: int = 30
    latency_seconds: float = 0.010  # one DynamoDB round trip
    send_seconds: float = 0.080  # from a slot until the sender takes its next batch
    seed: int = 1


@dataclass
class Result:
    run: Run
    sent: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))  # by slot second
    slots: defaultdict[int, int] = field(default_factory=lambda: defaultdict(int))  # slot ms -> recipients
    batches: int = 0
    lost_races: int = 0
    throttled_writes: int = 0
    handed_back: int = 0
    charges: Charges = field(default_factory=Charges)


def run(spec: Run) -> Result:
    """``spec.senders`` senders of one slice at ``spec.rate`` (the account's rate too), for
    ``spec.seconds`` of model time."""
    now = [T0]
    table = CapacityTable(lambda: now[0])
    rng = random.Random(spec.seed)  # noqa: S311 - a reproducible workload
    limiters = [
        DynamoDbLimiter(
            table,
            "state",
            "slice",
            spec.rate,
            account_rate_per_second=spec.rate,
            max_attempts=1,
            jitter=rng.random,
        )
        for _ in range(spec.senders)
    ]
    result = Result(spec)
    events: list[tuple[float, int, int]] = []
    seq = itertools.count()
    for i in range(spec.senders):  # senders start spread over the first round trip
        heapq.heappush(events, (T0 + rng.random() * spec.latency_seconds, next(seq), i))
    batches: dict[int, list[int]] = {}
    losses: dict[int, int] = {}
    end = T0 + spec.seconds
    with redirect_stdout(StringIO()):  # the limiter's contention log lines
        while events:
            at, _, sender = heapq.heappop(events)
            if at > end:
                break
            now[0] = at
            limiter = limiters[sender]
            seen = limiter._seen  # the model plays the round trip the limiter hides
            if seen is None or at - seen[1] >= CACHE_SECONDS:
                # a fresh read: its answer is the item now, and the write lands a round trip later
                limiter._saw(read_ledger(table, "state"), at)
                heapq.heappush(events, (at + spec.latency_seconds, next(seq), sender))
                continue
            sizes = batches.setdefault(sender, [heavy_tail_recipients(rng) for _ in range(BATCH)])
            conflicts = limiter.conflicts
            try:
                answers = limiter.reserve_many(
                    sizes, at, MAX_WAIT_SECONDS, earliest=at + spec.latency_seconds
                )
            except ClientError:  # the key's write units are spent: the batch goes back, ask again
                result.throttled_writes += 1
                result.handed_back += len(sizes)
                del batches[sender]
                heapq.heappush(events, (at + 0.1 + spec.latency_seconds, next(seq), sender))
                continue
            if limiter.conflicts > conflicts:
                # lost the race: decide again on the winner's item, one round trip later; after
                # ATTEMPTS in a row the limiter answers with a short jittered wait (production's
                # max_attempts), and the sender asks again after it
                result.lost_races += 1
                losses[sender] = losses.get(sender, 0) + 1
                retry = spec.latency_seconds
                if losses[sender] % ATTEMPTS == 0:
                    retry += limiter._conflict_wait()
                heapq.heappush(events, (at + retry, next(seq), sender))
                continue
            losses[sender] = 0
            result.batches += 1
            last = at + spec.latency_seconds / 2
            for n, answer in zip(sizes, answers, strict=True):
                if answer.granted and answer.at is not None:
                    result.slots[round(answer.at * 1000)] += n
                    result.sent[math.floor(answer.at - T0)] += n
                    last = max(last, answer.at)
                else:
                    result.handed_back += 1  # beyond the sender's wait: back to the queue
            del batches[sender]
            heapq.heappush(events, (last + spec.send_seconds, next(seq), sender))
    result.charges = table.charges["ledger"]
    return result


def figures(result: Result, start: int = 5) -> dict[str, Any]:
    """Over whole seconds ``[start, seconds - MAX_WAIT_SECONDS)`` (bookings run that far ahead)."""
    spec = result.run
    end = spec.seconds - math.ceil(MAX_WAIT_SECONDS)
    seconds = range(start, end)
    recipients = sum(result.sent[s] for s in seconds)
    wcu = [result.charges.wcu.get(math.floor(T0) + s, 0) for s in seconds]
    slot_capacity = spec.rate  # no heartbeat: a slot holds the configured rate
    over = [ms for ms, n in result.slots.items() if n > slot_capacity and n > 50]
    return {
        "rate": spec.rate,
        "senders": spec.senders,
        "recipients_per_second": round(recipients / len(seconds), 1),
        "utilization": round(recipients / (spec.rate * len(seconds)), 4),
        "slot_limit": round(1000 / 1050, 4),
        "wcu_per_second_mean": round(sum(wcu) / len(wcu), 1),
        "wcu_per_second_max": max(wcu),
        "wcu_per_1000_recipients": round(sum(wcu) / recipients * 1000, 1) if recipients else None,
        "writes_refused_over_1000_wcu": result.charges.refused_writes,
        "lost_races_per_batch": round(result.lost_races / max(1, result.batches), 3),
        "messages_handed_back": result.handed_back,
        "largest_item_bytes": result.charges.largest_item_bytes,
        "slots_over_capacity": len(over),
    }

"""The warm-up counter: one item per dedicated IP pool and UTC day in the stack's state table.

The warm-up controller writes each day's allowance ahead of time; every sender routed to the pool
takes a message's recipients from it with one conditional update, and sends through the shared
pool instead when the day's allowance cannot hold them. Neither job imports the other: both use
this module (the sender's zip holds only the counter, the controller's only the writer).

Item ``pk = warmup#<pool>#<YYYY-MM-DD>``:

- ``phase``: ``warmup`` (``remaining`` caps the day) or ``dedicated`` (the schedule is over: no cap);
- ``allowance``: the day's cap; ``remaining``: what is left of it; ``used``: recipients taken;
- ``expires_at``: TTL, a few days after the day.

No item (the controller has not run, or failed for days) means "shared pool": the counter then
sends nothing through the pool, so a broken controller can slow the warm-up but never overshoot.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Protocol

from functions.common.dynamodb import DynamoDbClient, conditional_check_item, number

WARMUP = "warmup"
DEDICATED = "dedicated"
KEEP_DAYS = 7  # items expire a week after their day (yesterday's `used` feeds a metric)


def utc_day(epoch_seconds: float) -> dt.date:
    """The UTC calendar day of a timestamp: warm-up days turn at 00:00 UTC."""
    return dt.datetime.fromtimestamp(epoch_seconds, tz=dt.UTC).date()


def warmup_key(pool: str, day: dt.date) -> str:
    return f"warmup#{pool}#{day.isoformat()}"


def expires_at(day: dt.date) -> int:
    end = dt.datetime.combine(day + dt.timedelta(days=KEEP_DAYS), dt.time(), tzinfo=dt.UTC)
    return int(end.timestamp())


class WarmupCounter(Protocol):
    def take(self, pool: str, day: dt.date, recipients: int) -> bool:
        """Count ``recipients`` against the day if they fit (or the schedule is over)."""

    def give_back(self, pool: str, day: dt.date, recipients: int) -> None:
        """Return recipients taken for a send that certainly did not happen."""

    def set_day(self, pool: str, day: dt.date, allowance: int | None) -> None:
        """Write a day's allowance (``None``: no cap), keeping what was already used."""

    def used(self, pool: str, day: dt.date) -> int:
        """Recipients taken on ``day`` (0 without an item)."""


class DynamoDbWarmupCounter:
    """The counter in DynamoDB: ``take`` is a single conditional ``UpdateItem``, no read first."""

    def __init__(self, client: DynamoDbClient, table: str) -> None:
        self.client = client
        self.table = table

    def take(self, pool: str, day: dt.date, recipients: int) -> bool:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": warmup_key(pool, day)}},
                UpdateExpression="ADD #r :minus, #u :n",
                # No item: both sides are false, nothing is created, the mail goes shared.
                ConditionExpression="#p = :dedicated OR #r >= :n",
                ExpressionAttributeNames={"#r": "remaining", "#u": "used", "#p": "phase"},
                ExpressionAttributeValues={
                    ":minus": {"N": str(-recipients)},
                    ":n": {"N": str(recipients)},
                    ":dedicated": {"S": DEDICATED},
                },
            )
        except Exception as exc:
            if conditional_check_item(exc) is None:
                raise
            return False
        return True

    def give_back(self, pool: str, day: dt.date, recipients: int) -> None:
        try:
            self.client.update_item(
                TableName=self.table,
                Key={"pk": {"S": warmup_key(pool, day)}},
                UpdateExpression="ADD #r :n, #u :minus",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#r": "remaining", "#u": "used"},
                ExpressionAttributeValues={":n": {"N": str(recipients)}, ":minus": {"N": str(-recipients)}},
            )
        except Exception as exc:
            if conditional_check_item(exc) is None:
                raise

    def set_day(self, pool: str, day: dt.date, allowance: int | None) -> None:
        # One atomic update: a sender's concurrent ADD is either before it (counted in `used`) or
        # after it (taken from the new `remaining`); a re-run or a changed schedule keeps `used`.
        self.client.update_item(
            TableName=self.table,
            Key={"pk": {"S": warmup_key(pool, day)}},
            UpdateExpression="SET #p = :phase, #a = :a, #r = :a - if_not_exists(#u, :zero), #e = :e",
            ExpressionAttributeNames={
                "#p": "phase",
                "#a": "allowance",
                "#r": "remaining",
                "#u": "used",
                "#e": "expires_at",
            },
            ExpressionAttributeValues={
                ":phase": {"S": WARMUP if allowance is not None else DEDICATED},
                ":a": {"N": str(allowance or 0)},
                ":zero": {"N": "0"},
                ":e": {"N": str(expires_at(day))},
            },
        )

    def used(self, pool: str, day: dt.date) -> int:
        item = (
            self.client.get_item(
                TableName=self.table, Key={"pk": {"S": warmup_key(pool, day)}}, ConsistentRead=True
            ).get("Item")
            or {}
        )
        return int(number(item, "used") or 0)


@dataclass
class _Day:
    phase: str
    allowance: int
    remaining: int
    used: int = 0


@dataclass
class InMemoryWarmupCounter:
    """The same semantics in memory (tests, simulation, benchmark); thread-safe."""

    days: dict[str, _Day] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, pool: str, day: dt.date, recipients: int) -> bool:
        with self.lock:
            item = self.days.get(warmup_key(pool, day))
            if item is None or (item.phase != DEDICATED and item.remaining < recipients):
                return False
            item.remaining -= recipients
            item.used += recipients
            return True

    def give_back(self, pool: str, day: dt.date, recipients: int) -> None:
        with self.lock:
            item = self.days.get(warmup_key(pool, day))
            if item is not None:
                item.remaining += recipients
                item.used -= recipients

    def set_day(self, pool: str, day: dt.date, allowance: int | None) -> None:
        with self.lock:
            key = warmup_key(pool, day)
            used = self.days[key].used if key in self.days else 0
            phase = WARMUP if allowance is not None else DEDICATED
            self.days[key] = _Day(phase, allowance or 0, (allowance or 0) - used, used)

    def used(self, pool: str, day: dt.date) -> int:
        with self.lock:
            item = self.days.get(warmup_key(pool, day))
            return item.used if item else 0

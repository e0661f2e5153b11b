"""The slice limiter item's shared format: read by the sender's limiter, written by the heartbeat.

One item per slice (pk ``limiter#<slice>``) in the account-region's state table holds the senders'
window log (``log``, see :func:`encode_log`) and the heartbeat's ``budget`` / ``budget_until``.
Both jobs import this module; neither imports the other.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence

from functions.common.dynamodb import DynamoDbClient, conditional_check_item, number_value

Entry = tuple[int, int]
"""One grant in the log: (time in epoch milliseconds, recipients)."""


def to_ms(seconds: float) -> int:
    """Epoch seconds to integer epoch milliseconds, rounded to the nearest millisecond."""
    return round(seconds * 1000)


def encode_log(entries: Sequence[Entry]) -> str:
    """Compact text for DynamoDB: ``"<t0>:<n0>,<d1>:<n1>,..."``, each ``d`` the milliseconds since
    the entry before (the log is sorted, so deltas are small and never negative)."""
    parts: list[str] = []
    previous = 0
    for i, (t, n) in enumerate(entries):
        parts.append(f"{t if i == 0 else t - previous}:{n}")
        previous = t
    return ",".join(parts)


def decode_log(text: str) -> tuple[Entry, ...]:
    """Inverse of :func:`encode_log`."""
    entries: list[Entry] = []
    t = 0
    for i, part in enumerate(p for p in text.split(",") if p):
        offset, _, count = part.partition(":")
        t = int(offset) if i == 0 else t + int(offset)
        entries.append((t, int(count)))
    return tuple(entries)


FALLBACK_STEP_SECONDS = 1.0
"""How long ``min(budget, rate)`` rules after the heartbeat's budget expired: one window."""


def budget_in_force(
    rate_per_second: float, budget: float | None, budget_until: float | None, now: float
) -> float:
    """The recipients/s a reservation at ``now`` may use.

    The heartbeat's ``budget`` while ``now <= budget_until``; then, for one more second
    (``now <= budget_until + 1``), ``min(budget, rate_per_second)``; after that the guaranteed
    ``rate_per_second``. Without a heartbeat budget: ``rate_per_second``. The step in between
    means no one-second window mixes the heartbeat's budget with the guaranteed rate, so the
    slices' sum stays within the quota while the heartbeat stops (and when it resumes).
    """
    if budget is None or budget_until is None:
        return rate_per_second
    if now <= budget_until:
        return budget
    if now <= budget_until + FALLBACK_STEP_SECONDS:
        return min(budget, rate_per_second)
    return rate_per_second


def booked_ahead(entries: Sequence[Entry], now_ms: int, window_ms: int = 1000) -> int:
    """The most recipients any one-second window ending at or after ``now_ms`` already holds.

    Grants booked ahead in the fallback were decided under the guaranteed rate, not under any
    heartbeat budget; until they have passed, the heartbeat must count them as in force (they
    may sit in windows its next budgets also fill). Window sums change only where an entry
    enters, so the windows ending at ``now_ms`` and at each later entry cover them all.
    """
    grants = sorted((t, n) for t, n in entries if n > 0)
    times = [t for t, _ in grants]
    prefix = [0, *itertools.accumulate(n for _, n in grants)]

    def window_sum(end: int) -> int:  # recipients granted in (end - window_ms, end]
        return prefix[bisect.bisect_right(times, end)] - prefix[bisect.bisect_right(times, end - window_ms)]

    return max(window_sum(end) for end in [now_ms, *(t for t in times if t > now_ms)])


LIMITER_TTL_SECONDS = 86400
"""How long a limiter item outlives its last use (``expires_at``: TTL, epoch seconds)."""


def write_pause(
    client: DynamoDbClient, table: str, slice_name: str, *, until: float, reason: str,
    ttl_seconds: int = LIMITER_TTL_SECONDS,
) -> bool:  # fmt: skip
    """Pause the slice (``paused_until`` / ``paused_reason``) unless a pause at least as long is
    set; True if written. The write bumps ``version``, so a sender whose reservation read the item
    before the pause loses its write race, reads the pause and refuses. Used by the senders
    (SendingPaused) and the reputation breaker."""
    try:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": f"limiter#{slice_name}"}},
            UpdateExpression=(
                "SET #paused_until = :until, #paused_reason = :reason, #expires_at = :ttl ADD #version :one"
            ),
            ConditionExpression="attribute_not_exists(#paused_until) OR #paused_until < :until",
            ExpressionAttributeNames={
                "#paused_until": "paused_until",
                "#paused_reason": "paused_reason",
                "#expires_at": "expires_at",
                "#version": "version",
            },
            ExpressionAttributeValues={
                ":until": number_value(until),
                ":reason": {"S": reason},
                ":ttl": number_value(math.ceil(until) + ttl_seconds),
                ":one": {"N": "1"},
            },
        )
    except Exception as exc:
        if conditional_check_item(exc) is None:
            raise
        return False  # a pause at least as long is in force already
    return True

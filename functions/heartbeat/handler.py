"""The heartbeat: once per second, share the account-region's SES rate among its slices by backlog.

A Step Functions Express loop invokes :func:`lambda_handler` once per tick. Each tick:

1. the account quota: sesv2 ``GetAccount`` ``SendQuota.MaxSendRate``, cached per container for
   ``QUOTA_CACHE_SECONDS`` (non-send SES APIs allow 1 request/s; the quota changes rarely);
2. per slice, the limiter item ``limiter#<slice>`` (strongly consistent GetItem: the budget in
   force now, and the window log for the mean recipients per grant);
3. per slice, the backlog in recipients: messages in both lanes (``ApproximateNumberOfMessages``
   + ``ApproximateNumberOfMessagesNotVisible``: in-flight messages are the ones senders are
   waiting to send; delayed ones are held on purpose and not counted) x the mean recipients per
   grant in the slice's log (1 when the log is empty); 0 while the slice is paused
   (``paused_until``: SES SendingPaused, the reputation breaker), so its share is lent out;
4. :func:`functions.heartbeat.allocator.allocate`, then per slice an UpdateItem that SETs only
   ``budget`` and ``budget_until`` (= now + ``TICK_SECONDS``: the end of the coming tick), plus
   ``budget_prev`` / ``budget_set_at`` (the budget it replaces and when), never ``log`` /
   ``version`` (the senders' optimistic concurrency is untouched). A budget replaced less than
   a second ago still counts as in force for the allocation, so ticks closer than a second
   (scheduling jitter, two executions overlapping at a minute boundary) cannot lend capacity a
   window may still hold; so do the grants a slice booked ahead during a fallback
   (:func:`functions.common.limiter_item.booked_ahead`) until they have passed.

It never changes Lambda or event-source concurrency: Lambda's control plane allows 15 requests/s
per account, and the budget in the limiter already bounds what the senders send.
A failing read (or a quota read failing with nothing cached) skips the tick: every budget expires
and the slices fall back (see ``functions.sender.limiter.budget_in_force``). Writes go decreases
first, then increases, and stop at the first failure.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.common.clock import Clock, SystemClock
from functions.common.dynamodb import number, number_value
from functions.common.limiter_item import booked_ahead, budget_in_force, decode_log, to_ms
from functions.common.log import log
from functions.heartbeat.allocator import SliceState, allocate

ENVIRONMENT_VARIABLES = ("STATE_TABLE", "SLICES", "HEADROOM", "TICK_SECONDS")
QUOTA_CACHE_SECONDS = 60.0


class SesAccountClient(Protocol):
    """The part of boto3's ``sesv2`` client the heartbeat calls."""

    def get_account(self, **kwargs: Any) -> dict[str, Any]: ...


class SqsAttributesClient(Protocol):
    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]: ...


class DynamoDbItemClient(Protocol):
    def get_item(self, **kwargs: Any) -> dict[str, Any]: ...

    def update_item(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SliceConfig:
    name: str
    rate_per_second: float
    queue_urls: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class HeartbeatConfig:
    """Settings of one account-region's heartbeat; ``from_env`` reads what the construct sets.

    Attributes:
        state_table: the account-region's state table (limiter items).
        slices: the slices sharing the account-region's quota.
        headroom: the share of the quota the budgets may sum to. Default 1.0.
        tick_seconds: the time between ticks; a budget is valid this long. Default 1.
        quota_cache_seconds: how long a GetAccount answer is reused. Default 60.
    """

    state_table: str
    slices: tuple[SliceConfig, ...]
    headroom: float = 1.0
    tick_seconds: float = 1.0
    quota_cache_seconds: float = QUOTA_CACHE_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> HeartbeatConfig:
        raw = json.loads(env["SLICES"])
        slices = tuple(
            SliceConfig(
                name=str(s["name"]),
                rate_per_second=float(s["rate_per_second"]),
                queue_urls=tuple(str(u) for u in s.get("queue_urls", [])),
            )
            for s in raw
        )
        return cls(
            state_table=env["STATE_TABLE"],
            slices=slices,
            headroom=float(env.get("HEADROOM") or 1.0),
            tick_seconds=float(env.get("TICK_SECONDS") or 1.0),
        )


@dataclass
class QuotaCache:
    """The last GetAccount answer of this container."""

    max_send_rate: float | None = None
    read_at: float = -math.inf


@dataclass
class HeartbeatDeps:
    ses: SesAccountClient
    sqs: SqsAttributesClient
    dynamodb: DynamoDbItemClient
    clock: Clock
    quota: QuotaCache = field(default_factory=QuotaCache)


def account_quota(deps: HeartbeatDeps, config: HeartbeatConfig, now: float) -> float | None:
    """``SendQuota.MaxSendRate``, from the cache while fresh; a failed read keeps the old value."""
    cache = deps.quota
    if cache.max_send_rate is not None and now - cache.read_at < config.quota_cache_seconds:
        return cache.max_send_rate
    try:
        rate = float(deps.ses.get_account()["SendQuota"]["MaxSendRate"])
    except Exception as exc:
        log("quota_read_failed", level="WARNING", error=repr(exc), cached=cache.max_send_rate)
        return cache.max_send_rate
    cache.max_send_rate, cache.read_at = rate, now
    return rate


def largest_grant(log_text: str) -> float:
    """The largest grant in a limiter log; 1 when empty."""
    return float(max((n for _, n in decode_log(log_text)), default=1) or 1)


def mean_recipients(log_text: str) -> float:
    """Recipients per grant in a limiter log (the horizon marker excluded); 1 when empty."""
    grants = [n for _, n in decode_log(log_text) if n > 0]
    return sum(grants) / len(grants) if grants else 1.0


def queued_messages(sqs: SqsAttributesClient, urls: Sequence[str]) -> int:
    total = 0
    for url in urls:
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        ).get("Attributes", {})
        total += int(attributes.get("ApproximateNumberOfMessages", 0))
        total += int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0))
    return total


def tick(deps: HeartbeatDeps, config: HeartbeatConfig, now: float) -> dict[str, Any]:
    """One tick: read, allocate, write. Returns (and logs) what it decided."""
    quota = account_quota(deps, config, now)
    if quota is None:
        log("heartbeat_skipped", level="ERROR", reason="no account quota")
        return {"skipped": True, "reason": "no account quota"}
    states: list[SliceState] = []
    backlog_messages: dict[str, int] = {}
    in_force: dict[str, float] = {}
    paused_slices: list[str] = []
    try:
        for sc in config.slices:
            item = (
                deps.dynamodb.get_item(
                    TableName=config.state_table,
                    Key={"pk": {"S": f"limiter#{sc.name}"}},
                    ConsistentRead=True,  # the budget in force now, not an older one
                    ProjectionExpression="#b, #u, #l, #p, #s, #pu",
                    ExpressionAttributeNames={
                        "#b": "budget",
                        "#u": "budget_until",
                        "#l": "log",
                        "#p": "budget_prev",
                        "#s": "budget_set_at",
                        "#pu": "paused_until",
                    },
                ).get("Item")
                or {}
            )
            messages = queued_messages(deps.sqs, sc.queue_urls)
            written, until_read = number(item, "budget"), number(item, "budget_until")
            current = budget_in_force(sc.rate_per_second, written, until_read, now)
            # Ticks are about a second apart, not exactly: if the budget before this one was
            # still in force less than a second ago, a window ending now can hold sends under it
            # too, so capacity it had is not lendable yet.
            previous, set_at = number(item, "budget_prev"), number(item, "budget_set_at")
            # (1 ms of slack: stored times are rounded, the limiter itself counts whole ms.)
            in_window = previous if set_at is not None and now - set_at < 0.999 else None
            in_force[sc.name] = current
            log_text = str(item.get("log", {}).get("S", ""))
            # Grants the slice booked ahead in the fallback (under its guaranteed rate) bind
            # capacity until they have passed, whatever budget is written now.
            ahead = booked_ahead(decode_log(log_text), to_ms(now))
            backlog_messages[sc.name] = messages
            # A paused slice (SES SendingPaused, the reputation breaker) sends nothing whatever
            # waits: its share is lent out until the pause ends.
            paused_until = number(item, "paused_until")
            paused = paused_until is not None and now < paused_until
            if paused:
                paused_slices.append(sc.name)
            states.append(
                SliceState(
                    sc.name,
                    sc.rate_per_second,
                    0.0 if paused else messages * mean_recipients(log_text),
                    max(current, in_window or 0.0, float(ahead)),
                    unit=largest_grant(log_text),
                )
            )
    except Exception as exc:  # without every slice's budget no lending is safe: all fall back
        log("heartbeat_skipped", level="ERROR", reason="read failed", error=repr(exc))
        return {"skipped": True, "reason": "read failed", "error": repr(exc)}
    budgets = allocate(states, quota, config.headroom)
    until = now + config.tick_seconds
    # Decreases first, then increases; at the first failed write stop, so no slice is raised
    # on capacity another slice may not have given up.
    order = sorted(states, key=lambda s: budgets[s.name] > s.current)
    written_budgets: dict[str, float] = {}
    failed: dict[str, str] = {}
    for state in order:
        try:
            deps.dynamodb.update_item(
                TableName=config.state_table,
                Key={"pk": {"S": f"limiter#{state.name}"}},
                UpdateExpression="SET #b = :b, #u = :u, #p = :p, #s = :s",
                ExpressionAttributeNames={
                    "#b": "budget",
                    "#u": "budget_until",
                    "#p": "budget_prev",
                    "#s": "budget_set_at",
                },
                ExpressionAttributeValues={
                    ":b": number_value(budgets[state.name]),
                    ":u": number_value(until),
                    ":p": number_value(in_force[state.name]),
                    ":s": number_value(now),
                },
            )
        except Exception as exc:  # the rest keep their budgets until they expire, then fall back
            failed[state.name] = repr(exc)
            break
        written_budgets[state.name] = budgets[state.name]
    result: dict[str, Any] = {
        "quota": quota,
        "capacity": round(quota * config.headroom, 6),
        "budget_until": until,
        "budgets": written_budgets,
        "backlog_recipients": {s.name: round(s.backlog, 3) for s in states},
        "backlog_messages": backlog_messages,
        "current": {s.name: s.current for s in states},
    }
    if paused_slices:
        result["paused"] = paused_slices
    if failed:
        result["failed"] = failed
    log("heartbeat_tick", level="WARNING" if failed else "INFO", **result)
    return result


_DEPS: HeartbeatDeps | None = None
_CONFIG: HeartbeatConfig | None = None


def _default_deps() -> tuple[HeartbeatDeps, HeartbeatConfig]:
    """Clients once per container (so the quota cache lives as long as the container)."""
    import boto3
    from botocore.config import Config

    fast = Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=1, read_timeout=1)
    deps = HeartbeatDeps(
        ses=boto3.client("sesv2", config=fast),
        sqs=boto3.client("sqs", config=fast),
        dynamodb=boto3.client("dynamodb", config=fast),
        clock=SystemClock(),
    )
    return deps, HeartbeatConfig.from_env(os.environ)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS, _CONFIG  # one set of clients (and one quota cache) per container
    if _DEPS is None or _CONFIG is None:
        _DEPS, _CONFIG = _default_deps()
    return tick(_DEPS, _CONFIG, _DEPS.clock.now())

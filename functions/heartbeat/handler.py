"""The heartbeat: once per second, share the account-region's SES rate among its slices by backlog.

A Step Functions Express loop invokes :func:`lambda_handler` at each whole second. Each tick:

1. the account quota: sesv2 ``GetAccount`` ``SendQuota.MaxSendRate``, cached per container for
   ``QUOTA_CACHE_SECONDS`` (non-send SES APIs allow 1 request/s; the quota changes rarely);
2. the account's ledger (one strongly consistent GetItem, ``functions.common.ledger``): per
   slice its pause and its moving mean of recipients per message;
3. per slice, the backlog in recipients: messages in both lanes (``ApproximateNumberOfMessages``
   + ``ApproximateNumberOfMessagesNotVisible``: in-flight messages are the ones senders are
   waiting to send; delayed ones are held on purpose and not counted) x the slice's mean; 0 while
   the slice is paused (SES SendingPaused, the reputation breaker), so its share is lent out;
4. :func:`functions.heartbeat.allocator.allocate`, then one UpdateItem that SETs every slice's
   ``cap:<slice>``, the account ``capacity`` (quota x headroom) and ``caps_until`` (now + the
   tick); it never touches the senders' ``log`` / ``version``.

The caps decide only how the account's rate is shared; the ledger keeps every second within the
quota by itself. So a late, skipped or failed tick is never a safety problem: the caps in force
stay so until the next ones land; once they are more than ``CAPS_GRACE_SECONDS`` past
``caps_until`` each is raised to at least its slice's guaranteed rate.

It never changes Lambda or event-source concurrency: Lambda's control plane allows 15 requests/s
per account, and the ledger already bounds what the senders send.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.common.clock import Clock, SystemClock
from functions.common.ledger import read_ledger, write_caps
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
        state_table: the account-region's state table (the send ledger).
        slices: the slices sharing the account-region's quota.
        headroom: the share of the quota the caps may sum to. Default 1.0.
        tick_seconds: the time between ticks; caps are written for this long. Default 1.
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
    try:
        ledger = read_ledger(deps.dynamodb, config.state_table)
        messages = {sc.name: queued_messages(deps.sqs, sc.queue_urls) for sc in config.slices}
    except Exception as exc:  # the caps in force stay so: safe either way
        log("heartbeat_skipped", level="ERROR", reason="read failed", error=repr(exc))
        return {"skipped": True, "reason": "read failed", "error": repr(exc)}
    paused = [sc.name for sc in config.slices if ledger.paused_until(sc.name, now) is not None]
    states = [
        SliceState(
            sc.name,
            sc.rate_per_second,
            0.0 if sc.name in paused else messages[sc.name] * ledger.mean_recipients(sc.name),
        )
        for sc in config.slices
    ]
    capacity = round(quota * config.headroom, 6)
    caps = allocate(states, quota, config.headroom)
    until = now + config.tick_seconds
    result: dict[str, Any] = {
        "quota": quota,
        "capacity": capacity,
        "caps_until": until,
        "caps": caps,
        "backlog_recipients": {s.name: round(s.backlog, 3) for s in states},
        "backlog_messages": messages,
    }
    if paused:
        result["paused"] = paused
    try:
        write_caps(
            deps.dynamodb, config.state_table, caps, capacity=capacity, quota=quota, until=until,
            rates={sc.name: sc.rate_per_second for sc in config.slices},
        )  # fmt: skip
    except Exception as exc:
        result["failed"] = repr(exc)
    log("heartbeat_tick", level="WARNING" if "failed" in result else "INFO", **result)
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

"""The reputation breaker: a critical bounce or complaint alarm pauses the offending configuration
set's sending and the budgets of the slices that send with it. Resuming is an operator's decision.

EventBridge invokes it with a "CloudWatch Alarm State Change" event; ``BREAKER_TARGETS`` maps each
critical alarm's name to ``{"configuration_set": <name>, "slices": [<slice>, ...]}``. For a
matching alarm in state ``ALARM`` it

1. calls SES ``PutConfigurationSetSendingOptions(SendingEnabled=false)`` for the set, and
2. writes a pause for each slice into the account's ledger (``functions/common/ledger.py``: pk
   ``ledger``, ``paused_until:<slice>`` / ``paused_reason:<slice>``, ``version`` + 1; never
   shortening a later pause), so the slice's senders stop booking and hold their mail.

Both are idempotent, so EventBridge's retries and a repeated alarm are harmless. A failure is
raised after every other step was tried, so the asynchronous retries (and then the function's
dead-letter target, the alarm topic) see it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.common.clock import Clock, SystemClock
from functions.common.dynamodb import DynamoDbClient
from functions.common.ledger import write_pause
from functions.common.log import log

DEFAULT_PAUSE_SECONDS = 30 * 86400  # a backstop only: an operator resumes (README runbook)
REASON_PREFIX = "REPUTATION_BREAKER"


class SesClient(Protocol):
    def put_configuration_set_sending_options(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class BreakerTarget:
    configuration_set: str
    slices: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class BreakerConfig:
    """What the breaker may pause.

    Attributes:
        targets: critical alarm name → what it pauses.
        state_table: the stack's state table holding the send ledger. Default - none (no slices).
        pause_seconds: how long a slice pause lasts unless an operator lifts it earlier.
            Default 30 days.
    """

    targets: Mapping[str, BreakerTarget]
    state_table: str | None = None
    pause_seconds: float = DEFAULT_PAUSE_SECONDS

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> BreakerConfig:
        raw = json.loads(env["BREAKER_TARGETS"])
        targets = {
            alarm: BreakerTarget(configuration_set=t["configuration_set"], slices=tuple(t.get("slices", ())))
            for alarm, t in raw.items()
        }
        return cls(
            targets=targets,
            state_table=env.get("STATE_TABLE") or None,
            pause_seconds=float(env.get("PAUSE_SECONDS") or DEFAULT_PAUSE_SECONDS),
        )


@dataclass(kw_only=True)
class BreakerDeps:
    ses: SesClient
    dynamodb: DynamoDbClient
    clock: Clock = field(default_factory=SystemClock)


def pause_slice(client: DynamoDbClient, table: str, slice_name: str, *, until: float, reason: str) -> bool:
    """Write the slice's pause into the ledger unless a later one is set; True if written."""
    return write_pause(client, table, slice_name, until=until, reason=reason)


def handle(event: Mapping[str, Any], deps: BreakerDeps, config: BreakerConfig) -> dict[str, Any]:
    detail = event.get("detail") or {}
    alarm = str(detail.get("alarmName", ""))
    state = (detail.get("state") or {}).get("value")
    target = config.targets.get(alarm)
    if state != "ALARM" or target is None:
        log("breaker_ignored", alarm=alarm, state=state, known=target is not None)
        return {"paused": False}
    reason = f"{REASON_PREFIX} {alarm}"
    now = deps.clock.now()
    failures: list[str] = []
    try:
        deps.ses.put_configuration_set_sending_options(
            ConfigurationSetName=target.configuration_set, SendingEnabled=False
        )
        log(
            "configuration_set_paused",
            level="WARNING",
            configuration_set=target.configuration_set,
            alarm=alarm,
        )
    except Exception as exc:  # the slices are still paused; then the failure is raised
        failures.append(f"configuration set {target.configuration_set}: {exc!r}")
    for slice_name in target.slices:
        if config.state_table is None:
            failures.append(f"slice {slice_name}: no STATE_TABLE configured")
            continue
        try:
            written = pause_slice(
                deps.dynamodb, config.state_table, slice_name, until=now + config.pause_seconds, reason=reason
            )
            log("slice_paused", level="WARNING", slice=slice_name, alarm=alarm, written=written)
        except Exception as exc:
            failures.append(f"slice {slice_name}: {exc!r}")
    if failures:
        log("breaker_failed", level="ERROR", alarm=alarm, failures=failures)
        raise RuntimeError(f"reputation breaker for {alarm}: " + "; ".join(failures))
    return {"paused": True, "configuration_set": target.configuration_set, "slices": list(target.slices)}


_DEPS: BreakerDeps | None = None
_CONFIG: BreakerConfig | None = None


def lambda_handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS, _CONFIG  # noqa: PLW0603 - clients live as long as the container
    if _DEPS is None or _CONFIG is None:
        import boto3

        _DEPS = BreakerDeps(ses=boto3.client("sesv2"), dynamodb=boto3.client("dynamodb"))
        _CONFIG = BreakerConfig.from_environment(os.environ)
    return handle(event, _DEPS, _CONFIG)

"""The warm-up controller, run once a day (00:05 UTC) by EventBridge Scheduler.

For each dedicated IP pool with a warm-up schedule it writes the allowance of today and of the
next ``LOOKAHEAD_DAYS`` days into the warm-up counter (``functions/common/warmup_counter.py``), so
midnight never finds a day without its allowance and a run that fails is covered by the one
before. The sender then routes up to that many recipients a day through the pool's dedicated
configuration set and the rest through its slice's shared-pool set: nothing waits, nothing
overshoots. When the schedule is over the days are written without a cap (phase ``dedicated``):
all of the slice's mail moves to the pool.

SES warm-up attributes: for a STANDARD pool SES's own automatic warm-up may divert a share of the
pool's mail to shared IPs while an IP's ``WarmupPercentage`` is low. The controller raises each
IP's percentage (``PutDedicatedIpWarmupAttributes``) to the schedule's progress (the day's
allowance as a share of ``full_daily_volume``; 100 when the schedule is over), never lowers it,
so SES and the schedule agree and SES does not cut the planned volume a second time.

Metrics (EMF, namespace ``SesPlatform``, dimension ``Pool``): ``WarmupAllowance`` (today),
``WarmupProgressPercent``, ``DedicatedRecipientsYesterday`` (what the senders actually took).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from functions.common.clock import Clock, SystemClock
from functions.common.log import log
from functions.common.metrics import emit
from functions.common.warmup_counter import DynamoDbWarmupCounter, WarmupCounter
from functions.warmup_controller.schedule import WarmupSchedule, utc_day

ENVIRONMENT_VARIABLES = ("STATE_TABLE", "POOLS", "LOOKAHEAD_DAYS", "METRICS_NAMESPACE")


class SesWarmupClient(Protocol):
    """The part of boto3's ``sesv2`` client the controller calls."""

    def get_dedicated_ips(self, **kwargs: Any) -> dict[str, Any]: ...

    def put_dedicated_ip_warmup_attributes(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class ControllerConfig:
    """Attributes:
    schedules: one per pool with a warm-up schedule (``POOLS``: a JSON list of
        ``{"pool", "start", "caps", "period_days", "full_daily_volume"}``).
    lookahead_days: days after today written each run. Default 2.
    metrics_namespace: Default ``SesPlatform``.
    """

    schedules: tuple[WarmupSchedule, ...]
    lookahead_days: int = 2
    metrics_namespace: str = "SesPlatform"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ControllerConfig:
        return cls(
            schedules=tuple(WarmupSchedule.from_json(p) for p in json.loads(env["POOLS"])),
            lookahead_days=int(env.get("LOOKAHEAD_DAYS") or 2),
            metrics_namespace=env.get("METRICS_NAMESPACE") or "SesPlatform",
        )


@dataclass
class ControllerDeps:
    counter: WarmupCounter
    ses: SesWarmupClient
    clock: Clock


def run(deps: ControllerDeps, config: ControllerConfig) -> dict[str, Any]:
    """One daily run over every pool; a pool that fails does not stop the others."""
    now = deps.clock.now()
    today = utc_day(now)
    results: dict[str, Any] = {}
    failed = []
    for schedule in config.schedules:
        try:
            results[schedule.pool] = _run_pool(deps, config, schedule, today, now)
        except Exception as exc:  # reported, and raised at the end so the Errors alarm fires
            log("warmup_pool_failed", level="ERROR", pool=schedule.pool, error=repr(exc))
            failed.append(schedule.pool)
    if failed:
        raise RuntimeError(f"warm-up allowance not written for pool(s): {', '.join(failed)}")
    return {"day": today.isoformat(), "pools": results}


def _run_pool(
    deps: ControllerDeps, config: ControllerConfig, schedule: WarmupSchedule, today: dt.date, now: float
) -> dict[str, Any]:
    written: dict[str, int | None] = {}
    for offset in range(config.lookahead_days + 1):
        day = today + dt.timedelta(days=offset)
        allowance = schedule.allowance(day)
        deps.counter.set_day(schedule.pool, day, allowance)
        written[day.isoformat()] = allowance
    progress = schedule.progress_percent(today)
    raised = raise_warmup_percentage(deps.ses, schedule.pool, progress)
    yesterday = deps.counter.used(schedule.pool, today - dt.timedelta(days=1))
    allowance = written[today.isoformat()]
    metrics = {"WarmupProgressPercent": float(progress), "DedicatedRecipientsYesterday": float(yesterday)}
    if allowance is not None:
        metrics["WarmupAllowance"] = float(allowance)
    emit(config.metrics_namespace, {"Pool": schedule.pool}, metrics, timestamp_ms=int(now * 1000))
    result: dict[str, Any] = {
        "allowances": written,
        "phase": "warmup" if allowance is not None else "dedicated",
        "progress_percent": progress,
        "ips_raised": raised,
        "dedicated_recipients_yesterday": yesterday,
    }
    log("warmup_day", pool=schedule.pool, **result)
    return result


def dedicated_ips(ses: SesWarmupClient, pool: str) -> Iterator[dict[str, Any]]:
    """Every IP of the pool (``GetDedicatedIps`` is paginated)."""
    token: str | None = None
    while True:
        page = ses.get_dedicated_ips(PoolName=pool, **({"NextToken": token} if token else {}))
        yield from page.get("DedicatedIps", [])
        token = page.get("NextToken")
        if not token:
            return


def raise_warmup_percentage(ses: SesWarmupClient, pool: str, progress: int) -> list[str]:
    """Raise each IP's ``WarmupPercentage`` to ``progress`` (never lower it); returns the IPs changed.

    Best effort: the allowance written above is what limits the pool; a failure here is logged.
    """
    changed: list[str] = []
    try:
        for ip in dedicated_ips(ses, pool):
            current = int(ip.get("WarmupPercentage") or 0)
            if ip.get("WarmupStatus") == "DONE" or current >= progress:
                continue
            ses.put_dedicated_ip_warmup_attributes(Ip=ip["Ip"], WarmupPercentage=progress)
            changed.append(str(ip["Ip"]))
    except Exception as exc:
        log("warmup_attributes_failed", level="WARNING", pool=pool, error=repr(exc), changed=changed)
    return changed


_DEPS: ControllerDeps | None = None
_CONFIG: ControllerConfig | None = None


def _default_deps() -> tuple[ControllerDeps, ControllerConfig]:
    import boto3

    deps = ControllerDeps(
        counter=DynamoDbWarmupCounter(boto3.client("dynamodb"), os.environ["STATE_TABLE"]),
        ses=boto3.client("sesv2"),
        clock=SystemClock(),
    )
    return deps, ControllerConfig.from_env(os.environ)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS, _CONFIG  # one set of clients per container
    if _DEPS is None or _CONFIG is None:
        _DEPS, _CONFIG = _default_deps()
    return run(_DEPS, _CONFIG)

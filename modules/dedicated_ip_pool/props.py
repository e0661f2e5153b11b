"""Inputs of the constructs in :mod:`modules.dedicated_ip_pool`. Pure Python, no cdktn import."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import SES_NAME, check_account_id, check_name, check_range

WARMUP_JOB = "warmup_controller"  # functions/warmup_controller/handler.py
BLOCKLIST_JOB = "blocklist_monitor"  # functions/blocklist_monitor/handler.py
SCALING_MODES = ("STANDARD", "MANAGED")
_POOL_NAME = SES_NAME
_ZONE = re.compile(r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def check_pool_name(value: str) -> None:
    if not _POOL_NAME.fullmatch(value):
        raise ValueError(f"pool name must be 1-64 letters, digits, hyphens or underscores, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class DedicatedIpPoolProps:
    """Inputs of :class:`~modules.dedicated_ip_pool.construct.DedicatedIpPool`.

    Attributes:
        name: the pool name, 1-64 letters, digits, hyphens or underscores.
        scaling_mode: ``STANDARD`` (IPs you lease and warm up) or ``MANAGED`` (SES sizes and
            warms the pool). Default ``STANDARD``.
        tags: tags on the pool, merged over the provider's default tags. Default - none.
    """

    name: str
    scaling_mode: str = "STANDARD"
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_pool_name(self.name)
        if self.scaling_mode not in SCALING_MODES:
            raise ValueError(f"scaling_mode must be STANDARD or MANAGED, got {self.scaling_mode!r}")


@dataclass(frozen=True, kw_only=True)
class WarmupPlan:
    """One pool's warm-up schedule, as the controller Lambda receives it.

    Attributes:
        pool: the STANDARD pool being warmed up.
        start: the first day, ``YYYY-MM-DD`` (UTC).
        caps: recipients per period: positive, non-decreasing.
        period_days: 1 (daily caps) or 7 (weekly caps, each split evenly over its days).
        full_volume: recipients per period once warm; the last cap must reach it.
    """

    pool: str
    start: str
    caps: Sequence[int]
    period_days: int
    full_volume: int

    def __post_init__(self) -> None:
        check_pool_name(self.pool)
        try:
            dt.date.fromisoformat(self.start)
        except ValueError:
            raise ValueError(
                f"pool {self.pool}: start must be a date YYYY-MM-DD, got {self.start!r}"
            ) from None
        if self.period_days not in (1, 7):
            raise ValueError(f"pool {self.pool}: period_days must be 1 or 7, got {self.period_days}")
        caps = list(self.caps)
        if not caps or any(isinstance(c, bool) or c < 1 for c in caps):
            raise ValueError(f"pool {self.pool}: caps must be positive whole numbers, got {caps}")
        if any(b < a for a, b in itertools.pairwise(caps)):
            raise ValueError(f"pool {self.pool}: caps must not decrease, got {caps}")
        if caps[-1] < self.full_volume or self.full_volume < self.period_days:
            raise ValueError(
                f"pool {self.pool}: the last cap {caps[-1]} must reach full_volume {self.full_volume}"
            )

    def as_json(self) -> dict[str, object]:
        """The controller's ``POOLS`` entry (see functions/warmup_controller/schedule.py)."""
        return {
            "pool": self.pool,
            "start": self.start,
            "caps": list(self.caps),
            "period_days": self.period_days,
            "full_daily_volume": self.full_volume // self.period_days,
        }


@dataclass(frozen=True, kw_only=True)
class WarmupControllerProps:
    """Inputs of :class:`~modules.dedicated_ip_pool.warmup.WarmupController` (one per stack).

    Attributes:
        environment: the environment name; resources are named ``<environment>-ses-warmup``.
        account_id: the stack's account id (the scheduler role's confused-deputy condition).
        region: the stack's region.
        plans: the schedules of the stack's pools that warm up (at least one).
        schedule_expression: when the controller runs (UTC). Default ``cron(5 0 * * ? *)``,
            00:05 every day; it writes today and ``lookahead_days`` ahead, so the hour matters little.
        lookahead_days: days after today written by each run, 1-14. Default 2.
        log_retention_days: a retention CloudWatch accepts. Default 365.
        tags: tags on every resource that takes them. Default - none.
    """

    environment: str
    account_id: str
    region: str
    plans: Sequence[WarmupPlan]
    schedule_expression: str = "cron(5 0 * * ? *)"
    lookahead_days: int = 2
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_account_id(self.account_id)
        if not self.plans:
            raise ValueError("a warm-up controller needs at least one pool's plan")
        pools = [p.pool for p in self.plans]
        if len(set(pools)) != len(pools):
            raise ValueError(f"one plan per pool, got {', '.join(pools)}")
        check_range("lookahead_days", self.lookahead_days, 1, 14)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )

    @property
    def name(self) -> str:
        return f"{self.environment}-ses-warmup"


@dataclass(frozen=True, kw_only=True)
class BlocklistMonitorProps:
    """Inputs of :class:`~modules.dedicated_ip_pool.blocklist.BlocklistMonitor` (one per stack).

    Attributes:
        environment: the environment name; resources are named ``<environment>-ses-blocklist``.
        account_id: the stack's account id.
        region: the stack's region.
        zones: DNSBL zones to check every dedicated IP of the account against (at least one).
        resolver: ``host`` or ``host:port`` of the DNS resolver to ask. Default - the Lambda
            runtime's resolver (the first nameserver of /etc/resolv.conf).
        schedule_expression: how often it runs. Default ``rate(1 hour)``.
        timeout_seconds: per DNS attempt (two attempts per lookup), 1-10. Default 2.
        log_retention_days: a retention CloudWatch accepts. Default 365.
        tags: tags on every resource that takes them. Default - none.
    """

    environment: str
    account_id: str
    region: str
    zones: Sequence[str]
    resolver: str | None = None
    schedule_expression: str = "rate(1 hour)"
    timeout_seconds: int = 2
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_account_id(self.account_id)
        if not self.zones:
            raise ValueError("a blocklist monitor needs at least one DNSBL zone")
        for zone in self.zones:
            if not _ZONE.fullmatch(zone):
                raise ValueError(f"zones: expected DNS zones such as bl.spamcop.net, got {zone!r}")
        check_range("timeout_seconds", self.timeout_seconds, 1, 10)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )

    @property
    def name(self) -> str:
        return f"{self.environment}-ses-blocklist"

    @property
    def monitor_name(self) -> str:
        """The ``Monitor`` metric dimension the alarm watches."""
        return f"{self.environment}-{self.region}"

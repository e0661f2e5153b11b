"""A dedicated IP pool's warm-up schedule: the recipients it may carry on a given (UTC) day.

Shared by the controller (which writes each day's allowance) and by the simulation and benchmark.
The env file's ``daily_caps`` become ``period_days = 1``; ``weekly_caps`` become ``period_days = 7``,
each week's cap split evenly over its seven days (the remainder to the first days), so no week
carries more than its cap and no day carries a week's worth at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.common.warmup_counter import utc_day

__all__ = ["WarmupSchedule", "utc_day"]


@dataclass(frozen=True, kw_only=True)
class WarmupSchedule:
    """Attributes:
    pool: the dedicated IP pool being warmed up.
    start: the first day of the warm-up (UTC); before it the pool carries nothing.
    caps: recipients per period, positive and non-decreasing (the config layer checks).
    period_days: 1 (daily caps) or 7 (weekly caps).
    full_daily_volume: recipients per day the pool carries once warm (what 100 % means).
    """

    pool: str
    start: dt.date
    caps: tuple[int, ...]
    period_days: int
    full_daily_volume: int

    def __post_init__(self) -> None:
        if self.period_days not in (1, 7) or not self.caps or min(self.caps) <= 0:
            raise ValueError(f"pool {self.pool}: caps must be positive, per 1 or 7 days")

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> WarmupSchedule:
        return cls(
            pool=str(raw["pool"]),
            start=dt.date.fromisoformat(str(raw["start"])),
            caps=tuple(int(c) for c in raw["caps"]),
            period_days=int(raw["period_days"]),
            full_daily_volume=int(raw["full_daily_volume"]),
        )

    @property
    def days(self) -> int:
        return len(self.caps) * self.period_days

    @property
    def end(self) -> dt.date:
        """The first day with no cap: from then on all of the slice's mail uses the pool."""
        return self.start + dt.timedelta(days=self.days)

    def allowance(self, day: dt.date) -> int | None:
        """Recipients the pool may carry on ``day``; ``None`` once the schedule is over (no cap)."""
        if day < self.start:
            return 0
        index = (day - self.start).days
        if index >= self.days:
            return None
        cap = self.caps[index // self.period_days]
        base, extra = divmod(cap, self.period_days)
        return base + (1 if index % self.period_days < extra else 0)

    def progress_percent(self, day: dt.date) -> int:
        """The day's allowance as a share of full volume, 0-100 (100 once the schedule is over):
        what SES's ``WarmupPercentage`` of the pool's IPs should at least say."""
        allowance = self.allowance(day)
        if allowance is None:
            return 100
        return min(100, allowance * 100 // self.full_daily_volume)

    def plan(self, days: int) -> Sequence[int | None]:
        """The allowances of ``days`` days from ``start`` (for the simulation and the benchmark)."""
        return [self.allowance(self.start + dt.timedelta(days=i)) for i in range(days)]

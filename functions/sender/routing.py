"""Per-message choice of configuration set while the slice's dedicated IP pool warms up.

The slice's shared-pool configuration set carries whatever the pool may not carry yet; the
dedicated set (the one bound to the pool) carries up to the day's allowance, counted with the
conditional counter in :mod:`functions.common.warmup_counter`. The choice never waits: a message
that does not fit the day's remainder goes shared at once, and so does every message when the
counter cannot be read (a DynamoDB error must not hold mail back, and sending shared is always
within the schedule).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from functions.common.log import log
from functions.common.warmup_counter import WarmupCounter, utc_day

# What the capacity_slice construct sets for a slice warming up a pool (both or neither).
ROUTING_VARIABLES = ("WARMUP_POOL", "DEDICATED_CONFIGURATION_SET")


@dataclass(frozen=True)
class Route:
    """Where one message goes: ``configuration_set`` to name in the send (``None``: none)."""

    configuration_set: str | None
    dedicated: bool
    pool: str = ""
    day: dt.date | None = None
    recipients: int = 0


class WarmupRouter:
    """Routes each message through the dedicated set while the day's allowance lasts."""

    def __init__(
        self, counter: WarmupCounter, *, pool: str, dedicated_configuration_set: str,
        shared_configuration_set: str | None,
    ) -> None:  # fmt: skip
        self.counter = counter
        self.pool = pool
        self.dedicated = dedicated_configuration_set
        self.shared = shared_configuration_set

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], counter: WarmupCounter, shared: str | None
    ) -> WarmupRouter | None:
        pool, dedicated = (env.get(name) or "" for name in ROUTING_VARIABLES)
        if not pool or not dedicated:
            return None
        return cls(counter, pool=pool, dedicated_configuration_set=dedicated, shared_configuration_set=shared)

    def route(self, recipients: int, now: float) -> Route:
        day = utc_day(now)
        try:
            dedicated = self.counter.take(self.pool, day, recipients)
        except Exception as exc:
            log("warmup_counter_failed", level="WARNING", pool=self.pool, error=repr(exc))
            dedicated = False
        chosen = self.dedicated if dedicated else self.shared
        return Route(chosen, dedicated, self.pool, day, recipients)

    def release(self, route: Route) -> None:
        """The send certainly did not happen: give its recipients back to the day."""
        if not route.dedicated or route.day is None:
            return
        try:
            self.counter.give_back(route.pool, route.day, route.recipients)
        except Exception as exc:  # the day is under-used by this much; never over-used
            log("warmup_give_back_failed", level="WARNING", pool=self.pool, error=repr(exc))

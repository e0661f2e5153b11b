"""A stack's dedicated IP pools, their warm-up controller and blocklist monitor, and how each
slice that moves to a pool is routed. Kept out of ``stack.py`` so that file stays a list of parts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from constructs import Construct

from modules.config.model import DedicatedIpPool as PoolConfig
from modules.config.model import Slice, StackTarget
from modules.configuration_set.construct import ConfigurationSet
from modules.dedicated_ip_pool.blocklist import BlocklistMonitor
from modules.dedicated_ip_pool.construct import DedicatedIpPool
from modules.dedicated_ip_pool.props import (
    BlocklistMonitorProps,
    DedicatedIpPoolProps,
    WarmupControllerProps,
    WarmupPlan,
)
from modules.dedicated_ip_pool.warmup import WarmupController
from modules.shared.foundation import StackFoundation


def pool_of(target: StackTarget, item: Slice) -> PoolConfig | None:
    return next((p for p in target.dedicated_ip_pools if item.name in p.slices), None)


def slice_routing(target: StackTarget, item: Slice) -> dict[str, Any]:
    """``CapacitySliceProps`` overrides for a slice whose mail moves to a dedicated IP pool.

    While the pool warms up the sender splits each day between the pool's configuration set (up
    to the allowance) and the slice's own (the shared pool); without a schedule (warm IPs, or a
    MANAGED pool) every send names the pool's set.
    """
    pool = pool_of(target, item)
    if pool is None or pool.configuration_set is None:
        return {}
    if pool.warmup is not None:
        return {"warmup_pool": pool.name, "dedicated_configuration_set": pool.configuration_set}
    return {"configuration_set": pool.configuration_set}


class DedicatedIpPools(Construct):
    """Every pool of the stack; one warm-up controller (if a pool has a schedule) and one
    blocklist monitor (zones: every pool's, in declaration order) per stack, on the stack's
    ``foundation`` (its key, state table and alarm topic). A configuration set
    of the stack that sends through one of these pools waits for it (SES refuses to name a pool
    that does not exist yet)."""

    def __init__(
        self, scope: Construct, id_: str, target: StackTarget, *, foundation: StackFoundation,
        configuration_sets: Mapping[str, ConfigurationSet] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(scope, id_)
        env, account_id, region = target.environment, target.account.id, target.region.name
        self.foundation = foundation
        self.pools = [
            DedicatedIpPool(
                self,
                "pool_" + pool.name.replace("-", "_"),
                DedicatedIpPoolProps(name=pool.name, scaling_mode=pool.scaling_mode, tags=dict(pool.tags)),
            )
            for pool in target.dedicated_ip_pools
        ]
        addresses = {p.props.name: f"aws_sesv2_dedicated_ip_pool.{p.slug}" for p in self.pools}
        for configuration_set in (configuration_sets or {}).values():
            address = addresses.get(configuration_set.props.dedicated_ip_pool or "")
            if address is not None:
                configuration_set.this.add_override("depends_on", [address])
        plans = [
            WarmupPlan(
                pool=pool.name,
                start=pool.warmup.start,
                caps=pool.warmup.caps,
                period_days=pool.warmup.period_days,
                full_volume=pool.warmup.full_volume,
            )
            for pool in target.dedicated_ip_pools
            if pool.warmup is not None
        ]
        self.warmup: WarmupController | None = None
        if plans:
            self.warmup = WarmupController(
                self,
                "warmup",
                WarmupControllerProps(environment=env, account_id=account_id, region=region, plans=plans),
                foundation=foundation,
            )
        zones = list(dict.fromkeys(z for pool in target.dedicated_ip_pools for z in pool.blocklist_zones))
        self.blocklist = BlocklistMonitor(
            self,
            "blocklist",
            BlocklistMonitorProps(environment=env, account_id=account_id, region=region, zones=zones),
            foundation=foundation,
        )

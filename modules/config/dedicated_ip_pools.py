"""``dedicated_ip_pool "<name>" { ... }`` blocks: parsed one by one, then resolved against the
accounts and slices (and configuration sets, once the env declares them).

A warm-up schedule is validated as a ramp: every cap positive, never lower than the one before,
and the last one at least ``full_volume`` — the volume the pool carries once warm, stated by
you, because when the schedule ends all of its slices' mail moves to the pool at once, and a
schedule that stops short of that would end in a jump the IPs were never warmed for.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from types import MappingProxyType

from modules.config.hcl import Invalid, Node
from modules.config.model import (
    DEFAULT_BLOCKLIST_ZONES,
    NAME,
    Account,
    ConfigurationSet,
    DedicatedIpPool,
    Slice,
    Warmup,
)
from modules.shared.validation import SES_NAME_PATTERN

POOL_NAME = CONFIGURATION_SET = SES_NAME_PATTERN
SCALING_MODES = ("STANDARD", "MANAGED")
ZONE = r"(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
MAX_WARMUP_DAYS = 366


def parse_dedicated_ip_pool(name: str, node: Node) -> DedicatedIpPool:
    if not re.fullmatch(POOL_NAME, name):
        raise node.fail(None, "pool name must be 1-64 letters, digits, hyphens or underscores")
    account = node.req_text("account", hint="the alias of an account block")
    region = node.req_text("region", hint="a region declared in that account")
    scaling_mode = node.text("scaling_mode", default="STANDARD", choices=SCALING_MODES) or "STANDARD"
    configuration_set = node.text(
        "configuration_set",
        pattern=CONFIGURATION_SET,
        hint="the configuration set that sends through the pool",
    )
    slices = node.text_list("slices") or ()
    for i, slice_name in enumerate(slices):
        if not re.fullmatch(NAME, slice_name):
            raise node.fail(f"slices[{i}]", f'"{slice_name}" is not a slice name')
    zones = node.text_list("blocklist_zones")
    for i, zone in enumerate(zones or ()):
        if not re.fullmatch(ZONE, zone):
            raise node.fail(
                f"blocklist_zones[{i}]", f'expected a DNS zone such as bl.spamcop.net, got "{zone}"'
            )
    if zones == ():
        raise node.fail("blocklist_zones", "expected at least one zone; leave it out for the defaults")
    warmup_node = node.block("warmup")
    warmup = _warmup(warmup_node) if warmup_node is not None else None
    if warmup is not None and scaling_mode == "MANAGED":
        raise node.fail(
            "warmup", "only STANDARD pools take a schedule: SES warms a MANAGED pool up by itself"
        )
    if warmup is not None and not slices:
        raise node.fail("warmup", "a schedule moves the mail of slices: name them in slices = [...]")
    pool = DedicatedIpPool(
        name=name,
        account=account,
        region=region,
        source=node.file,
        scaling_mode="MANAGED" if scaling_mode == "MANAGED" else "STANDARD",
        configuration_set=configuration_set,
        slices=slices,
        warmup=warmup,
        blocklist_zones=zones or DEFAULT_BLOCKLIST_ZONES,
        tags=MappingProxyType(node.text_map("tags")),
    )
    node.finish()
    return pool


def _warmup(node: Node) -> Warmup:
    start_text = node.req_text("start", pattern=r"[0-9]{4}-[0-9]{2}-[0-9]{2}", hint="a date YYYY-MM-DD")
    try:
        dt.date.fromisoformat(start_text)
    except ValueError:
        raise node.fail("start", f'"{start_text}" is not a calendar date') from None
    daily = node.integer_list("daily_caps", minimum=1)
    weekly = node.integer_list("weekly_caps", minimum=1)
    if (daily is None) == (weekly is None):
        which = "both are set" if daily is not None else "neither is set"
        raise node.fail(None, f"give daily_caps or weekly_caps ({which})")
    key, caps, period = ("daily_caps", daily, 1) if daily is not None else ("weekly_caps", weekly or (), 7)
    if not caps:
        raise node.fail(key, "expected at least one cap")
    if len(caps) * period > MAX_WARMUP_DAYS:
        raise node.fail(key, f"a warm-up of {len(caps) * period} days; at most {MAX_WARMUP_DAYS}")
    for i in range(1, len(caps)):
        if caps[i] < caps[i - 1]:
            raise node.fail(
                f"{key}[{i}]", f"caps may not decrease: {caps[i]} after {caps[i - 1]} (a ramp only goes up)"
            )
    unit = "a day" if period == 1 else "a week"
    if not node.has("full_volume"):
        raise node.fail(
            "full_volume", f"is required: the recipients {unit} the pool carries once warm (the last cap "
            "must reach it)",
        )  # fmt: skip
    full_volume = node.integer("full_volume", default=1, minimum=1)
    if caps[-1] < full_volume:
        raise node.fail(
            f"{key}[{len(caps) - 1}]",
            f"the schedule ends at {caps[-1]} {unit}, below full_volume {full_volume}: when it ends all "
            "of the slices' mail moves to the pool at once; add caps up to full volume",
        )
    if period == 7 and full_volume < 7:
        raise node.fail("full_volume", f"expected at least 7 recipients a week, got {full_volume}")
    node.finish()
    return Warmup(start=start_text, caps=caps, period_days=period, full_volume=full_volume)


def resolve_dedicated_ip_pools(
    pools: list[DedicatedIpPool], *, accounts: list[Account], slices: list[Slice], broken_slices: set[str],
    configuration_sets: list[ConfigurationSet], broken_sets: set[str], broken_pools: set[str],
) -> tuple[list[DedicatedIpPool], list[str]]:  # fmt: skip
    """Check each pool's account, region, slices, schedule (against the quota) and configuration
    sets: the pool's own set sends through it, and each of its slices keeps a shared-pool set.
    Also checks that every configuration set naming a pool names one of its account-region.

    Returns the pools whose account and region resolved (with ``configuration_set`` filled in
    when it was found from the sets), and every problem found.
    """
    resolved: list[DedicatedIpPool] = []
    problems: list[str] = []

    def collect(check: Callable[[], None]) -> bool:
        try:
            check()
        except Invalid as exc:
            problems.append(str(exc))
            return False
        return True

    owner: dict[str, str] = {}  # slice → pool
    for pool in pools:
        if not collect(partial(_resolve_target, pool, accounts)):
            continue
        if pool.slices:
            found: list[str] = []
            bound = collect(partial(_bind_configuration_set, pool, configuration_sets, broken_sets, found))
            # Unresolved: reported once here, not again by the checks that use the pool's set.
            pool = replace(pool, configuration_set=found[0] if bound and found else None)  # noqa: PLW2901
        resolved.append(pool)
        collect(partial(_resolve_slices, pool, slices, broken_slices, owner))
        collect(partial(_check_shared_sets, pool, slices, configuration_sets))
        collect(partial(_check_quota, pool, accounts))
    known = {(p.account, p.region, p.name) for p in resolved} | {("", "", name) for name in broken_pools}
    for item in configuration_sets:
        collect(partial(_check_set_pool, item, known))
    return resolved, problems


def _sets_here(pool: DedicatedIpPool, sets: list[ConfigurationSet]) -> list[ConfigurationSet]:
    return [c for c in sets if c.account == pool.account and c.region == pool.region]


def _bind_configuration_set(
    pool: DedicatedIpPool, sets: list[ConfigurationSet], broken: set[str], found: list[str]
) -> None:
    """The pool's configuration set: named, or the one set of its account-region naming the pool."""
    here = _sets_here(pool, sets)
    where = f"{_where(pool)}.configuration_set"
    if pool.configuration_set is not None:
        if pool.configuration_set in broken:
            return
        named = next((c for c in here if c.name == pool.configuration_set), None)
        if named is None:
            listed = ", ".join(c.name for c in here) or "none"
            raise Invalid(
                f'{where}: no configuration_set "{pool.configuration_set}" in account "{pool.account}" '
                f"{pool.region} (sets there: {listed})"
            )
        if not named.external and named.dedicated_ip_pool != pool.name:
            sends = f'pool "{named.dedicated_ip_pool}"' if named.dedicated_ip_pool else "the shared pool"
            raise Invalid(
                f'{where}: configuration_set "{named.name}" sends through {sends}; set '
                f'dedicated_ip_pool = "{pool.name}" in it'
            )
        found.append(named.name)
        return
    bound = [c.name for c in here if c.dedicated_ip_pool == pool.name]
    if len(bound) == 1:
        found.append(bound[0])
        return
    if not bound:
        raise Invalid(
            f"{where}: no configuration set sends through this pool, so its slices have nothing to "
            f'send with: add dedicated_ip_pool = "{pool.name}" to a configuration_set block of '
            f'account "{pool.account}" {pool.region}'
        )
    raise Invalid(f"{where}: {', '.join(bound)} all send through this pool; name the slices' one here")


def _check_shared_sets(pool: DedicatedIpPool, slices: list[Slice], sets: list[ConfigurationSet]) -> None:
    """While a slice moves to the pool its own configuration_set carries the rest: a shared-pool set."""
    here = {c.name: c for c in _sets_here(pool, sets)}
    for item in slices:
        if item.name not in pool.slices or item.account != pool.account or item.region != pool.region:
            continue
        own = here.get(item.configuration_set or "")
        if own is not None and own.name != pool.configuration_set and own.dedicated_ip_pool is not None:
            raise Invalid(
                f'{item.source}: slice "{item.name}".configuration_set: "{own.name}" sends through pool '
                f'"{own.dedicated_ip_pool}"; the slice moves to pool "{pool.name}" ({pool.source}), so its '
                "own configuration set must be a shared-pool one (it carries what the pool may not yet)"
            )


def _check_set_pool(item: ConfigurationSet, known: set[tuple[str, str, str]]) -> None:
    if item.external or item.dedicated_ip_pool is None:
        return
    if (item.account, item.region, item.dedicated_ip_pool) in known or (
        "",
        "",
        item.dedicated_ip_pool,
    ) in known:
        return
    here = sorted(name for account, region, name in known if (account, region) == (item.account, item.region))
    raise Invalid(
        f'{item.source}: configuration_set "{item.name}".dedicated_ip_pool: no dedicated_ip_pool '
        f'"{item.dedicated_ip_pool}" in account "{item.account}" {item.region} (pools there: '
        f"{', '.join(here) or 'none'}); a set sends only through a pool of its own account-region"
    )


def _where(pool: DedicatedIpPool) -> str:
    return f'{pool.source}: dedicated_ip_pool "{pool.name}"'


def _resolve_target(pool: DedicatedIpPool, accounts: list[Account]) -> None:
    account = next((a for a in accounts if a.alias == pool.account), None)
    if account is None:
        known = ", ".join(a.alias for a in accounts) or "none declared"
        raise Invalid(f'{_where(pool)}.account: no account "{pool.account}" (accounts: {known})')
    if account.region(pool.region) is None:
        declared = ", ".join(r.name for r in account.regions)
        raise Invalid(
            f'{_where(pool)}.region: account "{account.alias}" has no region "{pool.region}" '
            f"(declared: {declared})"
        )


def _resolve_slices(
    pool: DedicatedIpPool, slices: list[Slice], broken: set[str], owner: dict[str, str]
) -> None:
    here = {s.name: s for s in slices if s.account == pool.account and s.region == pool.region}
    for i, name in enumerate(pool.slices):
        if name in broken:
            continue
        item = here.get(name)
        if item is None:
            listed = ", ".join(here) or "none"
            raise Invalid(
                f'{_where(pool)}.slices[{i}]: no slice "{name}" in account "{pool.account}" {pool.region} '
                f"(slices there: {listed})"
            )
        if name in owner:
            raise Invalid(f'{_where(pool)}.slices[{i}]: slice "{name}" already moves to pool "{owner[name]}"')
        owner[name] = pool.name
        if (
            item.configuration_set is not None and item.configuration_set == pool.configuration_set
        ):  # same set
            raise Invalid(
                f'{_where(pool)}.slices[{i}]: slice "{name}" names the pool\'s configuration set '
                f'"{pool.configuration_set}" as its own; a slice\'s configuration_set is its shared-pool set'
            )


def _check_quota(pool: DedicatedIpPool, accounts: list[Account]) -> None:
    account = next(a for a in accounts if a.alias == pool.account)
    quota = account.region(pool.region)
    if pool.warmup is None or quota is None:
        return
    if pool.warmup.full_daily_volume > quota.max_24_hour_send:
        raise Invalid(
            f"{_where(pool)}.warmup.full_volume: {pool.warmup.full_daily_volume} recipients a day exceeds "
            f'account "{pool.account}" {pool.region} max_24_hour_send {quota.max_24_hour_send}'
        )

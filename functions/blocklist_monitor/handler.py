"""The blocklist monitor, run by EventBridge Scheduler (hourly by default).

AWS does not watch dedicated IPs on DNS blocklists, so this does: it lists every dedicated IP of
the account in this region (sesv2 ``GetDedicatedIps``, all pools), looks each one up in every
configured DNSBL zone (``<d>.<c>.<b>.<a>.<zone>``, see :mod:`functions.blocklist_monitor.dns`)
and publishes, in Embedded Metric Format (namespace ``SesPlatform``):

- per IP and zone (dimensions ``Ip``, ``Zone``): ``Listed`` (1 or 0) or ``LookupFailed`` (1);
- per monitor (dimension ``Monitor``): ``Listings`` (the alarm fires on ≥ 1), ``LookupErrors``,
  ``IpsChecked``.

One log line per listing and per failed lookup says which IP, zone, answer and pool.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from functions.blocklist_monitor.dns import (
    Lookup,
    Status,
    parse_resolver,
    query_a,
    reverse_name,
    system_resolver,
)
from functions.common.clock import Clock, SystemClock
from functions.common.log import log
from functions.common.metrics import emit

ENVIRONMENT_VARIABLES = ("MONITOR_NAME", "ZONES", "DNS_RESOLVER", "TIMEOUT_SECONDS", "METRICS_NAMESPACE")
MAX_PARALLEL_LOOKUPS = 16


class SesDedicatedIpsClient(Protocol):
    def get_dedicated_ips(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class MonitorConfig:
    """Attributes:
    name: the ``Monitor`` dimension (``<env>-<region>``); the alarm watches it.
    zones: DNSBL zones, e.g. ``bl.spamcop.net``.
    resolver: (host, port) to query. Default - the first nameserver of /etc/resolv.conf.
    timeout_seconds: per attempt; two attempts per lookup. Default 2.
    metrics_namespace: Default ``SesPlatform``.
    """

    name: str
    zones: tuple[str, ...]
    resolver: tuple[str, int]
    timeout_seconds: float = 2.0
    metrics_namespace: str = "SesPlatform"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MonitorConfig:
        resolver = env.get("DNS_RESOLVER") or ""
        return cls(
            name=env["MONITOR_NAME"],
            zones=tuple(z.strip() for z in env["ZONES"].split(",") if z.strip()),
            resolver=parse_resolver(resolver) if resolver else system_resolver(),
            timeout_seconds=float(env.get("TIMEOUT_SECONDS") or 2.0),
            metrics_namespace=env.get("METRICS_NAMESPACE") or "SesPlatform",
        )


@dataclass
class MonitorDeps:
    ses: SesDedicatedIpsClient
    clock: Clock


def account_ips(ses: SesDedicatedIpsClient) -> Iterator[dict[str, Any]]:
    """Every dedicated IP of the account in this region, whatever its pool."""
    token: str | None = None
    while True:
        page = ses.get_dedicated_ips(PageSize=100, **({"NextToken": token} if token else {}))
        yield from page.get("DedicatedIps", [])
        token = page.get("NextToken")
        if not token:
            return


def check(deps: MonitorDeps, config: MonitorConfig) -> dict[str, Any]:
    """One run: every IP against every zone; metrics and a summary."""
    ips = {str(ip["Ip"]): str(ip.get("PoolName") or "") for ip in account_ips(deps.ses)}
    pairs = [(ip, zone) for ip in ips for zone in config.zones]

    def lookup(pair: tuple[str, str]) -> Lookup:
        ip, zone = pair
        return query_a(reverse_name(ip, zone), config.resolver, timeout_seconds=config.timeout_seconds)

    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_LOOKUPS, max(len(pairs), 1))) as pool:
        results = dict(zip(pairs, pool.map(lookup, pairs), strict=True))
    timestamp_ms = int(deps.clock.now() * 1000)
    listings: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for (ip, zone), result in results.items():
        fields: dict[str, Any] = {"ip": ip, "zone": zone, "pool": ips[ip], "codes": list(result.codes)}
        if result.status is Status.ERROR:
            errors.append({**fields, "detail": result.detail})
            log("blocklist_lookup_failed", level="WARNING", **errors[-1])
            metrics = {"LookupFailed": 1.0}
        else:
            listed = result.status is Status.LISTED
            if listed:
                listings.append(fields)
                log("blocklist_listed", level="ERROR", **fields)
            metrics = {"Listed": 1.0 if listed else 0.0}
        emit(config.metrics_namespace, {"Ip": ip, "Zone": zone}, metrics, timestamp_ms=timestamp_ms)
    emit(
        config.metrics_namespace,
        {"Monitor": config.name},
        {"Listings": float(len(listings)), "LookupErrors": float(len(errors)), "IpsChecked": float(len(ips))},
        timestamp_ms=timestamp_ms,
    )
    summary = {"ips": len(ips), "zones": list(config.zones), "listings": listings, "errors": errors}
    log("blocklist_checked", level="ERROR" if listings else "INFO", ips=len(ips),
        listings=len(listings), lookup_errors=len(errors))  # fmt: skip
    return summary


_DEPS: MonitorDeps | None = None
_CONFIG: MonitorConfig | None = None


def _default_deps() -> tuple[MonitorDeps, MonitorConfig]:
    import boto3

    return MonitorDeps(ses=boto3.client("sesv2"), clock=SystemClock()), MonitorConfig.from_env(os.environ)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS, _CONFIG  # one client per container
    if _DEPS is None or _CONFIG is None:
        _DEPS, _CONFIG = _default_deps()
    return check(_DEPS, _CONFIG)

"""``configuration_set "<name>" { ... }`` blocks: parsed one by one, then resolved against the
accounts, and the ``configuration_set`` names of domains and slices resolved against them.

A name is unique per account-region (as in SES), so one label may be declared once per
account-region. Every name a domain or slice uses must be declared in the same account-region:
a typo would otherwise surface only when SES rejects the first send. A set managed outside this
repository is declared with ``external = true``; nothing is created for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import MappingProxyType
from typing import TypeVar

from modules.config.hcl import Node
from modules.config.model import Account, ConfigurationSet, Domain, Slice
from modules.configuration_set.props import (
    CONFIGURATION_SET_NAME,
    DESTINATION_TYPES,
    EVENT_TYPES,
    SUPPRESSED_REASONS,
    TLS_POLICIES,
    CloudWatchDimension,
    EventDestination,
    ReputationAlarms,
)
from modules.shared.validation import validate_domain_name

T = TypeVar("T")


def parse_configuration_set(name: str, node: Node) -> ConfigurationSet:
    if not CONFIGURATION_SET_NAME.fullmatch(name):
        raise node.fail(None, "configuration set name must be 1-64 letters, digits, _ or -")
    account = node.req_text("account", hint="the alias of an account block")
    region = node.req_text("region", hint="a region declared in that account")
    if node.flag("external", default=False):
        node.finish(known=())
        return ConfigurationSet(name=name, account=account, region=region, source=node.file, external=True)
    item = ConfigurationSet(
        name=name,
        account=account,
        region=region,
        source=node.file,
        destinations=_destinations(node),
        tls_policy=node.text("tls_policy", default="REQUIRE", choices=TLS_POLICIES) or "REQUIRE",
        reputation_metrics=node.flag("reputation_metrics", default=True),
        suppressed_reasons=_choices(node, "suppressed_reasons", SUPPRESSED_REASONS, SUPPRESSED_REASONS),
        custom_redirect_domain=_domain(node, "custom_redirect_domain"),
        max_delivery_seconds=node.integer("max_delivery_seconds", default=0, minimum=300, maximum=50400)
        or None,
        engagement_metrics=node.flag("engagement_metrics", default=False)
        if node.has("engagement_metrics")
        else None,
        optimized_shared_delivery=node.flag("optimized_shared_delivery", default=False)
        if node.has("optimized_shared_delivery")
        else None,
        dedicated_ip_pool=node.text(
            "dedicated_ip_pool", pattern=CONFIGURATION_SET_NAME.pattern, hint="a pool name"
        ),
        alarms=_alarms(node),
        tags=_tags(node),
    )
    node.finish(known=("engagement_metrics", "optimized_shared_delivery"))
    return item


def _rejected_value(node: Node, build: Callable[[], T]) -> T:
    """Run a value type's checks; its message starts with the field it is about, so point there."""
    try:
        return build()
    except ValueError as exc:
        field, _, rest = str(exc).partition(" ")
        if node.has(field):
            raise node.fail(field, rest) from None
        raise node.fail(None, str(exc)) from None


def _choices(node: Node, key: str, allowed: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    values = node.text_list(key)
    if values is None:
        return default
    for i, value in enumerate(values):
        if value not in allowed:
            raise node.fail(f"{key}[{i}]", f'expected one of {", ".join(allowed)}, got "{value}"')
    return values


def _domain(node: Node, key: str) -> str | None:
    value = node.text(key)
    if value is not None:
        try:
            validate_domain_name(value)
        except ValueError as exc:
            raise node.fail(key, str(exc)) from None
    return value


def _tags(node: Node) -> MappingProxyType[str, str]:
    return MappingProxyType(node.text_map("tags"))


def _destinations(node: Node) -> tuple[EventDestination, ...]:
    destinations: list[EventDestination] = []
    for label, body in node.labelled_blocks("event_destination", "name"):
        destination = _destination(label, body)
        if any(d.name == label for d in destinations):
            raise body.fail(None, "declared twice in this configuration set")
        destinations.append(destination)
    if len(destinations) > 10:
        raise node.fail("event_destination", f"SES allows 10 per configuration set, got {len(destinations)}")
    return tuple(destinations) or (EventDestination.sns(),)


def _destination(label: str, body: Node) -> EventDestination:
    kind = body.text("type", default="sns", choices=DESTINATION_TYPES) or "sns"
    event_types = _choices(body, "event_types", EVENT_TYPES, EVENT_TYPES)
    dimensions: list[CloudWatchDimension] = []
    for name, default in body.text_map("dimensions").items():
        try:
            dimensions.append(CloudWatchDimension(name=name, default_value=default))
        except ValueError as exc:
            raise body.fail(f"dimensions.{name}", str(exc)) from None
    arns = {key: body.text(key) for key in ("event_bus_arn", "delivery_stream_arn", "iam_role_arn")}

    def build() -> EventDestination:
        return EventDestination(
            type=kind,  # type: ignore[arg-type]  # one of DESTINATION_TYPES: checked above
            name=label,
            event_types=event_types,
            dimensions=tuple(dimensions),
            **arns,
        )

    destination = _rejected_value(body, build)
    body.finish()
    return destination


def _alarms(node: Node) -> ReputationAlarms:
    """``reputation_alarms { ... }``: optional; each level defaults as in :class:`ReputationAlarms`."""
    body = node.block("reputation_alarms")
    if body is None:
        return ReputationAlarms()
    defaults = ReputationAlarms()
    levels = {
        key: body.number(key) if body.has(key) else getattr(defaults, key)
        for key in (
            "bounce_warning_percent", "bounce_critical_percent",
            "complaint_warning_percent", "complaint_critical_percent",
        )
    }  # fmt: skip
    alarms = _rejected_value(
        body,
        lambda: ReputationAlarms(
            **levels,
            minimum_sends=body.integer("minimum_sends", default=defaults.minimum_sends, minimum=1),
            period_seconds=body.integer(
                "period_seconds", default=defaults.period_seconds, minimum=300, maximum=86400
            ),
            breaker=body.flag("breaker", default=defaults.breaker),
        ),
    )
    body.finish(known=tuple(levels))
    return alarms


# --- resolution ---------------------------------------------------------------------------------


def resolve_configuration_sets(
    sets: list[ConfigurationSet],
    *,
    accounts: list[Account],
    domains: Iterable[Domain],
    slices: Iterable[Slice],
    broken: set[str],
) -> tuple[list[ConfigurationSet], list[str]]:
    """Check each set's account and region and that it is declared once per account-region; then
    that each domain's and slice's ``configuration_set`` names a set of its account-region.

    ``broken`` holds labels of blocks that failed to parse: references to them are not reported
    again. Returns the resolved sets and every problem found.
    """
    resolved: list[ConfigurationSet] = []
    problems: list[str] = []
    for item in sets:
        where = f'{item.source}: configuration_set "{item.name}"'
        account = next((a for a in accounts if a.alias == item.account), None)
        if account is None:
            known = ", ".join(a.alias for a in accounts) or "none declared"
            problems.append(f'{where}.account: no account "{item.account}" (accounts: {known})')
            continue
        if account.region(item.region) is None:
            declared = ", ".join(r.name for r in account.regions)
            problems.append(
                f'{where}.region: account "{account.alias}" has no region "{item.region}" '
                f"(declared: {declared})"
            )
            continue
        first = next(
            (s for s in resolved if (s.name, s.account, s.region) == (item.name, item.account, item.region)),
            None,
        )
        if first is not None:
            problems.append(
                f'{where}: declared twice for account "{item.account}" in {item.region} '
                f"(first in {first.source})"
            )
            continue
        resolved.append(item)
    skip = broken | {s.name for s in sets if s not in resolved}  # reported already

    def check(where: str, name: str | None, account: str, regions: Iterable[str]) -> None:
        if name is None or name in skip:
            return
        for region in regions:
            if any((s.name, s.account, s.region) == (name, account, region) for s in resolved):
                continue
            here = [s.name for s in resolved if (s.account, s.region) == (account, region)]
            problems.append(
                f'{where}.configuration_set: no configuration set "{name}" in account "{account}" {region} '
                f"(declared there: {', '.join(here) or 'none'}; for a set managed elsewhere declare "
                f'configuration_set "{name}" {{ account = "{account}", region = "{region}", '
                "external = true })"
            )
            return

    for domain in domains:
        check(
            f'{domain.source}: domain "{domain.name}"',
            domain.configuration_set,
            domain.account,
            domain.regions,
        )
    for user in slices:
        check(f'{user.source}: slice "{user.name}"', user.configuration_set, user.account, (user.region,))
    return resolved, problems

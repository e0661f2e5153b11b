"""``slice "<name>" { ... }`` blocks: parsed one by one, then resolved against accounts and domains.

A slice reserves part of one account-region's SES sending rate, so the slices of an
account-region together may not ask for more than its ``max_send_rate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial

from modules.config.archive import parse_archive
from modules.config.hcl import Invalid, Node
from modules.config.model import NAME, NAME_HINT, Account, Domain, RegionQuota, Slice
from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import SES_NAME_PATTERN, validate_domain_name

CONFIGURATION_SET = SES_NAME_PATTERN
RESERVED_PREFIX = "ses-"  # <env>-ses-… are the platform's own names (event logger, heartbeat, …)
# Lambda function names ("<env>-<slice>-sender") are at most 64 characters (the role adds the region
# and is shortened to fit: modules/naming).
MAX_FUNCTION_NAME = 64


def parse_slice(name: str, node: Node) -> Slice:
    if not re.fullmatch(NAME, name):
        raise node.fail(None, f"slice name must be {NAME_HINT}")
    if name.startswith(RESERVED_PREFIX):
        raise node.fail(
            None,
            f'slice names may not start with "{RESERVED_PREFIX}": <env>-{RESERVED_PREFIX}… names the '
            "platform's own resources (a slice ses-event-logger would create the event logger's "
            "queue <env>-ses-event-logger-dlq a second time); choose another name",
        )
    account = node.req_text("account", hint="the alias of an account block")
    region = node.req_text("region", hint="a region declared in that account")
    rate = node.number("rate_per_second")
    from_domains = node.text_list("from_domains")
    if not from_domains:
        raise node.fail("from_domains", "expected at least one domain this slice sends as")
    for i, domain in enumerate(from_domains):
        try:
            validate_domain_name(domain)
        except ValueError as exc:
            raise node.fail(f"from_domains[{i}]", str(exc)) from None
    configuration_set = node.text(
        "configuration_set", pattern=CONFIGURATION_SET, hint="a configuration set name"
    )
    retention = node.integer("log_retention_days", default=365, minimum=1, maximum=3653)
    if retention not in LOG_RETENTION_DAYS:
        accepted = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise node.fail("log_retention_days", f"CloudWatch accepts only {accepted}; got {retention}")
    item = Slice(
        name=name,
        account=account,
        region=region,
        rate_per_second=rate,
        from_domains=from_domains,
        source=node.file,
        configuration_set=configuration_set,
        max_receive_count=node.integer("max_receive_count", default=5, minimum=1, maximum=1000),
        sender_max_concurrency=node.integer("sender_max_concurrency", default=5, minimum=2, maximum=1000),
        batch_size=node.integer("batch_size", default=10, minimum=1, maximum=10),
        log_retention_days=retention,
        dlq_alarm_threshold=node.integer("dlq_alarm_threshold", default=1, minimum=1),
        oldest_message_alarm_seconds=node.integer(
            "oldest_message_alarm_seconds", default=300, minimum=60, maximum=1209600
        ),
        archive=parse_archive(node),
    )
    node.finish()
    return item


def resolve_slices(
    slices: list[Slice],
    *,
    accounts: list[Account],
    domains: list[Domain],
    broken_domains: set[str],
    environment: str | None,
) -> tuple[list[Slice], list[str]]:
    """Check each slice's account, region and from_domains, then the rate sum per account-region.

    Returns the slices whose account and region resolved, and every problem found.
    """
    resolved: list[Slice] = []
    problems: list[str] = []

    def collect(check: Callable[[], None]) -> bool:
        try:
            check()
        except Invalid as exc:
            problems.append(str(exc))
            return False
        return True

    for item in slices:
        if not collect(partial(resolve_slice_target, item, accounts)):
            continue
        resolved.append(item)
        collect(partial(resolve_slice_domains, item, domains, broken_domains))
        collect(partial(check_slice_names, item, environment))
    for account in accounts:
        for quota in account.regions:
            group = [s for s in resolved if s.account == account.alias and s.region == quota.name]
            collect(partial(check_rate_sum, group, account, quota))
    return resolved, problems


def _slice_where(item: Slice) -> str:
    return f'{item.source}: slice "{item.name}"'


def resolve_slice_target(item: Slice, accounts: list[Account]) -> None:
    where = _slice_where(item)
    account = next((a for a in accounts if a.alias == item.account), None)
    if account is None:
        known = ", ".join(a.alias for a in accounts) or "none declared"
        raise Invalid(f'{where}.account: no account "{item.account}" (accounts: {known})')
    if account.region(item.region) is None:
        declared = ", ".join(r.name for r in account.regions)
        raise Invalid(
            f'{where}.region: account "{account.alias}" has no region "{item.region}" (declared: {declared})'
        )


def resolve_slice_domains(item: Slice, domains: list[Domain], broken: set[str]) -> None:
    here = [d.name for d in domains if d.account == item.account and item.region in d.regions]
    for i, name in enumerate(item.from_domains):
        if name in here or name in broken:
            continue
        listed = ", ".join(here) or "none"
        raise Invalid(
            f'{_slice_where(item)}.from_domains[{i}]: "{name}" is not a domain of account '
            f'"{item.account}" in {item.region} (domains there: {listed})'
        )


def check_slice_names(item: Slice, environment: str | None) -> None:
    if environment is None:  # reported already
        return
    function_name = f"{environment}-{item.name}-sender"
    if len(function_name) > MAX_FUNCTION_NAME:
        raise Invalid(
            f'{_slice_where(item)}: its sender Lambda function would be named "{function_name}" '
            f"({len(function_name)} characters, AWS allows {MAX_FUNCTION_NAME}); use a shorter slice name"
        )


def check_rate_sum(group: list[Slice], account: Account, quota: RegionQuota) -> None:
    total = sum(s.rate_per_second for s in group)
    if not group or total <= quota.max_send_rate + 1e-9:
        return
    # Named on the last slice declared: the one that pushed the account-region over its quota.
    parts = " + ".join(f"{s.name} {_number(s.rate_per_second)}" for s in group)
    raise Invalid(
        f'{_slice_where(group[-1])}.rate_per_second: slices of account "{account.alias}" in {quota.name} '
        f"ask for {_number(total)} recipients/s, quota max_send_rate is {_number(quota.max_send_rate)} "
        f"({parts})"
    )


def _number(value: float) -> str:
    value = round(value, 6)
    return str(int(value)) if value.is_integer() else str(value)

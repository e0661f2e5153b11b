"""``tenant "<name>" { ... }`` and ``multi_region_endpoint "<name>" { ... }`` blocks.

Both are parsed block by block, then resolved against the accounts and domains. A tenant lives in
one account-region and groups that stack's identities and configuration sets (SES tenants:
reputation and sending status per customer). A multi-region endpoint spans exactly two regions of
one account: it is created in the first (primary) region's stack and routes to the second; SES
sends through it only for identities verified in both, so a domain of the account must be in both.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from modules.config.hcl import Invalid, Node
from modules.config.shapes import AccountShape, DomainShape
from modules.shared.validation import SES_NAME_PATTERN, validate_domain_name

# SES: tenant and endpoint names are 1-64 letters, digits, underscores and hyphens.
SES_NAME = CONFIGURATION_SET = SES_NAME_PATTERN


@dataclass(frozen=True, kw_only=True)
class Tenant:
    """An SES tenant (``aws_sesv2_tenant``) and the resources associated with it.

    Attributes:
        name: the tenant name, 1-64 letters, digits, ``_`` and ``-``; unique per account-region.
        account: alias of the account block it lives in.
        region: the region it lives in; must be declared in that account.
        source: the file that declared it, for messages.
        domains: domain identities of this account-region associated with it. Default - none.
        configuration_sets: configuration set names associated with it. Default - none.
    """

    name: str
    account: str
    region: str
    source: str
    domains: tuple[str, ...] = ()
    configuration_sets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class MultiRegionEndpoint:
    """An SES multi-region endpoint (global endpoint, ``aws_sesv2_multi_region_endpoint``).

    Attributes:
        name: the endpoint name, 1-64 letters, digits, ``_`` and ``-``.
        account: alias of the account block.
        regions: exactly two regions of that account: the primary (whose stack creates the
            endpoint) and the secondary it routes to.
        source: the file that declared it, for messages.
    """

    name: str
    account: str
    regions: tuple[str, str]
    source: str

    @property
    def primary_region(self) -> str:
        return self.regions[0]


def parse_tenant(name: str, node: Node) -> Tenant:
    if not re.fullmatch(SES_NAME, name):
        raise node.fail(None, "tenant name must be 1-64 letters, digits, _ and -")
    tenant = Tenant(
        name=name,
        account=node.req_text("account", hint="the alias of an account block"),
        region=node.req_text("region", hint="a region declared in that account"),
        source=node.file,
        domains=node.text_list("domains") or (),
        configuration_sets=node.text_list("configuration_sets") or (),
    )
    for i, domain in enumerate(tenant.domains):
        try:
            validate_domain_name(domain)
        except ValueError as exc:
            raise node.fail(f"domains[{i}]", str(exc)) from None
    for i, item in enumerate(tenant.configuration_sets):
        if not re.fullmatch(CONFIGURATION_SET, item):
            raise node.fail(f"configuration_sets[{i}]", f'expected a configuration set name, got "{item}"')
    node.finish()
    return tenant


def parse_multi_region_endpoint(name: str, node: Node) -> MultiRegionEndpoint:
    if not re.fullmatch(SES_NAME, name):
        raise node.fail(None, "endpoint name must be 1-64 letters, digits, _ and -")
    account = node.req_text("account", hint="the alias of an account block")
    regions = node.text_list("regions")
    if regions is None or len(regions) != 2:
        raise node.fail(
            "regions",
            '[primary, secondary] is required: exactly two regions, e.g. ["eu-central-1", "eu-west-1"]',
        )
    node.finish()
    return MultiRegionEndpoint(name=name, account=account, regions=(regions[0], regions[1]), source=node.file)


def _account(where: str, alias: str, accounts: Sequence[AccountShape]) -> AccountShape:
    account = next((a for a in accounts if a.alias == alias), None)
    if account is None:
        known = ", ".join(a.alias for a in accounts) or "none declared"
        raise Invalid(f'{where}.account: no account "{alias}" (accounts: {known})')
    return account


def _region(where: str, account: AccountShape, region: str, key: str = "region") -> None:
    if account.region(region) is None:
        declared = ", ".join(r.name for r in account.regions)
        raise Invalid(
            f'{where}.{key}: account "{account.alias}" has no region "{region}" (declared: {declared})'
        )


def resolve_tenant(
    tenant: Tenant,
    accounts: Sequence[AccountShape],
    domains: Sequence[DomainShape],
    configuration_sets: Collection[tuple[str, str, str]] = (),
) -> Tenant:
    """``configuration_sets``: (account, region, name) of every declared configuration set."""
    where = f'{tenant.source}: tenant "{tenant.name}"'
    account = _account(where, tenant.account, accounts)
    _region(where, account, tenant.region)
    here = [d.name for d in domains if d.account == tenant.account and tenant.region in d.regions]
    for i, name in enumerate(tenant.domains):
        if name not in here:
            raise Invalid(
                f'{where}.domains[{i}]: "{name}" is not a domain of account "{tenant.account}" in '
                f"{tenant.region} (domains there: {', '.join(here) or 'none'})"
            )
    sets_here = sorted(n for a, r, n in configuration_sets if a == tenant.account and r == tenant.region)
    for i, name in enumerate(tenant.configuration_sets):
        if name not in sets_here:
            raise Invalid(
                f'{where}.configuration_sets[{i}]: no configuration_set "{name}" in account '
                f'"{tenant.account}" {tenant.region} (declared there: {", ".join(sets_here) or "none"}; '
                "one managed elsewhere needs a block with external = true)"
            )
    return tenant


def resolve_multi_region_endpoint(
    endpoint: MultiRegionEndpoint, accounts: Sequence[AccountShape], domains: Sequence[DomainShape]
) -> MultiRegionEndpoint:
    where = f'{endpoint.source}: multi_region_endpoint "{endpoint.name}"'
    account = _account(where, endpoint.account, accounts)
    if endpoint.regions[0] == endpoint.regions[1]:
        raise Invalid(f"{where}.regions: the primary and the secondary region must differ")
    for i, region in enumerate(endpoint.regions):
        _region(where, account, region, f"regions[{i}]")
    regions = set(endpoint.regions)
    if not any(d.account == account.alias and regions <= set(d.regions) for d in domains):
        raise Invalid(
            f'{where}.regions: no domain of account "{account.alias}" is in both '
            f"{' and '.join(endpoint.regions)}; SES sends through the endpoint only for identities "
            "verified in both regions"
        )
    return endpoint


def check_unique_tenants(tenants: list[Tenant]) -> list[str]:
    """Tenant names are unique per account-region (SES's scope)."""
    seen: set[tuple[str, str, str]] = set()
    problems = []
    for tenant in tenants:
        key = (tenant.account, tenant.region, tenant.name)
        if key in seen:
            where = f'{tenant.source}: tenant "{tenant.name}"'
            problems.append(f'{where}: declared twice in account "{tenant.account}" {tenant.region}')
        seen.add(key)
    return problems

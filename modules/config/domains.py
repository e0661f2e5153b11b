"""``domain "<name>" { ... }`` blocks (identity, DKIM, MAIL FROM, DMARC, DNS), and the small
checks every block reader shares (names, tags)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from types import MappingProxyType
from typing import TypeVar

from modules.config.hcl import Invalid, Node
from modules.config.model import Account, Domain
from modules.identity.props import (
    DKIM_KEY_LENGTHS,
    DMARC_ALIGNMENTS,
    DMARC_POLICIES,
    MX_FAILURE_BEHAVIOURS,
    Dkim,
    Dmarc,
    MailFrom,
    check_dns_name,
    mail_from_problem,
)
from modules.shared.validation import SES_NAME_PATTERN, validate_domain_name

T = TypeVar("T")
HOSTED_ZONE_ID = r"Z[A-Z0-9]{1,31}"
_DEFAULT_MAIL_FROM: MailFrom | None = MailFrom()  # no mail_from block: bounce.<domain>


def matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def freeze(mapping: dict[str, str]) -> MappingProxyType[str, str]:
    return MappingProxyType(dict(mapping))


def check_tags(node: Node, tags: dict[str, str], key: str) -> None:
    for name, value in tags.items():
        if not 1 <= len(name) <= 128 or name.lower().startswith("aws:"):
            raise node.fail(f"{key}.{name}", "tag keys are 1-128 characters and may not start with aws:")
        if len(value) > 256:
            raise node.fail(f"{key}.{name}", f"tag values are at most 256 characters, got {len(value)}")


def parse_domain(name: str, node: Node) -> Domain:
    try:
        validate_domain_name(name)
    except ValueError as exc:
        raise node.fail(None, str(exc)) from None
    account = node.req_text("account", hint="the alias of an account block")
    regions = node.text_list("regions")
    if regions == ():
        raise node.fail(
            "regions", "expected at least one region; leave regions out for every region of the account"
        )
    hosted_zone_id = node.text(
        "hosted_zone_id",
        pattern=HOSTED_ZONE_ID,
        hint="a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
    )
    dns = node.text("dns", choices=("route53", "external"))
    if hosted_zone_id is not None and dns == "external":
        raise node.fail("dns", 'hosted_zone_id and dns = "external" are both set; choose one')
    if hosted_zone_id is None and dns != "external":
        raise node.fail(
            "hosted_zone_id", 'is required unless dns = "external" (records then become a zone-file output)'
        )
    domain = Domain(
        name=name,
        account=account,
        regions=regions or (),
        source=node.file,
        hosted_zone_id=hosted_zone_id,
        dkim=_sub(node, "dkim", _dkim, Dkim()),
        mail_from=_sub(node, "mail_from", partial(_mail_from, domain=name), _DEFAULT_MAIL_FROM),
        dmarc=_sub(node, "dmarc", _dmarc, Dmarc()),
        configuration_set=node.text(
            "configuration_set", pattern=SES_NAME_PATTERN, hint="a configuration set name"
        ),
        dns_ttl_seconds=node.integer("dns_ttl_seconds", default=600, minimum=60, maximum=86400),
        tags=freeze(node.text_map("tags")),
    )
    check_tags(node, dict(domain.tags), "tags")
    node.finish()
    return domain


def _sub(node: Node, key: str, build: Callable[[Node], T], default: T) -> T:
    body = node.block(key)
    if body is None:
        return default
    try:
        value = build(body)
    except ValueError as exc:
        # The value types' messages start with the field they are about: point the key path there.
        field, _, rest = str(exc).partition(" ")
        if body.has(field):
            raise body.fail(field, rest) from None
        raise body.fail(None, str(exc)) from None
    body.finish()
    return value


def _dkim(node: Node) -> Dkim:
    if any(node.has(key) for key in ("selector", "private_key_secret", "public_key")):
        dkim = Dkim.byo(
            selector=node.req_text("selector", hint="BYODKIM: the DNS label of <selector>._domainkey"),
            private_key_secret=node.req_text("private_key_secret", hint="Secrets Manager secret name or ARN"),
            public_key=node.text("public_key"),
        )
        if node.has("signing_key_length"):
            raise node.fail("signing_key_length", "is for Easy DKIM; BYODKIM uses the key you bring")
        # The key passes through Terraform state on its way to SES: make that a decision.
        if not node.flag("allow_private_key_in_state", default=False):
            raise node.fail(
                "allow_private_key_in_state",
                "BYODKIM hands the private key to Terraform, so it is stored in state; set it to true "
                "once your state is encrypted and access-controlled, or use Easy DKIM",
            )
        return dkim
    length = node.text("signing_key_length", default="RSA_2048_BIT", choices=DKIM_KEY_LENGTHS)
    return Dkim.easy(length or "RSA_2048_BIT")


def _mail_from(node: Node, *, domain: str) -> MailFrom | None:
    enabled = node.flag("enabled", default=True)
    subdomain = node.text("subdomain", default="bounce")
    problem = mail_from_problem(subdomain, domain) if subdomain is not None else None
    if problem is not None:
        raise node.fail("subdomain", problem)
    mail_from = MailFrom(
        subdomain=subdomain or "bounce",
        behavior_on_mx_failure=node.text(
            "behavior_on_mx_failure", default="USE_DEFAULT_VALUE", choices=MX_FAILURE_BEHAVIOURS
        )
        or "",
    )
    return mail_from if enabled else None


def _dmarc(node: Node) -> Dmarc:
    return Dmarc(
        policy=node.text("policy", default="none", choices=DMARC_POLICIES) or "none",
        subdomain_policy=node.text("subdomain_policy", choices=DMARC_POLICIES),
        pct=node.integer("pct", default=100, minimum=0, maximum=100),
        rua=node.text_list("rua") or (),
        ruf=node.text_list("ruf") or (),
        adkim=node.text("adkim", default="r", choices=DMARC_ALIGNMENTS) or "r",
        aspf=node.text("aspf", default="r", choices=DMARC_ALIGNMENTS) or "r",
    )


def resolve_domain(domain: Domain, accounts: list[Account]) -> Domain:
    where = f'{domain.source}: domain "{domain.name}"'
    account = next((a for a in accounts if a.alias == domain.account), None)
    if account is None:
        known = ", ".join(a.alias for a in accounts) or "none declared"
        raise Invalid(f'{where}.account: no account "{domain.account}" (accounts: {known})')
    declared = [r.name for r in account.regions]
    for region in domain.regions:
        if region not in declared:
            raise Invalid(
                f'{where}.regions: account "{account.alias}" has no region "{region}" '
                f"(declared: {', '.join(declared)})"
            )
    # Default: every region the account declares.
    resolved = domain if domain.regions else replace(domain, regions=tuple(declared))
    _check_record_names(resolved, where)
    return resolved


def _check_record_names(domain: Domain, where: str) -> None:
    """Every DNS name the identity publishes must fit DNS's limits (63 per label, 253 in all):
    a long domain leaves little room for ``<32-character token>._domainkey.``, and a region in
    a MAIL FROM label (``bounce-ap-southeast-2``) can push it past 63."""
    names = [("_dmarc record", f"_dmarc.{domain.name}", "")]
    selector = domain.dkim.selector or "x" * 32  # Easy DKIM tokens have 32 characters
    names.append(("DKIM record", f"{selector}._domainkey.{domain.name}", ""))
    if domain.mail_from is not None:
        for region in domain.regions:
            mail_from = domain.mail_from.domain_for(domain.name, region, domain.home_region)
            names.append((f"MAIL FROM domain in {region}", mail_from, ".mail_from.subdomain"))
    for what, record, key in names:
        try:
            check_dns_name(record, what)
        except ValueError as exc:
            raise Invalid(f"{where}{key}: {exc}; use a shorter name") from None

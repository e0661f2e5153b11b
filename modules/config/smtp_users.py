"""``smtp_user "<name>" { ... }`` blocks: parsed one by one, then resolved against accounts and domains.

An SMTP user sends through SES's SMTP interface in one account-region, as the listed domain
identities of that account-region only. Its credentials live in Secrets Manager and are rotated
there; nothing secret passes through Terraform.
"""

from __future__ import annotations

import re

from modules.config.hcl import Invalid, Node
from modules.config.model import NAME, NAME_HINT, Account, Domain, SmtpUser
from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import SES_NAME_PATTERN, validate_domain_name

CONFIGURATION_SET = SES_NAME_PATTERN
REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9]"
# Who may read the secret: an account, or an IAM role or user (paths allowed).
READER = r"arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:(?:root|role/[\w+=,.@/-]{1,512}|user/[\w+=,.@/-]{1,512})"
FROM_ADDRESS = r"[^@\s]+@[^@\s]+"
MAX_ROTATION_DAYS = 90  # longer lived credentials fail the checks (CKV_AWS_304)
# "<env>-smtp-<name>-rotation" is the rotation Lambda's name and role: at most 64 characters.
MAX_FUNCTION_NAME = 64


def parse_smtp_user(name: str, node: Node) -> SmtpUser:
    if not re.fullmatch(NAME, name):
        raise node.fail(None, f"smtp_user name must be {NAME_HINT}")
    account = node.req_text("account", hint="the alias of an account block")
    region = node.req_text("region", hint="a region declared in that account")
    identities = node.text_list("identities")
    if not identities:
        raise node.fail("identities", "expected at least one domain this user sends as")
    for i, domain in enumerate(identities):
        try:
            validate_domain_name(domain)
        except ValueError as exc:
            raise node.fail(f"identities[{i}]", str(exc)) from None
    from_addresses = _from_addresses(node, identities)
    rotation_days = node.integer("rotation_days", default=30, minimum=1, maximum=MAX_ROTATION_DAYS)
    grace = node.integer("previous_key_grace_hours", default=24, minimum=0)
    if grace >= rotation_days * 24:
        raise node.fail(
            "previous_key_grace_hours",
            f"must end before the next rotation ({rotation_days} days = {rotation_days * 24} hours), "
            f"got {grace}",
        )
    replicas = _replica_regions(node, region)
    readers = node.text_list("readers") or ()
    for i, reader in enumerate(readers):
        if not re.fullmatch(READER, reader):
            raise node.fail(
                f"readers[{i}]",
                "expected an IAM role, user or account root ARN (arn:aws:iam::<id>:role/<name>), "
                f'got "{reader}"',
            )
    retention = node.integer("log_retention_days", default=365, minimum=1, maximum=3653)
    if retention not in LOG_RETENTION_DAYS:
        accepted = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise node.fail("log_retention_days", f"CloudWatch accepts only {accepted}; got {retention}")
    user = SmtpUser(
        name=name,
        account=account,
        region=region,
        identities=identities,
        source=node.file,
        from_addresses=from_addresses,
        rotation_days=rotation_days,
        replica_regions=replicas,
        readers=readers,
        configuration_set=node.text(
            "configuration_set", pattern=CONFIGURATION_SET, hint="a configuration set name"
        ),
        previous_key_grace_hours=grace,
        test_smtp_login=node.flag("test_smtp_login", default=True),
        log_retention_days=retention,
    )
    node.finish()
    return user


def _from_addresses(node: Node, identities: tuple[str, ...]) -> tuple[str, ...]:
    addresses = node.text_list("from_addresses") or ()
    for i, address in enumerate(addresses):
        domain = address.rpartition("@")[2].lower()
        if not re.fullmatch(FROM_ADDRESS, address) or domain not in identities:
            raise node.fail(
                f"from_addresses[{i}]",
                f'expected an address (wildcards allowed, "*@{identities[0]}") on one of the identities, '
                f'got "{address}"',
            )
    return addresses


def _replica_regions(node: Node, region: str) -> tuple[str, ...]:
    replicas = node.text_list("replica_regions") or ()
    for i, replica in enumerate(replicas):
        if not re.fullmatch(REGION, replica):
            raise node.fail(f"replica_regions[{i}]", f'"{replica}" is not an AWS region')
        if replica == region:
            raise node.fail(f"replica_regions[{i}]", f"{replica} is the secret's own region")
    return replicas


def resolve_smtp_users(
    users: list[SmtpUser],
    *,
    accounts: list[Account],
    domains: list[Domain],
    broken_domains: set[str],
    environment: str | None,
) -> tuple[list[SmtpUser], list[str]]:
    """Check each user's account, region, identities and resource names.

    Returns the users that resolved, and every problem found.
    """
    resolved: list[SmtpUser] = []
    problems: list[str] = []
    for user in users:
        try:
            _resolve(user, accounts, domains, broken_domains, environment)
        except Invalid as exc:
            problems.append(str(exc))
            continue
        resolved.append(user)
    return resolved, problems


def _resolve(
    user: SmtpUser, accounts: list[Account], domains: list[Domain], broken: set[str], environment: str | None
) -> None:
    where = f'{user.source}: smtp_user "{user.name}"'
    account = next((a for a in accounts if a.alias == user.account), None)
    if account is None:
        known = ", ".join(a.alias for a in accounts) or "none declared"
        raise Invalid(f'{where}.account: no account "{user.account}" (accounts: {known})')
    if account.region(user.region) is None:
        declared = ", ".join(r.name for r in account.regions)
        raise Invalid(
            f'{where}.region: account "{account.alias}" has no region "{user.region}" (declared: {declared})'
        )
    here = [d.name for d in domains if d.account == user.account and user.region in d.regions]
    for i, name in enumerate(user.identities):
        if name not in here and name not in broken:
            listed = ", ".join(here) or "none"
            raise Invalid(
                f'{where}.identities[{i}]: "{name}" is not a domain of account "{user.account}" in '
                f"{user.region} (domains there: {listed})"
            )
    if environment is not None:
        # The longest names it gets: the rotation Lambda and the key sweep's EventBridge rule.
        for what, name in (
            ("rotation Lambda function", f"{environment}-smtp-{user.name}-rotation"),
            ("key sweep EventBridge rule", f"{environment}-smtp-{user.name}-key-sweep"),
        ):
            if len(name) > MAX_FUNCTION_NAME:
                raise Invalid(
                    f'{where}: its {what} would be named "{name}" ({len(name)} characters, AWS allows '
                    f"{MAX_FUNCTION_NAME}); use a shorter name"
                )

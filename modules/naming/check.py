"""The cross-stack name check: no two resources of the synthesized stacks may claim one name in
the scope where AWS keeps it unique.

It reads the Terraform JSON (what will be applied, after every override), so it covers every
construct, present and future, without each one declaring its names. A stack's account is its
provider's ``allowed_account_ids``, its region the provider's (or a resource's own ``region``).
A name that holds a Terraform expression (``${...}``) is resolved when it is a plain reference
to a literal attribute of the same stack, and otherwise left out: it is not known before apply.

Used by ``synth`` on the stacks of one env (a repeat is exit 2, nothing is left in the output
folder) and by ``tf-check`` and the tests across every env in ``envs/`` (envs that share an
account must not claim each other's identities, sets or DNS records).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

Scope = Literal["global", "account", "region", "zone"]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """Where AWS keeps the names of one resource type unique.

    Attributes:
        kind: what it is, in AWS's words (for messages).
        scope: ``global`` (all of AWS), ``account``, ``region`` (account and region) or ``zone``
            (a Route 53 hosted zone: name and type).
        attribute: the argument holding the name.
        within: an argument that narrows the scope further (a schedule's group), and its default.
        singleton: at most one per scope (the active receipt rule set): any two collide.
        limit: the most characters AWS accepts in the name.
    """

    kind: str
    scope: Scope
    attribute: str
    limit: int
    within: tuple[str, str] | None = None
    singleton: bool = False


RULES: Mapping[str, Rule] = {
    # account-wide
    "aws_iam_role": Rule(kind="IAM role", scope="account", attribute="name", limit=64),
    "aws_iam_user": Rule(kind="IAM user", scope="account", attribute="name", limit=64),
    "aws_iam_group": Rule(kind="IAM group", scope="account", attribute="name", limit=128),
    "aws_iam_policy": Rule(kind="IAM policy", scope="account", attribute="name", limit=128),
    "aws_iam_instance_profile": Rule(
        kind="IAM instance profile", scope="account", attribute="name", limit=128
    ),
    "aws_cloudwatch_dashboard": Rule(
        kind="CloudWatch dashboard", scope="account", attribute="dashboard_name", limit=255
    ),
    # global
    "aws_s3_bucket": Rule(kind="S3 bucket", scope="global", attribute="bucket", limit=63),
    "aws_route53_record": Rule(kind="Route 53 record", scope="zone", attribute="name", limit=253),
    # per account-region
    "aws_lambda_function": Rule(kind="Lambda function", scope="region", attribute="function_name", limit=64),
    "aws_cloudwatch_log_group": Rule(
        kind="CloudWatch log group", scope="region", attribute="name", limit=512
    ),
    "aws_sns_topic": Rule(kind="SNS topic", scope="region", attribute="name", limit=256),
    "aws_sqs_queue": Rule(kind="SQS queue", scope="region", attribute="name", limit=80),
    "aws_dynamodb_table": Rule(kind="DynamoDB table", scope="region", attribute="name", limit=255),
    "aws_kms_alias": Rule(kind="KMS alias", scope="region", attribute="name", limit=256),
    "aws_scheduler_schedule": Rule(
        kind="EventBridge Scheduler schedule",
        scope="region",
        attribute="name",
        limit=64,
        within=("group_name", "default"),
    ),
    "aws_scheduler_schedule_group": Rule(
        kind="EventBridge Scheduler group", scope="region", attribute="name", limit=64
    ),
    "aws_sfn_state_machine": Rule(
        kind="Step Functions state machine", scope="region", attribute="name", limit=80
    ),
    "aws_cloudwatch_event_rule": Rule(
        kind="EventBridge rule",
        scope="region",
        attribute="name",
        limit=64,
        within=("event_bus_name", "default"),
    ),
    "aws_cloudwatch_metric_alarm": Rule(
        kind="CloudWatch alarm", scope="region", attribute="alarm_name", limit=255
    ),
    "aws_cloudwatch_composite_alarm": Rule(
        kind="CloudWatch alarm", scope="region", attribute="alarm_name", limit=255
    ),
    "aws_secretsmanager_secret": Rule(
        kind="Secrets Manager secret", scope="region", attribute="name", limit=512
    ),
    "aws_ses_receipt_rule_set": Rule(
        kind="SES receipt rule set", scope="region", attribute="rule_set_name", limit=64
    ),
    "aws_ses_receipt_rule": Rule(
        kind="SES receipt rule", scope="region", attribute="name", limit=64, within=("rule_set_name", "")
    ),
    "aws_ses_active_receipt_rule_set": Rule(
        kind="active SES receipt rule set",
        scope="region",
        attribute="rule_set_name",
        limit=64,
        singleton=True,
    ),
    "aws_sesv2_email_identity": Rule(
        kind="SES identity", scope="region", attribute="email_identity", limit=253
    ),
    "aws_sesv2_configuration_set": Rule(
        kind="SES configuration set", scope="region", attribute="configuration_set_name", limit=64
    ),
    "aws_sesv2_dedicated_ip_pool": Rule(
        kind="SES dedicated IP pool", scope="region", attribute="pool_name", limit=64
    ),
    "aws_sesv2_tenant": Rule(kind="SES tenant", scope="region", attribute="tenant_name", limit=64),
    "aws_sesv2_multi_region_endpoint": Rule(
        kind="SES multi-region endpoint", scope="region", attribute="endpoint_name", limit=64
    ),
}

_WHY: Mapping[Scope, str] = {
    "account": "unique per account",
    "region": "unique per account and region",
    "global": "unique across all of AWS",
    "zone": "unique per hosted zone (name and type)",
}
_REFERENCE = re.compile(r"\$\{(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}")


@dataclass(frozen=True, kw_only=True)
class StackDocument:
    """A synthesized stack: its env (as shown in messages), its name and its Terraform JSON."""

    env: str
    stack: str
    document: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Claim:
    """One resource claiming one name in one scope."""

    key: tuple[str, ...]
    kind: str
    name: str
    where: str  # "in account 1111… eu-central-1", "in hosted zone Z…"
    why: str
    env: str
    stack: str
    address: str


def read_stacks(out_dir: Path, env: str) -> list[StackDocument]:
    """The stacks of a synthesized output folder, in manifest order."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    return [
        StackDocument(
            env=env,
            stack=name,
            document=json.loads((out_dir / entry["synthesizedStackPath"]).read_text()),
        )
        for name, entry in manifest["stacks"].items()
    ]


def check_names(stacks: Sequence[StackDocument]) -> list[str]:
    """Every name that repeats in its scope, then every name longer than AWS accepts."""
    return find_repeats(stacks) + find_overlong(stacks)


def find_repeats(stacks: Sequence[StackDocument]) -> list[str]:
    """One line per name claimed twice: ``<env>: <kind> "<name>": <who claims it and why it fails>``."""
    claims: dict[tuple[str, ...], list[Claim]] = {}
    for stack in stacks:
        for claim in claims_of(stack):
            claims.setdefault(claim.key, []).append(claim)
    problems = []
    for group in claims.values():
        if len(group) < 2:
            continue
        first = group[0]
        envs = ", ".join(dict.fromkeys(c.env for c in group))
        owners = " and ".join(f"{c.stack} ({c.address})" for c in group)
        problems.append(
            f'{envs}: {first.kind} "{first.name}": claimed by {owners} {first.where}; {first.kind} names '
            f"are {first.why} and each stack has its own state, so the second apply fails: give each "
            "a name of its own"
        )
    return problems


def find_overlong(stacks: Sequence[StackDocument]) -> list[str]:
    """One line per name longer than AWS accepts for its kind (the apply would fail on it)."""
    problems = []
    for stack in stacks:
        for rule, address, name, _body in _named(stack):
            if len(name) > rule.limit:
                problems.append(
                    f'{stack.env}: {rule.kind} "{name}": {stack.stack} ({address}) names it with '
                    f"{len(name)} characters, AWS allows {rule.limit}: use a shorter environment or "
                    "block name"
                )
    return problems


def claims_of(stack: StackDocument) -> Iterator[Claim]:
    """Every name a stack's resources claim, with the scope that must keep it unique."""
    providers = _providers(stack.document)
    resources = stack.document.get("resource", {})
    for rule, address, name, body in _named(stack):
        account, region = providers.get(body.get("provider", "aws"), ("unknown account", "?"))
        owner = Claim(
            key=(), kind=rule.kind, name=name, where="", why=_WHY[rule.scope], env=stack.env,
            stack=stack.stack, address=address,
        )  # fmt: skip
        yield from _scoped(owner, rule, body, resources, (account, body.get("region", region)))


def _named(stack: StackDocument) -> Iterator[tuple[Rule, str, str, Mapping[str, Any]]]:
    """(rule, address, name, body) of every resource with a name the check knows."""
    resources = stack.document.get("resource", {})
    for rtype, instances in resources.items():
        rule = RULES.get(rtype)
        if rule is None:
            continue
        for logical_id, body in instances.items():
            if not isinstance(body, dict) or "count" in body or "for_each" in body:
                continue
            name = _literal(body.get(rule.attribute), resources)
            if rule.singleton:
                name = name or "(one per account-region)"
            if name:
                yield rule, f"{rtype}.{logical_id}", name, body


def _scoped(
    owner: Claim, rule: Rule, body: Mapping[str, Any], resources: Mapping[str, Any], place: tuple[str, str]
) -> Iterator[Claim]:
    """``owner`` with the key and the words of its scope (and one claim per secret replica)."""
    account, region = place
    name = owner.name
    if rule.scope == "zone":
        zone = _literal(body.get("zone_id"), resources)
        if zone is None or body.get("set_identifier") is not None:
            return
        record = f"{name.lower().rstrip('.')} {body.get('type', '?')}"
        yield replace(owner, key=("zone", zone, record), name=record, where=f"in hosted zone {zone}")
        return
    if rule.scope == "global":
        yield replace(owner, key=(rule.kind, name))
        return
    if rule.scope == "account":
        yield replace(owner, key=(rule.kind, account, name), where=f"in account {account}")
        return
    within, narrowed = "", ""
    if rule.within is not None:
        attribute, default = rule.within
        within = _literal(body.get(attribute), resources) or default
        narrowed = f" ({attribute} {within})" if within else ""
    key_name = "" if rule.singleton else name
    yield replace(
        owner,
        key=(rule.kind, account, region, within, key_name),
        where=f"in account {account} {region}{narrowed}",
    )
    for replica in _replica_regions(body):  # a secret's replicas hold its name in their regions
        yield replace(
            owner, key=(rule.kind, account, replica, within, key_name),
            where=f"in account {account} {replica} (a replica)",
        )  # fmt: skip


def _providers(document: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """``aws`` / ``aws.<alias>`` → (account id, region)."""
    found = {}
    for config in document.get("provider", {}).get("aws", []):
        accounts = config.get("allowed_account_ids") or ["unknown account"]
        key = f"aws.{config['alias']}" if config.get("alias") else "aws"
        found[key] = (str(accounts[0]), str(config.get("region", "?")))
    return found


def _literal(value: Any, resources: Mapping[str, Any]) -> str | None:
    """A name as a plain string: literal, or a reference to a literal attribute in this stack."""
    if not isinstance(value, str):
        return None
    if "${" not in value:
        return value
    match = _REFERENCE.fullmatch(value)
    if match is None:
        return None
    target = resources.get(match.group(1), {}).get(match.group(2), {})
    resolved = target.get(match.group(3)) if isinstance(target, dict) else None
    return resolved if isinstance(resolved, str) and "${" not in resolved else None


def _replica_regions(body: Mapping[str, Any]) -> Iterable[str]:
    replicas = body.get("replica")
    if isinstance(replicas, dict):
        replicas = [replicas]
    for replica in replicas or []:
        if isinstance(replica, dict) and isinstance(replica.get("region"), str):
            yield replica["region"]

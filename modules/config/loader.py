"""``envs/<env>/*.hcl`` → :class:`EnvConfig`, rejecting bad input with file + key path.

Problems are collected block by block, so one run reports every broken block, not just the
first; cross-references (a domain's account and regions) are checked once every block is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from modules.config.hcl import ConfigError, Invalid, Node, parse_file
from modules.config.model import SES_REGIONS, Account, Backend, Domain, EnvConfig, RegionQuota
from modules.identity.props import (
    DKIM_KEY_LENGTHS,
    DMARC_ALIGNMENTS,
    DMARC_POLICIES,
    MX_FAILURE_BEHAVIOURS,
    Dkim,
    Dmarc,
    MailFrom,
    validate_domain_name,
)

T = TypeVar("T")

NAME = r"[a-z][a-z0-9-]{0,30}[a-z0-9]"
NAME_HINT = "lower-case letters, digits and hyphens, 2-32 characters, starting with a letter"
ACCOUNT_ID = r"[0-9]{12}"
ROLE_ARN = r"arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}"
HOSTED_ZONE_ID = r"Z[A-Z0-9]{1,31}"
TOP_LEVEL = ("environment", "tags", "backend", "account", "domain")


def load_env(directory: str | Path, *, display_root: str | Path | None = None) -> EnvConfig:
    """Load every ``*.hcl`` file in ``directory`` as one environment.

    Raises:
        ConfigError: listing each problem as ``<file>: <key path>: <what is wrong>``.
    """
    directory = Path(directory)
    root = Path(display_root) if display_root is not None else Path.cwd()
    files = sorted(directory.glob("*.hcl"))
    shown = {f: _display(f, root) for f in files}
    if not directory.is_dir():
        raise ConfigError([f"{_display(directory, root)}: no such environment directory"])
    if not files:
        raise ConfigError([f"{_display(directory, root)}: no *.hcl files in the environment"])

    problems: list[str] = []
    nodes: list[Node] = []
    for path in files:
        try:
            nodes.append(Node(shown[path], "", parse_file(path, shown[path])))
        except Invalid as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(problems)
    return _Loader(directory, nodes, problems).load()


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


class _Loader:
    def __init__(self, directory: Path, nodes: list[Node], problems: list[str]) -> None:
        self.directory = directory
        self.nodes = nodes
        self.problems = problems

    def collect(self, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except Invalid as exc:
            self.problems.append(str(exc))
            return None

    def load(self) -> EnvConfig:
        settings: dict[str, tuple[Node, Any]] = {}
        accounts: list[Account] = []
        account_files: dict[str, str] = {}  # alias → file of its first block, valid or not
        broken_accounts: set[str] = set()  # already reported: their domains are not checked again
        accounts_complete = True
        domains: list[Domain] = []
        domain_files: dict[str, str] = {}
        backend: Backend | None = None
        backend_node: Node | None = None
        for node in self.nodes:
            for key in ("environment", "tags"):
                if node.has(key):
                    if key in settings:
                        self.problems.append(str(node.fail(key, f"already set in {settings[key][0].file}")))
                    else:
                        value = self.collect(
                            lambda n=node, k=key: n.str(k) if k == "environment" else n.str_map(k)
                        )
                        settings[key] = (node, value)
            account_blocks = self.collect(lambda n=node: list(n.labelled_blocks("account", "alias")))
            accounts_complete = accounts_complete and account_blocks is not None
            for label, body in account_blocks or []:
                if label in account_files:
                    self.problems.append(
                        str(body.fail(None, f"declared twice (first in {account_files[label]})"))
                    )
                    continue
                account_files[label] = body.file
                account = self.collect(lambda b=body, lab=label: _account(lab, b))
                if account is None:
                    broken_accounts.add(label)
                else:
                    accounts.append(account)
            for label, body in (
                self.collect(lambda n=node: list(n.labelled_blocks("domain", "domain name"))) or []
            ):
                if label in domain_files:
                    self.problems.append(
                        str(
                            body.fail(
                                None, f"declared twice (first in {domain_files[label]}; one block per domain)"
                            )
                        )
                    )
                    continue
                domain_files[label] = body.file
                domain = self.collect(lambda b=body, lab=label: _domain(lab, b))
                if domain is not None:
                    domains.append(domain)
            for label, body in (
                self.collect(lambda n=node: list(n.labelled_blocks("backend", "local|s3"))) or []
            ):
                if backend_node is not None:
                    self.problems.append(
                        str(body.fail(None, f"a second backend; the first is in {backend_node.file}"))
                    )
                    continue
                backend_node = body
                backend = self.collect(lambda b=body, lab=label: _backend(lab, b))
            self.collect(lambda n=node: n.finish(known=TOP_LEVEL))

        environment = self._environment(settings)
        tags_node, tags_value = settings.get("tags", (self.nodes[0], None))
        tags: dict[str, str] = tags_value or {}
        self.collect(lambda: _check_tags(tags_node, tags, "tags"))
        if not any(n.has("account") for n in self.nodes):
            self.problems.append(f"{self.nodes[0].file}: account: at least one account block is required")
        # A domain of an account whose block is broken (or unreadable) would only repeat that problem.
        known = {a.alias for a in accounts}
        checkable = [
            d
            for d in domains
            if d.account not in broken_accounts and (accounts_complete or d.account in known)
        ]
        domains = [
            d for d in (self.collect(lambda d=d: _resolve_domain(d, accounts)) for d in checkable) if d
        ]
        if self.problems:
            raise ConfigError(self.problems)
        assert environment is not None
        return EnvConfig(
            environment=environment,
            directory=str(self.directory),
            files=tuple(n.file for n in self.nodes),
            accounts=tuple(accounts),
            domains=tuple(domains),
            backend=backend or Backend(),
            tags=_freeze(tags),
        )

    def _environment(self, settings: dict[str, tuple[Node, Any]]) -> str | None:
        node, name = settings.get("environment", (self.nodes[0], None))
        if name is None:
            if "environment" not in settings:
                self.problems.append(
                    f'{node.file}: environment: is required (environment = "{self.directory.name}")'
                )
            return None
        if not _matches(NAME, name):
            self.problems.append(str(node.fail("environment", f'expected {NAME_HINT}, got "{name}"')))
        elif name != self.directory.name:
            self.problems.append(
                str(
                    node.fail(
                        "environment", f'"{name}" does not match its folder envs/{self.directory.name}/'
                    )
                )
            )
        return name


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(pattern, value) is not None


def _freeze(mapping: dict[str, str]) -> MappingProxyType[str, str]:
    return MappingProxyType(dict(mapping))


def _check_tags(node: Node, tags: dict[str, str], key: str) -> None:
    for name, value in tags.items():
        if not 1 <= len(name) <= 128 or name.lower().startswith("aws:"):
            raise node.fail(f"{key}.{name}", "tag keys are 1-128 characters and may not start with aws:")
        if len(value) > 256:
            raise node.fail(f"{key}.{name}", f"tag values are at most 256 characters, got {len(value)}")


def _account(alias: str, node: Node) -> Account:
    if not _matches(NAME, alias):
        raise node.fail(None, f"account alias must be {NAME_HINT}")
    account_id = node.req_str("id", pattern=ACCOUNT_ID, hint="a 12-digit AWS account id")
    role_arn = node.str("role_arn", pattern=ROLE_ARN, hint="an IAM role ARN (arn:aws:iam::<id>:role/<name>)")
    if role_arn is not None and role_arn.split(":")[4] != account_id:
        raise node.fail(
            "role_arn", f"role is in account {role_arn.split(':')[4]}, not in this account {account_id}"
        )
    external_id = node.str("external_id", pattern=r"[\w+=,.@:/-]{2,1224}", hint="2-1224 characters")
    if external_id is not None and role_arn is None:
        raise node.fail("external_id", "only used together with role_arn")
    regions: list[RegionQuota] = []
    for name, body in node.labelled_blocks("region", "region name"):
        if name not in SES_REGIONS:
            raise body.fail(None, f'"{name}" is not an AWS region where SES sends mail')
        if any(r.name == name for r in regions):
            raise body.fail(None, "declared twice")
        regions.append(
            RegionQuota(
                name=name,
                max_send_rate=body.number("max_send_rate"),
                max_24_hour_send=body.req_int("max_24_hour_send", minimum=1),
            )
        )
        body.finish()
    if not regions:
        raise node.fail(
            "region",
            'at least one region "<name>" { max_send_rate = ..., max_24_hour_send = ... } block is required',
        )
    node.finish()
    return Account(
        alias=alias, id=account_id, role_arn=role_arn, external_id=external_id, regions=tuple(regions)
    )


def _domain(name: str, node: Node) -> Domain:
    try:
        validate_domain_name(name)
    except ValueError as exc:
        raise node.fail(None, str(exc)) from None
    account = node.req_str("account", hint="the alias of an account block")
    regions = node.str_list("regions")
    if regions == ():
        raise node.fail(
            "regions", "expected at least one region; leave regions out for every region of the account"
        )
    hosted_zone_id = node.str(
        "hosted_zone_id",
        pattern=HOSTED_ZONE_ID,
        hint="a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ",
    )
    dns = node.str("dns", choices=("route53", "external"))
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
        mail_from=_sub(node, "mail_from", _mail_from, MailFrom()),
        dmarc=_sub(node, "dmarc", _dmarc, Dmarc()),
        configuration_set=node.str(
            "configuration_set", pattern=r"[A-Za-z0-9_-]{1,64}", hint="a configuration set name"
        ),
        dns_ttl_seconds=node.int("dns_ttl_seconds", default=600, minimum=60, maximum=86400),
        tags=_freeze(node.str_map("tags")),
    )
    _check_tags(node, dict(domain.tags), "tags")
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
            selector=node.req_str("selector", hint="BYODKIM: the DNS label of <selector>._domainkey"),
            private_key_secret=node.req_str("private_key_secret", hint="Secrets Manager secret name or ARN"),
            public_key=node.str("public_key"),
        )
        if node.has("signing_key_length"):
            raise node.fail("signing_key_length", "is for Easy DKIM; BYODKIM uses the key you bring")
        # The key passes through Terraform state on its way to SES: make that a decision.
        if not node.bool("allow_private_key_in_state", default=False):
            raise node.fail(
                "allow_private_key_in_state",
                "BYODKIM hands the private key to Terraform, so it is stored in state; set it to true "
                "once your state is encrypted and access-controlled, or use Easy DKIM",
            )
        return dkim
    length = node.str("signing_key_length", default="RSA_2048_BIT", choices=DKIM_KEY_LENGTHS)
    return Dkim.easy(length or "RSA_2048_BIT")


def _mail_from(node: Node) -> MailFrom | None:
    enabled = node.bool("enabled", default=True)
    mail_from = MailFrom(
        subdomain=node.str("subdomain", default="bounce") or "bounce",
        behavior_on_mx_failure=node.str(
            "behavior_on_mx_failure", default="USE_DEFAULT_VALUE", choices=MX_FAILURE_BEHAVIOURS
        )
        or "",
    )
    return mail_from if enabled else None


def _dmarc(node: Node) -> Dmarc:
    return Dmarc(
        policy=node.str("policy", default="none", choices=DMARC_POLICIES) or "none",
        subdomain_policy=node.str("subdomain_policy", choices=DMARC_POLICIES),
        pct=node.int("pct", default=100, minimum=0, maximum=100),
        rua=node.str_list("rua") or (),
        ruf=node.str_list("ruf") or (),
        adkim=node.str("adkim", default="r", choices=DMARC_ALIGNMENTS) or "r",
        aspf=node.str("aspf", default="r", choices=DMARC_ALIGNMENTS) or "r",
    )


def _backend(kind: str, node: Node) -> Backend:
    if kind == "local":
        node.finish()
        return Backend()
    if kind != "s3":
        raise node.fail(None, 'backend must be "local" or "s3"')
    backend = Backend(
        type="s3",
        bucket=node.req_str("bucket", pattern=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", hint="an S3 bucket name"),
        region=node.req_str("region", hint="the bucket's region"),
        key_prefix=node.str(
            "key_prefix",
            default="",
            pattern=r"[\w!./*'()-]*[\w!.*'()-]",
            hint="an S3 key prefix without a trailing /",
        )
        or "",
        kms_key_id=node.str("kms_key_id"),
        role_arn=node.str("role_arn", pattern=ROLE_ARN, hint="an IAM role ARN"),
        use_lockfile=node.bool("use_lockfile", default=True),
        dynamodb_table=node.str("dynamodb_table"),
    )
    if backend.region not in SES_REGIONS and not _matches(
        r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", backend.region or ""
    ):
        raise node.fail("region", f'"{backend.region}" is not an AWS region')
    node.finish()
    return backend


def _resolve_domain(domain: Domain, accounts: list[Account]) -> Domain:
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
    return domain if domain.regions else replace(domain, regions=tuple(declared))

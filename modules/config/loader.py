"""``envs/<env>/*.hcl`` → :class:`EnvConfig`, rejecting bad input with file + key path.

Problems are collected block by block, so one run reports every broken block, not just the
first; cross-references (a domain's account and regions) are checked once every block is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from modules.config.archive import resolve_archives
from modules.config.bounce_report import BounceReport, parse_bounce_report, resolve_bounce_report
from modules.config.configuration_sets import parse_configuration_set, resolve_configuration_sets
from modules.config.dedicated_ip_pools import parse_dedicated_ip_pool, resolve_dedicated_ip_pools
from modules.config.hcl import ConfigError, Invalid, Node, parse_file
from modules.config.model import (
    NAME,
    NAME_HINT,
    SES_REGIONS,
    Account,
    Backend,
    ConfigurationSet,
    DedicatedIpPool,
    Domain,
    EnvConfig,
    HeartbeatSettings,
    RegionQuota,
    Slice,
    SmtpUser,
)
from modules.config.slices import parse_slice, resolve_slices
from modules.config.smtp_users import parse_smtp_user, resolve_smtp_users
from modules.config.tenants import (
    MultiRegionEndpoint,
    Tenant,
    check_unique_tenants,
    parse_multi_region_endpoint,
    parse_tenant,
    resolve_multi_region_endpoint,
    resolve_tenant,
)
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

ACCOUNT_ID = r"[0-9]{12}"
ROLE_ARN = r"arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}"
HOSTED_ZONE_ID = r"Z[A-Z0-9]{1,31}"
TOP_LEVEL = (
    "environment", "tags", "backend", "account", "domain", "slice", "configuration_set", "tenant",
    "multi_region_endpoint", "smtp_user", "dedicated_ip_pool", "bounce_report",
)  # fmt: skip
_DEFAULT_MAIL_FROM: MailFrom | None = MailFrom()  # no mail_from block: bounce.<domain>


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
    """One pass over every file's top level, then the cross-references between blocks."""

    def __init__(self, directory: Path, nodes: list[Node], problems: list[str]) -> None:
        self.directory = directory
        self.nodes = nodes
        self.problems = problems
        self.environment: tuple[Node, str | None] | None = None
        self.tags: tuple[Node, dict[str, str] | None] | None = None
        self.accounts: list[Account] = []
        self.account_files: dict[str, str] = {}  # alias → file of its first block, valid or not
        self.broken_accounts: set[str] = set()  # reported already: their domains are not checked again
        self.accounts_complete = True  # False when some file's account blocks could not be read
        self.domains: list[Domain] = []
        self.domain_files: dict[str, str] = {}  # name → file of its first block, valid or not
        self.slices: list[Slice] = []
        self.slice_files: dict[str, str] = {}
        self.smtp_users: list[SmtpUser] = []
        self.smtp_user_files: dict[str, str] = {}
        self.pools: list[DedicatedIpPool] = []
        self.pool_files: dict[str, str] = {}
        self.backend: Backend | None = None
        self.backend_node: Node | None = None
        self.configuration_sets: list[ConfigurationSet] = []
        self.broken_configuration_sets: set[str] = set()
        self.tenants: list[Tenant] = []
        self.endpoints: list[MultiRegionEndpoint] = []
        self.endpoint_files: dict[str, str] = {}
        self.bounce_report: BounceReport | None = None

    def collect(self, build: Callable[[], T]) -> T | None:
        try:
            return build()
        except Invalid as exc:
            self.problems.append(str(exc))
            return None

    def load(self) -> EnvConfig:
        for node in self.nodes:
            self._settings(node)
            self._accounts(node)
            self._domains(node)
            self._slices(node)
            self._pools(node)
            self._configuration_sets(node)
            self._smtp_users(node)
            self._backend(node)
            self._tenants_and_endpoints(node)
            self._bounce_report(node)
            self.collect(partial(node.finish, known=TOP_LEVEL))

        environment = self._environment()
        tags_node, tags_value = self.tags or (self.nodes[0], None)
        tags = tags_value or {}
        self.collect(partial(_check_tags, tags_node, tags, "tags"))
        if not any(n.has("account") for n in self.nodes):
            self.problems.append(f"{self.nodes[0].file}: account: at least one account block is required")
        domains = self._resolve_domains()
        slices = self._resolve_slices(domains, environment)
        configuration_sets = self._resolve_configuration_sets(domains, slices)
        tenants, endpoints = self._resolve_tenants_and_endpoints(domains, configuration_sets)
        smtp_users = self._resolve_smtp_users(domains, environment)
        pools = self._resolve_pools(slices, configuration_sets)
        self.problems.extend(resolve_archives(slices, domains))
        if self.bounce_report is not None:
            self.collect(partial(resolve_bounce_report, self.bounce_report, domains=domains,
                                 configuration_sets=configuration_sets))  # fmt: skip
        if self.problems or environment is None:
            raise ConfigError(self.problems)
        return EnvConfig(
            environment=environment,
            directory=str(self.directory),
            files=tuple(n.file for n in self.nodes),
            accounts=tuple(self.accounts),
            domains=tuple(domains),
            slices=tuple(slices),
            dedicated_ip_pools=tuple(pools),
            configuration_sets=tuple(configuration_sets),
            tenants=tuple(tenants),
            multi_region_endpoints=tuple(endpoints),
            smtp_users=tuple(smtp_users),
            backend=self.backend or Backend(),
            tags=_freeze(tags),
            bounce_report=self.bounce_report,
        )

    def _settings(self, node: Node) -> None:
        """``environment`` and ``tags``: each may be set in one file only."""
        if node.has("environment"):
            if self.environment is not None:
                self.problems.append(
                    str(node.fail("environment", f"already set in {self.environment[0].file}"))
                )
            else:
                self.environment = (node, self.collect(partial(node.str, "environment")))
        if node.has("tags"):
            if self.tags is not None:
                self.problems.append(str(node.fail("tags", f"already set in {self.tags[0].file}")))
            else:
                self.tags = (node, self.collect(partial(node.str_map, "tags")))

    def _accounts(self, node: Node) -> None:
        blocks = self.collect(partial(_labelled, node, "account", "alias"))
        self.accounts_complete = self.accounts_complete and blocks is not None
        for label, body in blocks or []:
            if label in self.account_files:
                self.problems.append(
                    str(body.fail(None, f"declared twice (first in {self.account_files[label]})"))
                )
                continue
            self.account_files[label] = body.file
            account = self.collect(partial(_account, label, body))
            if account is None:
                self.broken_accounts.add(label)
            else:
                self.accounts.append(account)

    def _domains(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "domain", "domain name")) or []:
            if label in self.domain_files:
                first = self.domain_files[label]
                self.problems.append(
                    str(body.fail(None, f"declared twice (first in {first}; one block per domain)"))
                )
                continue
            self.domain_files[label] = body.file
            domain = self.collect(partial(_domain, label, body))
            if domain is not None:
                self.domains.append(domain)

    def _slices(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "slice", "name")) or []:
            if label in self.slice_files:
                first = self.slice_files[label]
                self.problems.append(str(body.fail(None, f"declared twice (first in {first})")))
                continue
            self.slice_files[label] = body.file
            checked = self.collect(partial(parse_slice, label, body))
            if checked is not None:
                self.slices.append(checked)

    def _pools(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "dedicated_ip_pool", "name")) or []:
            if label in self.pool_files:
                self.problems.append(
                    str(body.fail(None, f"declared twice (first in {self.pool_files[label]})"))
                )
                continue
            self.pool_files[label] = body.file
            pool = self.collect(partial(parse_dedicated_ip_pool, label, body))
            if pool is not None:
                self.pools.append(pool)

    def _resolve_pools(
        self, slices: list[Slice], configuration_sets: list[ConfigurationSet]
    ) -> list[DedicatedIpPool]:
        known = {a.alias for a in self.accounts}
        candidates = [
            p
            for p in self.pools
            if p.account not in self.broken_accounts and (self.accounts_complete or p.account in known)
        ]
        resolved, problems = resolve_dedicated_ip_pools(
            candidates,
            accounts=self.accounts,
            slices=slices,
            broken_slices=set(self.slice_files) - {s.name for s in slices},  # reported already
            configuration_sets=configuration_sets,
            broken_sets=self.broken_configuration_sets,
            broken_pools=set(self.pool_files) - {p.name for p in self.pools},
        )
        self.problems.extend(problems)
        return resolved

    def _configuration_sets(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "configuration_set", "name")) or []:
            checked = self.collect(partial(parse_configuration_set, label, body))
            if checked is None:
                self.broken_configuration_sets.add(label)
            else:
                self.configuration_sets.append(checked)

    def _resolve_configuration_sets(
        self, domains: list[Domain], slices: list[Slice]
    ) -> list[ConfigurationSet]:
        known = {a.alias for a in self.accounts}
        candidates = [
            c
            for c in self.configuration_sets
            if c.account not in self.broken_accounts and (self.accounts_complete or c.account in known)
        ]
        broken = self.broken_configuration_sets | {
            c.name for c in self.configuration_sets if c not in candidates
        }
        resolved, problems = resolve_configuration_sets(
            candidates, accounts=self.accounts, domains=domains, slices=slices, broken=broken
        )
        self.problems.extend(problems)
        return resolved

    def _smtp_users(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "smtp_user", "name")) or []:
            if label in self.smtp_user_files:
                first = self.smtp_user_files[label]
                self.problems.append(str(body.fail(None, f"declared twice (first in {first})")))
                continue
            self.smtp_user_files[label] = body.file
            checked = self.collect(partial(parse_smtp_user, label, body))
            if checked is not None:
                self.smtp_users.append(checked)

    def _bounce_report(self, node: Node) -> None:
        """``bounce_report { ... }``: optional, in one file only."""
        if not node.has("bounce_report"):
            return
        if self.bounce_report is not None:
            first = self.bounce_report.source
            self.problems.append(
                str(node.fail("bounce_report", f"already set in {first}; one per environment"))
            )
            return
        body = self.collect(partial(node.block, "bounce_report"))
        if body is not None:
            self.bounce_report = self.collect(partial(parse_bounce_report, body))

    def _backend(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "backend", "local|s3")) or []:
            if self.backend_node is not None:
                first = self.backend_node.file
                self.problems.append(str(body.fail(None, f"a second backend; the first is in {first}")))
                continue
            self.backend_node = body
            self.backend = self.collect(partial(_backend, label, body))

    def _tenants_and_endpoints(self, node: Node) -> None:
        for label, body in self.collect(partial(_labelled, node, "tenant", "name")) or []:
            tenant = self.collect(partial(parse_tenant, label, body))
            if tenant is not None:
                self.tenants.append(tenant)
        for label, body in self.collect(partial(_labelled, node, "multi_region_endpoint", "name")) or []:
            if label in self.endpoint_files:
                self.problems.append(
                    str(body.fail(None, f"declared twice (first in {self.endpoint_files[label]})"))
                )
                continue
            self.endpoint_files[label] = body.file
            endpoint = self.collect(partial(parse_multi_region_endpoint, label, body))
            if endpoint is not None:
                self.endpoints.append(endpoint)

    def _resolve_tenants_and_endpoints(
        self, domains: list[Domain], configuration_sets: list[ConfigurationSet]
    ) -> tuple[list[Tenant], list[MultiRegionEndpoint]]:
        """Blocks of a broken (or unreadable) account would only repeat that account's problem."""
        known = {a.alias for a in self.accounts}

        def wanted(account: str) -> bool:
            return account not in self.broken_accounts and (self.accounts_complete or account in known)

        sets = {(c.account, c.region, c.name) for c in configuration_sets}
        # a set whose block is broken was reported already: do not report it again as missing
        sets |= {(t.account, t.region, n) for t in self.tenants for n in self.broken_configuration_sets}
        tenants = [
            self.collect(partial(resolve_tenant, t, self.accounts, domains, sets))
            for t in self.tenants
            if wanted(t.account)
        ]
        endpoints = [
            self.collect(partial(resolve_multi_region_endpoint, e, self.accounts, domains))
            for e in self.endpoints
            if wanted(e.account)
        ]
        resolved = [t for t in tenants if t is not None]
        self.problems.extend(check_unique_tenants(resolved))
        return resolved, [e for e in endpoints if e is not None]

    def _resolve_domains(self) -> list[Domain]:
        # A domain of an account whose block is broken (or unreadable) would only repeat that problem.
        known = {a.alias for a in self.accounts}
        resolved = []
        for domain in self.domains:
            if domain.account in self.broken_accounts or not (
                self.accounts_complete or domain.account in known
            ):
                continue
            checked = self.collect(partial(_resolve_domain, domain, self.accounts))
            if checked is not None:
                resolved.append(checked)
        return resolved

    def _resolve_slices(self, domains: list[Domain], environment: str | None) -> list[Slice]:
        # Slices of a broken (or unreadable) account would only repeat that account's problem.
        known = {a.alias for a in self.accounts}
        candidates = [
            s
            for s in self.slices
            if s.account not in self.broken_accounts and (self.accounts_complete or s.account in known)
        ]
        resolved, problems = resolve_slices(
            candidates,
            accounts=self.accounts,
            domains=domains,
            # A from_domain whose own block is broken was reported already.
            broken_domains=set(self.domain_files) - {d.name for d in domains},
            environment=environment,
        )
        self.problems.extend(problems)
        return resolved

    def _resolve_smtp_users(self, domains: list[Domain], environment: str | None) -> list[SmtpUser]:
        # Users of a broken (or unreadable) account would only repeat that account's problem.
        known = {a.alias for a in self.accounts}
        candidates = [
            u
            for u in self.smtp_users
            if u.account not in self.broken_accounts and (self.accounts_complete or u.account in known)
        ]
        resolved, problems = resolve_smtp_users(
            candidates,
            accounts=self.accounts,
            domains=domains,
            broken_domains=set(self.domain_files) - {d.name for d in domains},
            environment=environment,
        )
        self.problems.extend(problems)
        return resolved

    def _environment(self) -> str | None:
        node, name = self.environment or (self.nodes[0], None)
        if name is None:
            if self.environment is None:
                self.problems.append(
                    f'{node.file}: environment: is required (environment = "{self.directory.name}")'
                )
            return None
        if not _matches(NAME, name):
            self.problems.append(str(node.fail("environment", f'expected {NAME_HINT}, got "{name}"')))
        elif name != self.directory.name:
            folder = f"envs/{self.directory.name}/"
            self.problems.append(
                str(node.fail("environment", f'"{name}" does not match its folder {folder}'))
            )
        return name


def _labelled(node: Node, key: str, noun: str) -> list[tuple[str, Node]]:
    return list(node.labelled_blocks(key, noun))


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
                heartbeat=_heartbeat(body),
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


def _heartbeat(region: Node) -> HeartbeatSettings:
    """``heartbeat { enabled = true, headroom = 0.95 }`` inside a region block; optional."""
    node = region.block("heartbeat")
    if node is None:
        return HeartbeatSettings()
    enabled = node.bool("enabled", default=True)  # writing the block opts in
    headroom = node.number("headroom", minimum_exclusive=0) if node.has("headroom") else 1.0
    if headroom > 1:
        raise node.fail(
            "headroom",
            f"expected a share of the quota, 0 < headroom ≤ 1 (0.95 hands out 95 %), got {headroom:g}",
        )
    node.finish(known=("headroom",))  # optional: read above only when present
    return HeartbeatSettings(enabled=enabled, headroom=headroom)


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
        mail_from=_sub(node, "mail_from", _mail_from, _DEFAULT_MAIL_FROM),
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

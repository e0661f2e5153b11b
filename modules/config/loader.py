"""``envs/<env>/*.hcl`` → :class:`EnvConfig`, rejecting bad input with file + key path.

Problems are collected block by block, so one run reports every broken block, not just the
first; cross-references (a domain's account and regions) are checked once every block is read.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

from modules.config.archive import resolve_archives
from modules.config.bounce_report import BounceReport, parse_bounce_report, resolve_bounce_report
from modules.config.configuration_sets import parse_configuration_set, resolve_configuration_sets
from modules.config.dedicated_ip_pools import parse_dedicated_ip_pool, resolve_dedicated_ip_pools
from modules.config.domains import check_tags, freeze, matches, parse_domain, resolve_domain
from modules.config.events import parse_events, unused_events_blocks
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
from modules.config.suppression_cleanup import (
    SuppressionCleanup,
    parse_suppression_cleanup,
    resolve_suppression_cleanup,
)
from modules.config.tenants import (
    MultiRegionEndpoint,
    Tenant,
    check_unique_tenants,
    parse_multi_region_endpoint,
    parse_tenant,
    resolve_multi_region_endpoint,
    resolve_tenant,
)

T = TypeVar("T")


class _OfAccount(Protocol):
    @property
    def account(self) -> str: ...


A = TypeVar("A", bound=_OfAccount)


class _FromFile(Protocol):
    @property
    def source(self) -> str: ...


S = TypeVar("S", bound=_FromFile)

ACCOUNT_ID = r"[0-9]{12}"
ROLE_ARN = r"arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}"
TOP_LEVEL = (
    "environment", "tags", "backend", "account", "domain", "slice", "configuration_set", "tenant",
    "multi_region_endpoint", "smtp_user", "dedicated_ip_pool", "bounce_report", "suppression_cleanup",
)  # fmt: skip


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
        self.suppression_cleanup: SuppressionCleanup | None = None

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
            self._suppression_cleanup(node)
            self.collect(partial(node.finish, known=TOP_LEVEL))

        environment = self._environment()
        tags_node, tags_value = self.tags or (self.nodes[0], None)
        tags = tags_value or {}
        self.collect(partial(check_tags, tags_node, tags, "tags"))
        if not any(n.has("account") for n in self.nodes):
            self.problems.append(f"{self.nodes[0].file}: account: at least one account block is required")
        self.problems.extend(_shared_account_regions(self.accounts, self.account_files))
        domains = self._resolve_domains()
        slices = self._resolve_slices(domains, environment)
        configuration_sets = self._resolve_configuration_sets(domains, slices)
        tenants, endpoints = self._resolve_tenants_and_endpoints(domains, configuration_sets)
        smtp_users = self._resolve_smtp_users(domains, environment)
        pools = self._resolve_pools(slices, configuration_sets)
        self.problems.extend(
            unused_events_blocks(
                [(a.alias, r.name, r.events) for a in self.accounts for r in a.regions],
                {(c.account, c.region) for c in configuration_sets
                 if not c.external and any(d.type == "sns" for d in c.destinations)},
                self.account_files,
            )
        )  # fmt: skip
        self.problems.extend(resolve_archives(slices, domains))
        if self.bounce_report is not None:
            self.collect(partial(resolve_bounce_report, self.bounce_report, domains=domains,
                                 configuration_sets=configuration_sets))  # fmt: skip
        if self.suppression_cleanup is not None and not self.broken_accounts and self.accounts_complete:
            self.collect(partial(resolve_suppression_cleanup, self.suppression_cleanup, self.accounts))
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
            tags=freeze(tags),
            bounce_report=self.bounce_report,
            suppression_cleanup=self.suppression_cleanup,
        )

    def _settings(self, node: Node) -> None:
        """``environment`` and ``tags``: each may be set in one file only."""
        if node.has("environment"):
            if self.environment is not None:
                self.problems.append(
                    str(node.fail("environment", f"already set in {self.environment[0].file}"))
                )
            else:
                self.environment = (node, self.collect(partial(node.text, "environment")))
        if node.has("tags"):
            if self.tags is not None:
                self.problems.append(str(node.fail("tags", f"already set in {self.tags[0].file}")))
            else:
                self.tags = (node, self.collect(partial(node.text_map, "tags")))

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
            domain = self.collect(partial(parse_domain, label, body))
            if domain is not None:
                self.domains.append(domain)

    def _unique(
        self, node: Node, key: str, files: dict[str, str], parse: Callable[[str, Node], T]
    ) -> list[T]:
        """The ``key "<name>" { ... }`` blocks of a file that parse; a name may be declared once
        in the environment (``files``: name → file of its first block, valid or not)."""
        parsed: list[T] = []
        for label, body in self.collect(partial(_labelled, node, key, "name")) or []:
            if label in files:
                self.problems.append(str(body.fail(None, f"declared twice (first in {files[label]})")))
                continue
            files[label] = body.file
            checked = self.collect(partial(parse, label, body))
            if checked is not None:
                parsed.append(checked)
        return parsed

    def _on_readable_accounts(self, items: list[A]) -> list[A]:
        """Blocks of a broken (or unreadable) account would only repeat that account's problem."""
        known = {a.alias for a in self.accounts}
        return [
            i
            for i in items
            if i.account not in self.broken_accounts and (self.accounts_complete or i.account in known)
        ]

    def _slices(self, node: Node) -> None:
        self.slices += self._unique(node, "slice", self.slice_files, parse_slice)

    def _pools(self, node: Node) -> None:
        self.pools += self._unique(node, "dedicated_ip_pool", self.pool_files, parse_dedicated_ip_pool)

    def _resolve_pools(
        self, slices: list[Slice], configuration_sets: list[ConfigurationSet]
    ) -> list[DedicatedIpPool]:
        candidates = self._on_readable_accounts(self.pools)
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
        candidates = self._on_readable_accounts(self.configuration_sets)
        broken = self.broken_configuration_sets | {
            c.name for c in self.configuration_sets if c not in candidates
        }
        resolved, problems = resolve_configuration_sets(
            candidates, accounts=self.accounts, domains=domains, slices=slices, broken=broken
        )
        self.problems.extend(problems)
        return resolved

    def _smtp_users(self, node: Node) -> None:
        self.smtp_users += self._unique(node, "smtp_user", self.smtp_user_files, parse_smtp_user)

    def _bounce_report(self, node: Node) -> None:
        self.bounce_report = self._single(node, "bounce_report", self.bounce_report, parse_bounce_report)

    def _suppression_cleanup(self, node: Node) -> None:
        self.suppression_cleanup = self._single(
            node, "suppression_cleanup", self.suppression_cleanup, parse_suppression_cleanup
        )

    def _single(self, node: Node, key: str, current: S | None, parse: Callable[[Node], S]) -> S | None:
        """An optional ``key { ... }`` block set in one file of the environment only: what it
        parses to (or ``current``, from an earlier file, unchanged)."""
        if not node.has(key):
            return current
        if current is not None:
            self.problems.append(str(node.fail(key, f"already set in {current.source}; one per environment")))
            return current
        body = self.collect(partial(node.block, key))
        return self.collect(partial(parse, body)) if body is not None else None

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
        self.endpoints += self._unique(
            node, "multi_region_endpoint", self.endpoint_files, parse_multi_region_endpoint
        )

    def _resolve_tenants_and_endpoints(
        self, domains: list[Domain], configuration_sets: list[ConfigurationSet]
    ) -> tuple[list[Tenant], list[MultiRegionEndpoint]]:
        sets = {(c.account, c.region, c.name) for c in configuration_sets}
        # a set whose block is broken was reported already: do not report it again as missing
        sets |= {(t.account, t.region, n) for t in self.tenants for n in self.broken_configuration_sets}
        tenants = [
            self.collect(partial(resolve_tenant, t, self.accounts, domains, sets))
            for t in self._on_readable_accounts(self.tenants)
        ]
        endpoints = [
            self.collect(partial(resolve_multi_region_endpoint, e, self.accounts, domains))
            for e in self._on_readable_accounts(self.endpoints)
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
            checked = self.collect(partial(resolve_domain, domain, self.accounts))
            if checked is not None:
                resolved.append(checked)
        return resolved

    def _resolve_slices(self, domains: list[Domain], environment: str | None) -> list[Slice]:
        candidates = self._on_readable_accounts(self.slices)
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
        candidates = self._on_readable_accounts(self.smtp_users)
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
        if not matches(NAME, name):
            self.problems.append(str(node.fail("environment", f'expected {NAME_HINT}, got "{name}"')))
        elif name != self.directory.name:
            folder = f"envs/{self.directory.name}/"
            self.problems.append(
                str(node.fail("environment", f'"{name}" does not match its folder {folder}'))
            )
        return name


def _shared_account_regions(accounts: list[Account], files: dict[str, str]) -> list[str]:
    """Two account blocks may name one AWS account (a team each), but not one region of it: the
    stacks would be two in one account-region and claim the same names."""
    first: dict[tuple[str, str], str] = {}
    problems = []
    for account in accounts:
        for quota in account.regions:
            other = first.setdefault((account.id, quota.name), account.alias)
            if other != account.alias:
                problems.append(
                    f'{files[account.alias]}: account "{account.alias}".region "{quota.name}": account '
                    f'"{other}" ({files[other]}) is the same AWS account {account.id} and declares this '
                    "region too; one stack per account-region: declare the region in one of the two"
                )
    return problems


def _labelled(node: Node, key: str, noun: str) -> list[tuple[str, Node]]:
    return list(node.labelled_blocks(key, noun))


def _account(alias: str, node: Node) -> Account:
    if not matches(NAME, alias):
        raise node.fail(None, f"account alias must be {NAME_HINT}")
    account_id = node.req_text("id", pattern=ACCOUNT_ID, hint="a 12-digit AWS account id")
    role_arn = node.text("role_arn", pattern=ROLE_ARN, hint="an IAM role ARN (arn:aws:iam::<id>:role/<name>)")
    if role_arn is not None and role_arn.split(":")[4] != account_id:
        raise node.fail(
            "role_arn", f"role is in account {role_arn.split(':')[4]}, not in this account {account_id}"
        )
    external_id = node.text("external_id", pattern=r"[\w+=,.@:/-]{2,1224}", hint="2-1224 characters")
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
                max_24_hour_send=body.req_integer("max_24_hour_send", minimum=1),
                heartbeat=_heartbeat(body),
                events=parse_events(body),
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
    enabled = node.flag("enabled", default=True)  # writing the block opts in
    headroom = node.number("headroom", minimum_exclusive=0) if node.has("headroom") else 1.0
    if headroom > 1:
        raise node.fail(
            "headroom",
            f"expected a share of the quota, 0 < headroom ≤ 1 (0.95 hands out 95 %), got {headroom:g}",
        )
    node.finish(known=("headroom",))  # optional: read above only when present
    return HeartbeatSettings(enabled=enabled, headroom=headroom)


def _backend(kind: str, node: Node) -> Backend:
    if kind == "local":
        node.finish()
        return Backend()
    if kind != "s3":
        raise node.fail(None, 'backend must be "local" or "s3"')
    backend = Backend(
        type="s3",
        bucket=node.req_text("bucket", pattern=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", hint="an S3 bucket name"),
        region=node.req_text("region", hint="the bucket's region"),
        key_prefix=node.text(
            "key_prefix",
            default="",
            pattern=r"[\w!./*'()-]*[\w!.*'()-]",
            hint="an S3 key prefix without a trailing /",
        )
        or "",
        kms_key_id=node.text("kms_key_id"),
        role_arn=node.text("role_arn", pattern=ROLE_ARN, hint="an IAM role ARN"),
        use_lockfile=node.flag("use_lockfile", default=True),
        dynamodb_table=node.text("dynamodb_table"),
    )
    if backend.region not in SES_REGIONS and not matches(
        r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", backend.region or ""
    ):
        raise node.fail("region", f'"{backend.region}" is not an AWS region')
    node.finish()
    return backend

"""Typed, validated environment configuration: what ``envs/<env>/*.hcl`` says, resolved.

Stack code reads only these frozen dataclasses, never raw HCL dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath
from types import MappingProxyType
from typing import Literal

from modules.config.archive import Archive
from modules.config.bounce_report import BounceReport
from modules.config.suppression_cleanup import SuppressionCleanup
from modules.config.tenants import MultiRegionEndpoint, Tenant
from modules.configuration_set.props import EventDestination, ReputationAlarms
from modules.identity.props import Dkim, Dmarc, MailFrom

# Regions where SES sends mail (SES endpoints list, 2026). A typo such as "eu-centrl-1" fails.
SES_REGIONS = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1",
        "mx-central-1", "sa-east-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2",
        "eu-west-3", "eu-north-1", "eu-south-1", "eu-south-2", "il-central-1", "me-south-1",
        "me-central-1", "af-south-1", "ap-south-1", "ap-south-2", "ap-northeast-1",
        "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2",
        "ap-southeast-3", "ap-southeast-5", "ap-east-2", "us-gov-west-1", "us-gov-east-1",
    }
)  # fmt: skip


# Aliases of accounts and names of slices (and the environment): they end up in AWS resource names.
NAME = r"[a-z][a-z0-9-]{0,30}[a-z0-9]"
NAME_HINT = "lower-case letters, digits and hyphens, 2-32 characters, starting with a letter"


def _frozen(mapping: dict[str, str] | None = None) -> MappingProxyType[str, str]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, kw_only=True)
class HeartbeatSettings:
    """The per-second allocator of one account-region (``heartbeat { ... }`` in a region block).

    Attributes:
        enabled: run the heartbeat in this account-region's stack (only a stack with slices has
            one). Default false: it costs about $4.4 a month plus $5.6 per slice, so a region
            opts in with a ``heartbeat { ... }`` block (``enabled`` then defaults to true).
        headroom: share of the SES quota the heartbeat hands out each second, 0 < headroom ≤ 1.
            Default 1.0 (the whole quota).
    """

    enabled: bool = False
    headroom: float = 1.0


@dataclass(frozen=True, kw_only=True)
class EventSettings:
    """The event pipeline of one account-region (``events { ... }`` in a region block; optional).

    The pipeline exists when the account-region has a configuration set with an SNS destination;
    this block only tunes it.

    Attributes:
        declared: the region block has an ``events`` block (for messages).
        status_queue: also send each event to the SQS queue ``<env>-ses-event-status`` for
            applications. Default false.
        status_ttl_days: days a message's status stays after its latest event, 1-3650. Default 30.
        history_limit: events kept per recipient, 1-50. Default 10.
        log_retention_days: the event logger's log retention (a value CloudWatch accepts).
            Default 365.
    """

    declared: bool = False
    status_queue: bool = False
    status_ttl_days: int = 30
    history_limit: int = 10
    log_retention_days: int = 365


@dataclass(frozen=True, kw_only=True)
class RegionQuota:
    """An account's SES sending quota in one region (``GetAccount`` → ``SendQuota``)."""

    name: str
    max_send_rate: float  # recipients per second
    max_24_hour_send: int  # recipients per rolling 24 hours
    heartbeat: HeartbeatSettings = field(default_factory=HeartbeatSettings)
    events: EventSettings = field(default_factory=EventSettings)


@dataclass(frozen=True, kw_only=True)
class Account:
    """An AWS account that sends through SES, with the regions it sends from."""

    alias: str
    id: str
    regions: tuple[RegionQuota, ...]
    role_arn: str | None = None  # Default - use the caller's credentials as they are.
    external_id: str | None = None

    def region(self, name: str) -> RegionQuota | None:
        return next((r for r in self.regions if r.name == name), None)


@dataclass(frozen=True, kw_only=True)
class Domain:
    """A domain identity and how its DNS is published."""

    name: str
    account: str
    regions: tuple[str, ...]  # first one is the home region (plain MAIL FROM, DMARC)
    source: str  # file that declared it, for messages
    hosted_zone_id: str | None = None  # None means external DNS: records become an output
    dkim: Dkim = field(default_factory=Dkim)
    mail_from: MailFrom | None = field(default_factory=MailFrom)
    dmarc: Dmarc = field(default_factory=Dmarc)
    configuration_set: str | None = None
    dns_ttl_seconds: int = 600
    tags: MappingProxyType[str, str] = field(default_factory=_frozen)

    @property
    def dns(self) -> Literal["route53", "external"]:
        return "external" if self.hosted_zone_id is None else "route53"

    @property
    def home_region(self) -> str:
        return self.regions[0]


@dataclass(frozen=True, kw_only=True)
class Slice:
    """A capacity slice: a guaranteed share of one account-region's SES sending rate, with its own
    queues (transactional and bulk lanes, a DLQ) and sender Lambda.

    Attributes:
        name: lower-case letters, digits and hyphens; unique in the environment.
        account: alias of the account block it sends from.
        region: the region it sends from; must be declared in that account.
        rate_per_second: guaranteed recipients per second (> 0). The slices of one account-region
            together may not ask for more than its ``max_send_rate``.
        from_domains: domain identities it may send as; each must be a domain of ``account`` in
            ``region``.
        source: the file that declared it, for messages.
        configuration_set: configuration set passed with every send. Default - none (the
            identity's default configuration set, if any, applies).
        max_receive_count: receives before a message moves to the DLQ (redrive), 1-1000. Default 5.
        sender_max_concurrency: maximum concurrency of each lane's event source mapping, 2-1000.
            Default 5.
        batch_size: messages per sender invocation, 1-10. Default 10.
        log_retention_days: the sender's log retention, a value CloudWatch accepts. Default 365.
        dlq_alarm_threshold: visible DLQ messages that raise the alarm. Default 1.
        oldest_message_alarm_seconds: age of a lane's oldest message that raises the alarm.
            Default 300.
        archive: a shadow copy (BCC) of every mail to an SES-received address, stored in S3.
            Default - none.
    """

    name: str
    account: str
    region: str
    rate_per_second: float
    from_domains: tuple[str, ...]
    source: str
    configuration_set: str | None = None
    max_receive_count: int = 5
    sender_max_concurrency: int = 5
    batch_size: int = 10
    log_retention_days: int = 365
    dlq_alarm_threshold: int = 1
    oldest_message_alarm_seconds: int = 300
    archive: Archive | None = None


# DNSBL zones checked when a pool names none: free for low-volume queries through any resolver.
# Spamhaus refuses queries from shared resolvers such as AWS's; add your DQS zone
# ("<key>.zen.dq.spamhaus.net") to use it (modules/dedicated_ip_pool/README.md).
DEFAULT_BLOCKLIST_ZONES = ("bl.spamcop.net", "b.barracudacentral.org")


@dataclass(frozen=True, kw_only=True)
class Warmup:
    """A STANDARD pool's warm-up schedule (``warmup { ... }`` in a ``dedicated_ip_pool`` block).

    Attributes:
        start: first day of the warm-up, ``YYYY-MM-DD`` (UTC days).
        caps: recipients the pool may carry per period: positive, non-decreasing.
        period_days: 1 for ``daily_caps``, 7 for ``weekly_caps``.
        full_volume: recipients per period the pool carries once warm (your expected volume);
            the last cap must reach it, because when the schedule ends all of the slices' mail
            moves to the pool at once.
    """

    start: str
    caps: tuple[int, ...]
    period_days: int
    full_volume: int

    @property
    def full_daily_volume(self) -> int:
        return max(1, self.full_volume // self.period_days)


@dataclass(frozen=True, kw_only=True)
class DedicatedIpPool:
    """A dedicated IP pool (``dedicated_ip_pool "<name>" { ... }``).

    Attributes:
        name: the pool name (letters, digits, hyphens, underscores; unique in the environment).
        account, region: where it lives; the region must be declared in the account.
        source: the file that declared it, for messages.
        scaling_mode: ``STANDARD`` (you lease the IPs and warm them up) or ``MANAGED`` (SES
            sizes and warms the pool). Default ``STANDARD``.
        configuration_set: the configuration set that sends through this pool: the slices'
            dedicated set. Default - the one ``configuration_set`` block of the account-region
            whose ``dedicated_ip_pool`` names this pool (resolved when ``slices`` is set).
        slices: slices whose mail moves to this pool; each keeps its own ``configuration_set``
            for the shared pool while the warm-up lasts. Default - none.
        warmup: the warm-up schedule; STANDARD pools only. Default - none (the slices' mail uses
            the pool at once: IPs that are warm already).
        blocklist_zones: DNSBL zones the stack's blocklist monitor checks the account's
            dedicated IPs against. Default ``DEFAULT_BLOCKLIST_ZONES``.
        tags: tags on the pool. Default - none.
    """

    name: str
    account: str
    region: str
    source: str
    scaling_mode: Literal["STANDARD", "MANAGED"] = "STANDARD"
    configuration_set: str | None = None
    slices: tuple[str, ...] = ()
    warmup: Warmup | None = None
    blocklist_zones: tuple[str, ...] = DEFAULT_BLOCKLIST_ZONES
    tags: MappingProxyType[str, str] = field(default_factory=_frozen)


@dataclass(frozen=True, kw_only=True)
class ConfigurationSet:
    """An SES configuration set of one account-region (``configuration_set "<name>" { ... }``).

    Attributes:
        name: the set's name in SES; unique per account-region.
        account: alias of the account block.
        region: a region declared in that account.
        source: the file that declared it, for messages.
        external: the set exists already and is managed elsewhere: nothing is created, the name
            only resolves for domains and slices. Default false.
        destinations: event destinations. Default - one SNS destination with every event type.
        tls_policy: ``REQUIRE`` or ``OPTIONAL``. Default ``REQUIRE``.
        reputation_metrics: Default true.
        suppressed_reasons: Default ``BOUNCE`` and ``COMPLAINT``.
        custom_redirect_domain: open/click tracking domain (HTTPS required). Default - none.
        max_delivery_seconds: 300-50400. Default - SES's (14 hours).
        engagement_metrics / optimized_shared_delivery: VDM options. Default - the account's.
        dedicated_ip_pool: pool name sent from. Default - the shared pool.
        alarms: reputation alarm levels and the breaker switch. Default ``ReputationAlarms()``.
        tags: Default - none.
    """

    name: str
    account: str
    region: str
    source: str
    external: bool = False
    destinations: tuple[EventDestination, ...] = (EventDestination.sns(),)
    tls_policy: str = "REQUIRE"
    reputation_metrics: bool = True
    suppressed_reasons: tuple[str, ...] = ("BOUNCE", "COMPLAINT")
    custom_redirect_domain: str | None = None
    max_delivery_seconds: int | None = None
    engagement_metrics: bool | None = None
    optimized_shared_delivery: bool | None = None
    dedicated_ip_pool: str | None = None
    alarms: ReputationAlarms = field(default_factory=ReputationAlarms)
    tags: MappingProxyType[str, str] = field(default_factory=_frozen)


@dataclass(frozen=True, kw_only=True)
class SmtpUser:
    """An IAM user that sends through SES's SMTP interface, its credentials rotated in Secrets Manager.

    Attributes:
        name: lower-case letters, digits and hyphens; unique in the environment.
        account: alias of the account block it sends from.
        region: the region whose SMTP endpoint it uses (the password is valid there only).
        identities: domain identities it may send as; each a domain of ``account`` in ``region``.
        source: the file that declared it, for messages.
        from_addresses: ``ses:FromAddress`` patterns it may send from (``*@news.example.at``),
            each on one of the identities. Default - any address of the identities.
        rotation_days: days between rotations, 1-90. Default 30.
        replica_regions: regions holding a read-only replica of the secret. Default - none.
        readers: IAM principal ARNs allowed to read the secret (resource and key policy).
            Default - none; grant in-account readers with ``SmtpUser.grant_read``.
        configuration_set: configuration set the user may name (``X-SES-CONFIGURATION-SET``).
            Default - none (the identity's default set, if any, is allowed).
        previous_key_grace_hours: hours the previous access key stays active after a rotation,
            0 to less than ``rotation_days`` × 24. Default 24.
        test_smtp_login: testSecret logs in to the SMTP endpoint before promoting. Default true.
        log_retention_days: the rotation Lambda's log retention. Default 365.
    """

    name: str
    account: str
    region: str
    identities: tuple[str, ...]
    source: str
    from_addresses: tuple[str, ...] = ()
    rotation_days: int = 30
    replica_regions: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()
    configuration_set: str | None = None
    previous_key_grace_hours: int = 24
    test_smtp_login: bool = True
    log_retention_days: int = 365


@dataclass(frozen=True, kw_only=True)
class Backend:
    """Where each stack keeps its Terraform state. Default: a local file per stack."""

    type: Literal["local", "s3"] = "local"
    bucket: str | None = None
    region: str | None = None
    key_prefix: str = ""  # S3 key is "<key_prefix>/<stack>.tfstate"
    kms_key_id: str | None = None
    role_arn: str | None = None
    use_lockfile: bool = True
    dynamodb_table: str | None = None


@dataclass(frozen=True, kw_only=True)
class StackTarget:
    """One Terraform stack: everything one environment has in one account and region."""

    environment: str
    account: Account
    region: RegionQuota
    domains: tuple[Domain, ...]
    slices: tuple[Slice, ...] = ()  # the capacity slices sending from this account-region
    dedicated_ip_pools: tuple[DedicatedIpPool, ...] = ()
    configuration_sets: tuple[ConfigurationSet, ...] = ()  # declared in this account-region
    tenants: tuple[Tenant, ...] = ()  # SES tenants of this account-region
    # multi-region endpoints whose primary region this is (the stack that creates them)
    multi_region_endpoints: tuple[MultiRegionEndpoint, ...] = ()
    smtp_users: tuple[SmtpUser, ...] = ()  # the SMTP users sending from this account-region
    bounce_report: BounceReport | None = None  # the env's; built where the stack has a status table
    suppression_cleanup: SuppressionCleanup | None = None  # the env's, where it applies to this stack

    @property
    def name(self) -> str:
        return f"{self.environment}-{self.account.alias}-{self.region.name}"


@dataclass(frozen=True, kw_only=True)
class EnvConfig:
    """A whole environment, validated and with every name resolved."""

    environment: str
    directory: str
    files: tuple[str, ...]
    accounts: tuple[Account, ...]
    domains: tuple[Domain, ...]
    slices: tuple[Slice, ...] = ()
    dedicated_ip_pools: tuple[DedicatedIpPool, ...] = ()
    configuration_sets: tuple[ConfigurationSet, ...] = ()
    tenants: tuple[Tenant, ...] = ()
    multi_region_endpoints: tuple[MultiRegionEndpoint, ...] = ()
    smtp_users: tuple[SmtpUser, ...] = ()
    backend: Backend = field(default_factory=Backend)
    tags: MappingProxyType[str, str] = field(default_factory=_frozen)
    bounce_report: BounceReport | None = None
    suppression_cleanup: SuppressionCleanup | None = None

    def account(self, alias: str) -> Account:
        return next(a for a in self.accounts if a.alias == alias)

    @property
    def directory_display(self) -> str:
        """The env's folder as its files are shown in messages (``envs/prod``)."""
        return str(PurePath(self.files[0]).parent) if self.files else self.directory

    def stacks(self) -> tuple[StackTarget, ...]:
        """One target per declared (account, region), in declaration order."""
        return tuple(
            StackTarget(
                environment=self.environment,
                account=account,
                region=quota,
                domains=tuple(
                    d for d in self.domains if d.account == account.alias and quota.name in d.regions
                ),
                slices=tuple(s for s in self.slices if s.account == account.alias and s.region == quota.name),
                dedicated_ip_pools=tuple(
                    p
                    for p in self.dedicated_ip_pools
                    if p.account == account.alias and p.region == quota.name
                ),
                configuration_sets=tuple(
                    c
                    for c in self.configuration_sets
                    if c.account == account.alias and c.region == quota.name
                ),
                tenants=tuple(
                    t for t in self.tenants if t.account == account.alias and t.region == quota.name
                ),
                multi_region_endpoints=tuple(
                    m
                    for m in self.multi_region_endpoints
                    if m.account == account.alias and m.primary_region == quota.name
                ),
                smtp_users=tuple(
                    u for u in self.smtp_users if u.account == account.alias and u.region == quota.name
                ),
                bounce_report=self.bounce_report,
                suppression_cleanup=self._suppression_cleanup(account.alias, quota.name),
            )
            for account in self.accounts
            for quota in account.regions
        )

    def _suppression_cleanup(self, account: str, region: str) -> SuppressionCleanup | None:
        cleanup = self.suppression_cleanup
        return cleanup if cleanup is not None and cleanup.applies_to(account, region) else None

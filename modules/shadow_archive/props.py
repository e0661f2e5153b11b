"""Inputs of :class:`~modules.shadow_archive.construct.ShadowArchive` (pure Python, no cdktn)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

# Regions where SES receives mail; the config layer checks the same list (modules/config/archive.py).
from modules.config.archive import SES_RECEIVING_REGIONS
from modules.naming import S3_BUCKET_LIMIT, fit

_ADDRESS = re.compile(r"[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}")


@dataclass(frozen=True, kw_only=True)
class ArchiveRule:
    """One slice's copies: ``address`` → ``s3://<bucket>/<slice>/``.

    Attributes:
        slice: the archiving slice's name, the key prefix its copies are stored under.
        address: the address the slice's sender copies every mail to (BCC); its domain receives
            in this account-region.
        hosted_zone_id: Route 53 zone of the address's domain, which gets the MX record.
            Default - none: external DNS, the record becomes an output.
    """

    slice: str
    address: str
    hosted_zone_id: str | None = None

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


@dataclass(frozen=True, kw_only=True)
class ShadowArchiveProps:
    """The receiving side of the shadow-copy archive of one account-region.

    Attributes:
        environment / account_id / region: the stack's; ``region`` must be one where SES receives.
        rules: one per archiving slice (at least one; addresses unique).
        activate_receipt_rule_set: make this stack's rule set the active one of the account-region
            (SES allows one: any other active set is deactivated). Default false.
        retention_days: days a copy is kept, 1-36500. Default 2557 (7 years).
        dns_ttl_seconds: TTL of the MX records. Default 600.
        tags: merged over the provider's default tags. Default - none.
    """

    environment: str
    account_id: str
    region: str
    rules: Sequence[ArchiveRule]
    activate_receipt_rule_set: bool = False
    retention_days: int = 2557
    dns_ttl_seconds: int = 600
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.region not in SES_RECEIVING_REGIONS:
            raise ValueError(
                f"region: SES does not receive mail in {self.region} (receiving regions: "
                f"{', '.join(SES_RECEIVING_REGIONS)})"
            )
        if not self.rules:
            raise ValueError("rules: at least one archive address is required")
        addresses = [r.address for r in self.rules]
        if len(set(addresses)) != len(addresses):
            raise ValueError(f"rules: an archive address is listed twice ({addresses})")
        for rule in self.rules:
            if not _ADDRESS.fullmatch(rule.address):
                raise ValueError(f"rules: {rule.address!r} is not local@domain")
        if not 1 <= self.retention_days <= 36500:
            raise ValueError(f"retention_days must be 1-36500, got {self.retention_days}")

    @property
    def rule_set_name(self) -> str:
        return f"{self.environment}-ses-archive"

    @property
    def bucket_name(self) -> str:
        tail = f"-{self.account_id}-{self.region}"  # kept whole when the env name is long
        return fit(f"{self.environment}-ses-archive{tail}", S3_BUCKET_LIMIT, keep_end=len(tail))

    @property
    def inbound_endpoint(self) -> str:
        return f"inbound-smtp.{self.region}.amazonaws.com"

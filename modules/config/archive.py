"""``archive { ... }`` inside a slice block: a shadow copy (BCC) of every mail the slice sends.

SES receives the copy on the archive address's domain and a receipt rule stores it in an
encrypted S3 bucket. The receiving side is per account-region (one receipt rule set, one
bucket), so the slices archiving in one account-region must agree on its settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from modules.config.hcl import Node
from modules.config.shapes import DomainShape

_ADDRESS = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+"
# Regions where SES receives mail (AWS General Reference, "Email receiving endpoints"). Extend the
# list when AWS adds one: a region missing here only costs a clear error at validation.
SES_RECEIVING_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-central-1", "eu-west-1",
    "eu-west-2", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Archive:
    """A slice's shadow-copy archive.

    Attributes:
        address: the BCC address; its domain must be a domain identity of the slice's
            account-region (SES receives only for verified domains) and should be used for nothing
            else: the stack points its MX record at SES's inbound endpoint.
        activate_receipt_rule_set: make the stack's receipt rule set the account-region's active
            one. SES has one active set per account-region: activating replaces any other (its
            rules stop). Must be true for copies to be stored. Default false.
        retention_days: days a copy is kept (S3 lifecycle), 1-36500. Default 2557 (7 years).
    """

    address: str
    activate_receipt_rule_set: bool = False
    retention_days: int = 2557

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


def parse_archive(slice_node: Node) -> Archive | None:
    node = slice_node.block("archive")
    if node is None:
        return None
    archive = Archive(
        address=node.req_text(
            "address", pattern=_ADDRESS, hint="an address such as archive@archive.example.at"
        ),
        activate_receipt_rule_set=node.flag("activate_receipt_rule_set", default=False),
        retention_days=node.integer("retention_days", default=2557, minimum=1, maximum=36500),
    )
    node.finish()
    return archive


class ArchivingSlice(Protocol):
    """What the archive checks read of a slice (``model.Slice``)."""

    @property
    def name(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def archive(self) -> Archive | None: ...


def resolve_archives(slices: Sequence[ArchivingSlice], domains: Sequence[DomainShape]) -> list[str]:
    """Every problem with the slices' archives: region, domain, and per account-region agreement."""
    problems: list[str] = []
    first: dict[tuple[str, str], ArchivingSlice] = {}
    for item in slices:
        archive = item.archive
        if archive is None:
            continue
        where = f'{item.source}: slice "{item.name}".archive'
        if item.region not in SES_RECEIVING_REGIONS:
            problems.append(
                f"{where}: SES does not receive mail in {item.region} (receiving regions: "
                f"{', '.join(SES_RECEIVING_REGIONS)}); archive from a slice in one of them"
            )
            continue
        here = [d.name for d in domains if d.account == item.account and item.region in d.regions]
        if archive.domain not in here:
            problems.append(
                f'{where}.address: "{archive.domain}" is not a domain of account "{item.account}" in '
                f"{item.region}; declare it as a domain block (SES receives only for verified domains; "
                f"use a subdomain kept for the archive). Domains there: {', '.join(here) or 'none'}"
            )
        other = first.setdefault((item.account, item.region), item)
        if other is not item and other.archive is not None:
            for key in ("activate_receipt_rule_set", "retention_days"):
                if getattr(other.archive, key) != getattr(archive, key):
                    problems.append(
                        f'{where}.{key}: differs from slice "{other.name}" in the same account-region '
                        "(one receipt rule set and bucket per account-region: give both the same value)"
                    )
    return problems

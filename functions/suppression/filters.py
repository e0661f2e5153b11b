"""Which entries of the account-level suppression list a cleanup removes.

An entry is what ``ListSuppressedDestinations`` returns in ``SuppressedDestinationSummaries``:
``{"EmailAddress": str, "Reason": "BOUNCE" | "COMPLAINT", "LastUpdateTime": datetime}``.
Reasons and the date range also go to SES as request parameters (fewer pages to read); every
predicate is checked again here, so a filter never depends on how SES reads its parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

REASONS = ("BOUNCE", "COMPLAINT")
APPLE_PRIVATE_RELAY = "privaterelay.appleid.com"


@dataclass(frozen=True)
class Entry:
    """One suppressed destination."""

    email_address: str
    reason: str
    last_update_time: datetime

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> Entry:
        return cls(
            email_address=str(summary["EmailAddress"]),
            reason=str(summary["Reason"]),
            last_update_time=as_utc(summary["LastUpdateTime"]),
        )

    @property
    def domain(self) -> str:
        return self.email_address.rpartition("@")[2].lower()

    def to_json(self) -> dict[str, str]:
        return {
            "email_address": self.email_address,
            "reason": self.reason,
            "last_update_time": self.last_update_time.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Entry:
        return cls(
            email_address=str(data["email_address"]),
            reason=str(data["reason"]),
            last_update_time=as_utc(data["last_update_time"]),
        )


def as_utc(value: Any) -> datetime:
    """A datetime (boto3) or ISO 8601 text (JSON, CLI) as an aware UTC datetime."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC)
    else:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class Filters:
    """Predicates an entry must all meet to be removed.

    Attributes:
        domains: recipient domains; an address matches its domain or any subdomain of it
            (``privaterelay.appleid.com``). Default - any domain.
        reasons: ``BOUNCE`` and/or ``COMPLAINT``. Default - both.
        updated_after: only entries last updated at or after this instant. Default - no bound.
        updated_before: only entries last updated before this instant. Default - no bound.
        pattern: a regular expression searched in the address (case-insensitive). Default - none.
    """

    domains: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    updated_after: datetime | None = None
    updated_before: datetime | None = None
    pattern: str | None = None

    def __post_init__(self) -> None:
        for reason in self.reasons:
            if reason not in REASONS:
                raise ValueError(f"reason must be BOUNCE or COMPLAINT, got {reason!r}")
        for domain in self.domains:
            if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?", domain):
                raise ValueError(
                    f"domain must be a lower-case domain name such as {APPLE_PRIVATE_RELAY}, got {domain!r}"
                )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
        if self.updated_after and self.updated_before and self.updated_after >= self.updated_before:
            raise ValueError("updated_after must be earlier than updated_before")

    def matches(self, entry: Entry) -> bool:
        if self.domains and not any(
            entry.domain == d or entry.domain.endswith("." + d) for d in self.domains
        ):
            return False
        if self.reasons and entry.reason not in self.reasons:
            return False
        if self.updated_after and entry.last_update_time < self.updated_after:
            return False
        if self.updated_before and entry.last_update_time >= self.updated_before:
            return False
        return not (self.pattern and not re.search(self.pattern, entry.email_address, re.IGNORECASE))

    def list_parameters(self) -> dict[str, Any]:
        """What SES can filter itself: ``Reasons``, ``StartDate``, ``EndDate``."""
        params: dict[str, Any] = {}
        if self.reasons:
            params["Reasons"] = list(self.reasons)
        if self.updated_after:
            params["StartDate"] = self.updated_after
        if self.updated_before:
            params["EndDate"] = self.updated_before
        return params

    def to_json(self) -> dict[str, Any]:
        return {
            "domains": list(self.domains),
            "reasons": list(self.reasons),
            "updated_after": self.updated_after.isoformat() if self.updated_after else None,
            "updated_before": self.updated_before.isoformat() if self.updated_before else None,
            "pattern": self.pattern,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Filters:
        """From :meth:`to_json` output, or from a Lambda's ``FILTERS`` environment variable."""
        after, before = data.get("updated_after"), data.get("updated_before")
        return cls(
            domains=tuple(str(d).lower() for d in data.get("domains") or ()),
            reasons=tuple(str(r).upper() for r in data.get("reasons") or ()),
            updated_after=as_utc(after) if after else None,
            updated_before=as_utc(before) if before else None,
            pattern=data.get("pattern") or None,
        )

    def fingerprint(self) -> str:
        """A short digest: a journal written under other filters must not be resumed with these."""
        text = json.dumps(self.to_json(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

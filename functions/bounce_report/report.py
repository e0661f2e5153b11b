"""The weekly bounce report's numbers, from status table items (see functions/event_logger/status.py).

Each item is one SES message; each ``rcpt:<address>`` entry is one recipient's final state in the
table (the maximum over its events). Per recipient, the report counts:

* **sent**: every recipient of a message sent in the period (SES's ``Send`` counts recipients).
* **delivered**: state Delivery, Open, Click, Subscription or Complaint (a complaint follows a
  delivery; SES counts both).
* **bounced** (permanent / transient), **complained**, **rejected** (Reject, Rendering Failure),
  **pending** (Send or DeliveryDelay only: no final answer yet).

Rates are over sent recipients, as the event pipeline's alarms compute them (README there). A
recipient listed in ``exclude`` (the slices' shadow-copy archive addresses) is not counted: its
copy is the platform's, not mail to a person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

RECIPIENT_PREFIX = "rcpt:"  # the status table's per-recipient attribute (event_logger.status)
DELIVERED = frozenset({"Delivery", "Open", "Click", "Subscription", "Complaint"})
REJECTED = frozenset({"Reject", "Rendering Failure"})
PENDING = frozenset({"Send", "DeliveryDelay"})
NONE = "none"  # as the event logger names a missing slice or configuration set


@dataclass
class Counts:
    """Recipients of one group (or of all) by outcome."""

    sent: int = 0
    delivered: int = 0
    bounced_permanent: int = 0
    bounced_transient: int = 0
    complained: int = 0
    rejected: int = 0
    pending: int = 0

    @property
    def bounced(self) -> int:
        return self.bounced_permanent + self.bounced_transient

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complained / self.sent if self.sent else 0.0

    def add(self, other: Counts) -> None:
        for name in ("sent", "delivered", "bounced_permanent", "bounced_transient", "complained",
                     "rejected", "pending"):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class Failure:
    """One recipient that did not get the mail, or complained, and why (in SES's words)."""

    recipient: str
    slice: str
    configuration_set: str
    state: str
    at: str
    message_id: str
    bounce_type: str = ""
    bounce_subtype: str = ""
    status: str = ""
    diagnostic_code: str = ""
    feedback_type: str = ""
    reason: str = ""

    @property
    def domain(self) -> str:
        return self.recipient.rpartition("@")[2]

    @property
    def why(self) -> str:
        """A reader's one-liner: ``Permanent/General: 5.1.1 smtp; 550 user unknown``."""
        if self.state == "Bounce":
            kind = "/".join(p for p in (self.bounce_type, self.bounce_subtype) if p)
            detail = " ".join(p for p in (self.status, self.diagnostic_code) if p)
            return f"{kind}: {detail}" if detail else kind
        if self.state == "Complaint":
            return f"complaint ({self.feedback_type})" if self.feedback_type else "complaint"
        return self.reason or self.state


@dataclass
class DomainCounts:
    sent: int = 0
    bounced: int = 0

    @property
    def bounce_rate(self) -> float:
        return self.bounced / self.sent if self.sent else 0.0


@dataclass
class Report:
    """Everything the CSV and HTML show. ``failures`` keeps at most ``max_failures`` rows (the
    totals count all); ``failures_dropped`` says how many were left out."""

    period_start: str
    period_end: str
    environment: str
    region: str
    exclude: frozenset[str] = frozenset()
    max_failures: int = 100_000
    messages: int = 0
    totals: Counts = field(default_factory=Counts)
    groups: dict[tuple[str, str], Counts] = field(default_factory=dict)
    domains: dict[str, DomainCounts] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    failures_dropped: int = 0

    def add_item(self, item: Mapping[str, Any]) -> None:
        """Count one status table item (low-level DynamoDB attribute values)."""
        slice_name = _s(item.get("slice")) or NONE
        configuration_set = _s(item.get("configuration_set")) or NONE
        group = self.groups.setdefault((slice_name, configuration_set), Counts())
        counted = False
        for name, value in item.items():
            if not name.startswith(RECIPIENT_PREFIX):
                continue
            recipient = name[len(RECIPIENT_PREFIX) :]
            entry = value.get("M") if isinstance(value, dict) else None
            if recipient in self.exclude or not isinstance(entry, dict):
                continue
            fields = {k: _s(v) for k, v in entry.items()}
            counts = _classify(fields)
            group.add(counts)
            self.totals.add(counts)
            domain = self.domains.setdefault(recipient.rpartition("@")[2], DomainCounts())
            domain.sent += 1
            domain.bounced += counts.bounced
            counted = True
            if counts.bounced or counts.complained or counts.rejected:
                self._failure(recipient, slice_name, configuration_set, _s(item.get("message_id")), fields)
        self.messages += counted

    def add_items(self, items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            self.add_item(item)

    def _failure(self, recipient: str, slice_name: str, configuration_set: str, message_id: str,
                 fields: Mapping[str, str]) -> None:  # fmt: skip
        if len(self.failures) >= self.max_failures:
            self.failures_dropped += 1
            return
        self.failures.append(
            Failure(
                recipient=recipient,
                slice=slice_name,
                configuration_set=configuration_set,
                state=fields.get("state", ""),
                at=fields.get("at", ""),
                message_id=message_id,
                bounce_type=fields.get("bounce_type", ""),
                bounce_subtype=fields.get("bounce_subtype", ""),
                status=fields.get("status", ""),
                diagnostic_code=fields.get("diagnostic_code", ""),
                feedback_type=fields.get("feedback_type", ""),
                reason=fields.get("reason", ""),
            )
        )

    def top_domains(self, limit: int) -> list[tuple[str, DomainCounts]]:
        """The recipient domains with the most bounces (then the highest rate), bounced only."""
        bouncing = [(d, c) for d, c in self.domains.items() if c.bounced]
        bouncing.sort(key=lambda pair: (-pair[1].bounced, -pair[1].bounce_rate, pair[0]))
        return bouncing[:limit]

    def sorted_groups(self) -> list[tuple[tuple[str, str], Counts]]:
        return sorted(((k, v) for k, v in self.groups.items() if v.sent), key=lambda kv: kv[0])

    def sorted_failures(self) -> list[Failure]:
        return sorted(self.failures, key=lambda f: (f.slice, f.configuration_set, f.domain, f.recipient))

    def reasons(self) -> Counter[str]:
        """Failures by kind (``Bounce Permanent/General``, ``Complaint``, …), most common first."""
        kinds: Counter[str] = Counter()
        for failure in self.failures:
            kind = "/".join(p for p in (failure.bounce_type, failure.bounce_subtype) if p)
            kinds[f"{failure.state} {kind}".strip()] += 1
        return kinds


def _classify(fields: Mapping[str, str]) -> Counts:
    state = fields.get("state", "")
    counts = Counts(sent=1)
    if state in DELIVERED:
        counts.delivered = 1
        counts.complained = int(state == "Complaint")
    elif state == "Bounce":
        if fields.get("bounce_type") == "Transient":
            counts.bounced_transient = 1
        else:  # Permanent, or Undetermined: SES suppresses on it; count it against the rate
            counts.bounced_permanent = 1
    elif state in REJECTED:
        counts.rejected = 1
    else:
        counts.pending = 1
    return counts


def _s(value: Any) -> str:
    if isinstance(value, dict):
        inner = value.get("S", value.get("N"))
        return str(inner) if inner is not None else ""
    return ""

"""Typed wrappers over SES event publishing records, read from the SNS records Lambda receives.

SES puts each event's JSON *as a string* in ``Records[i].Sns.Message``. :func:`parse_record`
turns one record into one :class:`SesEvent` subclass (``Send``, ``Bounce``, …: one per
``eventType``, spelt as SES spells it, including ``"Rendering Failure"``) or raises
:class:`MalformedEvent` with a reason code. Handlers read properties, never dig in dicts.

Whom an event concerns (:attr:`SesEvent.recipients`): the recipients SES names in the event's own
object (``bounce.bouncedRecipients``, ``complaint.complainedRecipients``,
``delivery.recipients``, ``deliveryDelay.delayedRecipients``); for message-level events (Send,
Reject, Rendering Failure, Open, Click, Subscription) every address of ``mail.destination`` -
SES does not say which recipient of a multi-recipient message opened or clicked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

# Reason codes of malformed input (log field ``reason`` and the ``MalformedEvents`` metric).
NOT_SNS = "NOT_SNS_RECORD"  # no ``Sns`` object in the record
NO_MESSAGE = "NO_SNS_MESSAGE"  # SNS envelope without ``Message``
NOT_JSON = "NOT_JSON"  # ``Message`` is not a JSON object
UNKNOWN_TYPE = "UNKNOWN_EVENT_TYPE"  # ``eventType`` missing or not one SES publishes
NO_MESSAGE_ID = "NO_MESSAGE_ID"  # ``mail.messageId`` missing or empty
BAD_FIELD = "INVALID_FIELD"  # a field has the wrong type (``mail`` not an object, a bad timestamp)

CONFIGURATION_SET_TAG = "ses:configuration-set"
NONE = "none"  # dimension value when an event has no slice or configuration set


class MalformedEvent(ValueError):  # noqa: N818 - names the input, like contract.InvalidMessage
    """A record that is not an SES event we can read; ``reason`` is one of the codes above."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def epoch_ms(timestamp: str) -> int:
    """SES's ISO 8601 timestamps (``2017-08-05T00:41:02.669Z``) as epoch milliseconds."""
    try:
        return int(datetime.fromisoformat(timestamp).timestamp() * 1000)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(BAD_FIELD, f"not an ISO 8601 timestamp: {timestamp!r}") from exc


def _object(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(BAD_FIELD, f"{key}: not an object")
    return value


def _addresses(values: Any, key: str) -> tuple[str, ...]:
    """Recipient addresses, lower-cased (the status table keys on them; SES is case-blind)."""
    if not isinstance(values, list):
        raise MalformedEvent(BAD_FIELD, f"{key}: not a list")
    out: list[str] = []
    for value in values:
        address = value.get("emailAddress") if isinstance(value, dict) else value
        if not isinstance(address, str) or not address.strip():
            raise MalformedEvent(BAD_FIELD, f"{key}: a recipient without an address")
        # "Name <a@b>" can appear in mail.destination of SMTP sends: keep the address only.
        address = address.strip()
        if address.endswith(">") and "<" in address:
            address = address[address.rindex("<") + 1 : -1]
        out.append(address.lower())
    return tuple(dict.fromkeys(out))


class SesEvent:
    """One SES event. Subclasses add the properties of their own object (``bounce``, …)."""

    event_type: ClassVar[str] = ""
    state_rank: ClassVar[int] = 0
    """Order of states per recipient: a recipient's status only moves to a higher rank (or the
    same rank, later), so a late or repeated event never hides a final one."""
    detail_key: ClassVar[str] = ""  # the event's own object: "bounce", "deliveryDelay", …
    __slots__ = ("detail", "mail", "message_id", "raw", "sns_message_id", "timestamp", "timestamp_ms")

    def __init__(self, raw: Mapping[str, Any], sns_message_id: str) -> None:
        self.raw = raw
        self.sns_message_id = sns_message_id
        self.mail = _object(raw, "mail")
        message_id = self.mail.get("messageId")
        if not isinstance(message_id, str) or not message_id:
            raise MalformedEvent(NO_MESSAGE_ID, "mail.messageId is missing")
        self.message_id = message_id
        self.detail = _object(raw, self.detail_key) if self.detail_key else {}
        timestamp = self.detail.get("timestamp") or self.mail.get("timestamp")
        if not isinstance(timestamp, str):
            raise MalformedEvent(BAD_FIELD, f"{self.event_type}: no timestamp")
        self.timestamp = timestamp
        self.timestamp_ms = epoch_ms(timestamp)

    # --- the mail object, shared by every type --------------------------------------------------

    @property
    def tags(self) -> Mapping[str, Sequence[str]]:
        tags = self.mail.get("tags")
        return tags if isinstance(tags, dict) else {}

    def tag(self, name: str) -> str | None:
        values = self.tags.get(name)
        return str(values[0]) if isinstance(values, list) and values else None

    @property
    def configuration_set(self) -> str | None:
        return self.tag(CONFIGURATION_SET_TAG)

    @property
    def slice_name(self) -> str | None:
        return self.tag("slice")

    @property
    def idempotency_key(self) -> str | None:
        return self.tag("idempotency_key")

    @property
    def lane(self) -> str | None:
        return self.tag("lane")

    @property
    def sent_at(self) -> str | None:
        value = self.mail.get("timestamp")
        return value if isinstance(value, str) else None

    @property
    def destination(self) -> tuple[str, ...]:
        return _addresses(self.mail.get("destination") or [], "mail.destination")

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.destination

    @property
    def custom_tags(self) -> dict[str, str]:
        """Message tags without SES's own ``ses:*`` ones (ours: idempotency_key, slice, lane)."""
        return {k: str(v[0]) for k, v in self.tags.items() if not k.startswith("ses:") and v}

    # --- what the status table records per recipient ----------------------------------------------

    def status_fields(self, recipient: str) -> dict[str, str]:  # noqa: ARG002 - per-type override
        """Extra fields of this event for a recipient's status entry (bounce type, …)."""
        return {}

    def log_fields(self) -> dict[str, Any]:
        """Extra fields of this event's log line."""
        return {}

    def history_line(self) -> str:
        """The event in a recipient's history: ``<timestamp> <eventType>[ <detail>]``."""
        return f"{self.timestamp} {self.event_type}"


class Send(SesEvent):
    event_type = "Send"
    state_rank = 10
    detail_key = "send"
    __slots__ = ()


class DeliveryDelay(SesEvent):
    event_type = "DeliveryDelay"
    state_rank = 20
    detail_key = "deliveryDelay"
    __slots__ = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return _addresses(self.detail.get("delayedRecipients", []), "deliveryDelay.delayedRecipients")

    @property
    def delay_type(self) -> str | None:
        return self.detail.get("delayType")

    def _recipient(self, recipient: str) -> Mapping[str, Any]:
        for item in self.detail.get("delayedRecipients", []):
            if isinstance(item, dict) and str(item.get("emailAddress", "")).lower() == recipient:
                return item
        return {}

    def status_fields(self, recipient: str) -> dict[str, str]:
        item = self._recipient(recipient)
        fields = {"delay_type": self.delay_type, "status": item.get("status"),
                  "diagnostic_code": item.get("diagnosticCode")}  # fmt: skip
        return {k: str(v) for k, v in fields.items() if v}

    def log_fields(self) -> dict[str, Any]:
        code = _first_code(self.detail, "delayedRecipients")
        return {"delay_type": self.delay_type, "diagnostic_code": code,
                "expiration_time": self.detail.get("expirationTime")}  # fmt: skip


class Delivery(SesEvent):
    event_type = "Delivery"
    state_rank = 30
    detail_key = "delivery"
    __slots__ = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return _addresses(self.detail.get("recipients", []), "delivery.recipients")

    def log_fields(self) -> dict[str, Any]:
        return {"smtp_response": self.detail.get("smtpResponse"),
                "processing_time_ms": self.detail.get("processingTimeMillis")}  # fmt: skip


class Open(SesEvent):
    event_type = "Open"
    state_rank = 40
    detail_key = "open"
    __slots__ = ()

    def log_fields(self) -> dict[str, Any]:
        return {"user_agent": self.detail.get("userAgent")}


class Click(SesEvent):
    event_type = "Click"
    state_rank = 50
    detail_key = "click"
    __slots__ = ()

    @property
    def link(self) -> str | None:
        return self.detail.get("link")

    def log_fields(self) -> dict[str, Any]:
        return {"link": self.link, "link_tags": self.detail.get("linkTags")}


class Subscription(SesEvent):
    event_type = "Subscription"
    state_rank = 60
    detail_key = "subscription"
    __slots__ = ()

    @property
    def unsubscribe_all(self) -> bool:
        preferences = self.detail.get("newTopicPreferences")
        return bool(isinstance(preferences, dict) and preferences.get("unsubscribeAll"))

    def status_fields(self, recipient: str) -> dict[str, str]:  # noqa: ARG002
        return {"contact_list": str(self.detail.get("contactList") or ""),
                "unsubscribe_all": str(self.unsubscribe_all).lower()}  # fmt: skip

    def log_fields(self) -> dict[str, Any]:
        return {"contact_list": self.detail.get("contactList"), "unsubscribe_all": self.unsubscribe_all}


class Reject(SesEvent):
    event_type = "Reject"
    state_rank = 80
    detail_key = "reject"
    __slots__ = ()

    @property
    def reason(self) -> str | None:
        return self.detail.get("reason")

    def status_fields(self, recipient: str) -> dict[str, str]:  # noqa: ARG002
        return {"reason": str(self.reason)} if self.reason else {}

    def log_fields(self) -> dict[str, Any]:
        return {"reason": self.reason}


class RenderingFailure(SesEvent):
    event_type = "Rendering Failure"  # SES's spelling, with the space
    state_rank = 80
    detail_key = "failure"
    __slots__ = ()

    def status_fields(self, recipient: str) -> dict[str, str]:  # noqa: ARG002
        fields = {"template_name": self.detail.get("templateName"), "error": self.detail.get("errorMessage")}
        return {k: str(v)[:500] for k, v in fields.items() if v}

    def log_fields(self) -> dict[str, Any]:
        return {"template_name": self.detail.get("templateName"), "error": self.detail.get("errorMessage")}


class Bounce(SesEvent):
    event_type = "Bounce"
    state_rank = 90
    detail_key = "bounce"
    __slots__ = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return _addresses(self.detail.get("bouncedRecipients", []), "bounce.bouncedRecipients")

    @property
    def bounce_type(self) -> str | None:
        return self.detail.get("bounceType")

    @property
    def bounce_subtype(self) -> str | None:
        return self.detail.get("bounceSubType")

    def status_fields(self, recipient: str) -> dict[str, str]:
        item: Mapping[str, Any] = {}
        for candidate in self.detail.get("bouncedRecipients", []):
            if isinstance(candidate, dict) and str(candidate.get("emailAddress", "")).lower() == recipient:
                item = candidate
        fields = {"bounce_type": self.bounce_type, "bounce_subtype": self.bounce_subtype,
                  "status": item.get("status"), "diagnostic_code": item.get("diagnosticCode")}  # fmt: skip
        return {k: str(v)[:500] for k, v in fields.items() if v}

    def log_fields(self) -> dict[str, Any]:
        return {"bounce_type": self.bounce_type, "bounce_subtype": self.bounce_subtype,
                "diagnostic_code": _first_code(self.detail, "bouncedRecipients"),
                "feedback_id": self.detail.get("feedbackId")}  # fmt: skip

    def history_line(self) -> str:
        return f"{self.timestamp} Bounce {self.bounce_type}/{self.bounce_subtype}"


class Complaint(SesEvent):
    event_type = "Complaint"
    state_rank = 100
    detail_key = "complaint"
    __slots__ = ()

    @property
    def recipients(self) -> tuple[str, ...]:
        return _addresses(self.detail.get("complainedRecipients", []), "complaint.complainedRecipients")

    @property
    def feedback_type(self) -> str | None:
        return self.detail.get("complaintFeedbackType")

    def status_fields(self, recipient: str) -> dict[str, str]:  # noqa: ARG002
        return {"feedback_type": str(self.feedback_type)} if self.feedback_type else {}

    def log_fields(self) -> dict[str, Any]:
        return {"feedback_type": self.feedback_type, "complaint_subtype": self.detail.get("complaintSubType"),
                "feedback_id": self.detail.get("feedbackId")}  # fmt: skip


def _first_code(detail: Mapping[str, Any], key: str) -> str | None:
    """The first recipient's diagnostic code (each recipient's own is in the status table)."""
    for item in detail.get(key) or []:
        if isinstance(item, dict) and item.get("diagnosticCode"):
            return str(item["diagnosticCode"])
    return None


EVENT_TYPES: dict[str, type[SesEvent]] = {
    cls.event_type: cls
    for cls in (
        Send,
        Reject,
        Bounce,
        Complaint,
        Delivery,
        DeliveryDelay,
        Open,
        Click,
        RenderingFailure,
        Subscription,
    )
}
"""Every ``eventType`` SES publishes, in SES's spelling, to its wrapper."""


def parse_message(message: str, sns_message_id: str = "") -> SesEvent:
    """One SES event from its JSON text (the SNS ``Message``)."""
    try:
        raw = json.loads(message)
    except (TypeError, ValueError) as exc:
        raise MalformedEvent(NOT_JSON, f"Sns.Message is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise MalformedEvent(NOT_JSON, "Sns.Message is not a JSON object")
    event_type = raw.get("eventType")
    cls = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if cls is None:
        hint = " (an identity notification: use a configuration set's event destination)" if (
            "notificationType" in raw) else ""  # fmt: skip
        raise MalformedEvent(UNKNOWN_TYPE, f"eventType {event_type!r} is not an SES event type{hint}")
    event = cls(raw, sns_message_id)
    _ = event.recipients  # a bad recipient list is malformed input, found here and not mid-write
    return event


def parse_record(record: Mapping[str, Any]) -> SesEvent:
    """One SES event from one Lambda SNS record."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    if not isinstance(sns, dict):
        raise MalformedEvent(NOT_SNS, "the record has no Sns object")
    message = sns.get("Message")
    if not isinstance(message, str) or not message:
        raise MalformedEvent(NO_MESSAGE, "the SNS envelope has no Message")
    return parse_message(message, str(sns.get("MessageId") or ""))

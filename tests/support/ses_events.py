"""SES event fixtures (``tests/events/event_logger/``) and the SNS envelope Lambda wraps them in."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "events" / "event_logger"
FIXTURES = {
    "Send": "send.json", "Reject": "reject.json", "Bounce": "bounce.json", "Complaint": "complaint.json",
    "Delivery": "delivery.json", "DeliveryDelay": "delivery_delay.json", "Open": "open.json",
    "Click": "click.json", "Rendering Failure": "rendering_failure.json", "Subscription": "subscription.json",
}  # fmt: skip
MESSAGE_ID = "0102018f1c2d3e4f-5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d-000000"
RECIPIENT = "recipient@example.com"


def ses_event(event_type: str, **mail: Any) -> dict[str, Any]:
    """The fixture of ``event_type`` (a fresh copy); keyword arguments replace ``mail`` fields."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / FIXTURES[event_type]).read_text())
    event["mail"].update(copy.deepcopy(mail))
    return event


def record(message: dict[str, Any] | str | None, sns_message_id: str = "sns-1") -> dict[str, Any]:
    """One Lambda SNS record (from ``sns_envelope.json``) carrying ``message`` as its Message."""
    envelope: dict[str, Any] = json.loads((EVENTS_DIR / "sns_envelope.json").read_text())
    item: dict[str, Any] = envelope["Records"][0]
    item["Sns"]["MessageId"] = sns_message_id
    if message is None:
        del item["Sns"]["Message"]
    else:
        item["Sns"]["Message"] = message if isinstance(message, str) else json.dumps(message)
    return item


def batch(*records: dict[str, Any]) -> dict[str, Any]:
    return {"Records": list(records)}

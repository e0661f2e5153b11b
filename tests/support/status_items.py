"""Status table items written the way the event logger writes them: SES event fixtures, edited per
message, through the real ``StatusStore`` (so reports and smoke sends read what production reads)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from functions.event_logger.events import parse_message
from functions.event_logger.status import HASH_KEY, StatusStore
from tests.support.ses_events import ses_event

STATUS_TABLE = "example-ses-event-status"


def create_status_table(dynamodb: Any, name: str = STATUS_TABLE) -> None:
    """The event pipeline's status table: string hash key ``message_id``, on demand."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def event(
    event_type: str,
    *,
    message_id: str,
    recipients: Sequence[str],
    sent_at: str,
    slice_name: str = "at-de",
    configuration_set: str = "transactional",
    idempotency_key: str = "k-1",
    bounce_type: str = "Permanent",
    bounce_subtype: str = "General",
    diagnostic_code: str = "smtp; 550 5.1.1 user unknown",
) -> dict[str, Any]:
    """An SES event of ``event_type`` for ``recipients`` of message ``message_id``."""
    tags = {
        "ses:configuration-set": [configuration_set],
        "slice": [slice_name],
        "lane": ["transactional"],
        "idempotency_key": [idempotency_key],
    }
    body = ses_event(
        event_type, messageId=message_id, destination=list(recipients), timestamp=sent_at, tags=tags
    )
    if event_type == "Bounce":
        body["bounce"].update(bounceType=bounce_type, bounceSubType=bounce_subtype)
        status = "5.1.1" if bounce_type == "Permanent" else "4.2.2"
        body["bounce"]["bouncedRecipients"] = [
            {"emailAddress": r, "action": "failed", "status": status, "diagnosticCode": diagnostic_code}
            for r in recipients
        ]
    elif event_type == "Complaint":
        body["complaint"]["complainedRecipients"] = [{"emailAddress": r} for r in recipients]
    elif event_type == "Delivery":
        body["delivery"]["recipients"] = list(recipients)
    return body


def write(
    dynamodb: Any, *events: dict[str, Any], table: str = STATUS_TABLE, now: float = 1_772_366_400.0
) -> None:
    store = StatusStore(dynamodb, table, ttl_seconds=30 * 86400, history_limit=10)
    for body in events:
        store.record(parse_message(json.dumps(body)), now)

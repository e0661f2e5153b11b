"""Event logger, pure parts: typed wrappers per SES event type, malformed input, the log line, the
fast-path write and the EMF documents."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.event_logger import events
from functions.event_logger.events import MalformedEvent, parse_message, parse_record
from functions.event_logger.handler import LoggerConfig, event_id, format_line, status_message
from functions.event_logger.metrics import BatchMetrics
from functions.event_logger.status import RECIPIENTS_PER_WRITE, chunks, fast_update
from tests.support.ses_events import FIXTURES, MESSAGE_ID, RECIPIENT, record, ses_event

EVENT_TIMES = {
    "Send": "2026-03-01T12:00:00.000Z", "Reject": "2026-03-01T12:00:00.000Z",
    "Rendering Failure": "2026-03-01T12:00:00.000Z", "Delivery": "2026-03-01T12:00:01.950Z",
    "Bounce": "2026-03-01T12:00:05.120Z", "Open": "2026-03-01T12:05:00.000Z",
    "Click": "2026-03-01T12:06:00.000Z", "Subscription": "2026-03-01T12:07:00.000Z",
    "DeliveryDelay": "2026-03-01T12:10:00.000Z", "Complaint": "2026-03-01T14:30:00.000Z",
}  # fmt: skip


@pytest.mark.parametrize("event_type", sorted(FIXTURES))
def test_every_ses_event_type_parses_into_its_own_wrapper(event_type: str) -> None:
    event = parse_record(record(ses_event(event_type)))
    assert type(event) is events.EVENT_TYPES[event_type]
    assert (event.event_type, event.message_id, event.recipients) == (event_type, MESSAGE_ID, (RECIPIENT,))
    assert event.timestamp == EVENT_TIMES[event_type]


def test_rendering_failure_keeps_the_ses_spelling_with_a_space() -> None:
    event = parse_message(json.dumps(ses_event("Rendering Failure")))
    assert isinstance(event, events.RenderingFailure)
    assert event.event_type == "Rendering Failure"
    assert event.status_fields(RECIPIENT)["template_name"] == "order_shipped"


def test_the_platform_tags_and_the_configuration_set_are_read_from_mail_tags() -> None:
    event = parse_record(record(ses_event("Delivery")))
    assert (event.configuration_set, event.slice_name, event.lane, event.idempotency_key) == (
        "transactional", "at-de", "transactional", "order-4711-shipped",
    )  # fmt: skip
    assert event.custom_tags == {
        "idempotency_key": "order-4711-shipped",
        "slice": "at-de",
        "lane": "transactional",
    }


def test_a_bounce_carries_type_subtype_status_and_diagnostic_code_per_recipient() -> None:
    event = parse_record(record(ses_event("Bounce")))
    assert isinstance(event, events.Bounce)
    assert event.status_fields(RECIPIENT) == {
        "bounce_type": "Permanent", "bounce_subtype": "General", "status": "5.1.1",
        "diagnostic_code": "smtp; 550 5.1.1 user unknown",
    }  # fmt: skip
    assert event.history_line() == "2026-03-01T12:00:05.120Z Bounce Permanent/General"


def test_recipients_are_lower_cased_deduplicated_and_stripped_of_display_names() -> None:
    event = parse_message(
        json.dumps(ses_event("Send", destination=["A@X.example", "Ann <a@x.example>", "b@y.example"]))
    )
    assert event.recipients == ("a@x.example", "b@y.example")


def test_message_level_events_concern_every_destination_and_bounces_only_the_bounced() -> None:
    destination = ["a@x.example", "b@y.example"]
    assert parse_message(json.dumps(ses_event("Open", destination=destination))).recipients == tuple(
        destination
    )
    assert parse_message(json.dumps(ses_event("Bounce", destination=destination))).recipients == (RECIPIENT,)


SEND, DELIVERY, BOUNCE = ses_event("Send"), ses_event("Delivery"), ses_event("Bounce")
MALFORMED = {
    "not-sns": ({"EventSource": "aws:sqs", "body": "{}"}, events.NOT_SNS),
    "no-message": (record(None), events.NO_MESSAGE),
    "not-json": (record("this is not json"), events.NOT_JSON),
    "json-array": (record("[1, 2]"), events.NOT_JSON),
    "unknown-type": (record({**SEND, "eventType": "Sent"}), events.UNKNOWN_TYPE),
    "no-type": (record({"mail": SEND["mail"], "send": {}}), events.UNKNOWN_TYPE),
    "empty-message-id": (record({**SEND, "mail": {**SEND["mail"], "messageId": ""}}), events.NO_MESSAGE_ID),
    "no-mail": (record({"eventType": "Send", "send": {}}), events.NO_MESSAGE_ID),
    "bad-timestamp": (record({**DELIVERY, "delivery": {"timestamp": "yesterday"}}), events.BAD_FIELD),
    "bad-recipients": (
        record({**BOUNCE, "bounce": {"bouncedRecipients": "x", "timestamp": EVENT_TIMES["Bounce"]}}),
        events.BAD_FIELD,
    ),
}


@pytest.mark.parametrize(("item", "reason"), list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_input_is_refused_with_a_reason_code(item: dict[str, Any], reason: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        parse_record(item)
    assert caught.value.reason == reason


def test_an_identity_notification_is_refused_with_a_hint() -> None:
    legacy = {"notificationType": "Bounce", "mail": ses_event("Bounce")["mail"], "bounce": {}}
    with pytest.raises(MalformedEvent, match="configuration set's event destination"):
        parse_message(json.dumps(legacy))


def test_the_log_line_names_type_message_slice_configuration_set_recipients_bounce_and_tags() -> None:
    line = json.loads(format_line(parse_record(record(ses_event("Bounce"))), status="applied"))
    assert line["event"] == "ses_event"
    expected = {
        "event_type": "Bounce", "message_id": MESSAGE_ID, "slice": "at-de",
        "configuration_set": "transactional", "recipients": [RECIPIENT],
        "bounce_type": "Permanent", "bounce_subtype": "General",
        "diagnostic_code": "smtp; 550 5.1.1 user unknown", "idempotency_key": "order-4711-shipped",
    }  # fmt: skip
    assert {k: line[k] for k in expected} == expected
    assert line["tags"]["idempotency_key"] == "order-4711-shipped"


def test_the_fast_path_is_one_update_conditioned_on_each_recipients_rank() -> None:
    event = parse_record(record(ses_event("Delivery")))
    kwargs = fast_update(event, event.recipients, table="t", expires_at=99, history_limit=10)
    assert kwargs["Key"] == {"message_id": {"S": MESSAGE_ID}}
    assert kwargs["ExpressionAttributeNames"]["#r0"] == f"rcpt:{RECIPIENT}"
    assert "#r0.#k < :k" in kwargs["ConditionExpression"]
    assert kwargs["ExpressionAttributeValues"][":k"] == {"N": "30"}
    assert kwargs["ExpressionAttributeValues"][":ttl"] == {"N": "99"}


def test_fifty_recipients_fit_in_four_writes_with_expressions_under_4_kb() -> None:
    destination = [f"user{i}@example.com" for i in range(50)]
    event = parse_message(json.dumps(ses_event("Send", destination=destination)))
    groups = chunks(event.recipients)
    assert [len(g) for g in groups] == [RECIPIENTS_PER_WRITE] * 3 + [2]
    kwargs = fast_update(event, groups[0], table="t", expires_at=1, history_limit=10)
    assert len(kwargs["UpdateExpression"]) < 4096
    assert len(kwargs["ConditionExpression"]) < 4096


def test_ranks_order_the_final_states_above_delivery() -> None:
    rank = {name: cls.state_rank for name, cls in events.EVENT_TYPES.items()}
    assert rank["Send"] < rank["DeliveryDelay"] < rank["Delivery"] < rank["Open"] < rank["Click"]
    assert rank["Click"] < rank["Reject"] == rank["Rendering Failure"] < rank["Bounce"] < rank["Complaint"]


def test_the_event_id_is_the_same_for_a_redelivered_event_and_differs_between_events() -> None:
    first = parse_record(record(ses_event("Open"), sns_message_id="sns-1"))
    again = parse_record(record(ses_event("Open"), sns_message_id="sns-2"))
    other = parse_record(record(ses_event("Click")))
    assert event_id(first) == event_id(again) != event_id(other)
    body = json.loads(status_message(first))
    assert body["recipients"] == {RECIPIENT: {"state": "Open"}}
    assert body["idempotency_key"] == "order-4711-shipped"


def test_emf_documents_carry_both_dimension_sets_and_a_dimensionless_malformed_count() -> None:
    metrics = BatchMetrics()
    metrics.event("transactional", "at-de", "Bounce", 2)
    metrics.event("transactional", "at-de", "Bounce", 1)
    metrics.malformed["NOT_JSON"] += 1
    events_doc, malformed_doc = metrics.documents("SesPlatform/Events", 1000)
    directive = events_doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "SesPlatform/Events"
    assert directive["Dimensions"] == [["ConfigurationSet", "EventType"], ["Slice", "EventType"]]
    assert (events_doc["Events"], events_doc["Recipients"], events_doc["EventType"]) == (2, 3, "Bounce")
    assert malformed_doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]
    assert malformed_doc["MalformedEvents"] == 1


def test_config_reads_the_environment_with_defaults() -> None:
    config = LoggerConfig.from_env({"STATUS_TABLE": "s", "STATUS_QUEUE_URL": ""})
    assert config == LoggerConfig(status_table="s")
    assert config.status_ttl_seconds == 30 * 86400
    assert config.metrics_namespace == "SesPlatform/Events"

"""The event logger on moto: the real handler, boto3 DynamoDB and SQS clients, EMF read back from
the log stream. Status transitions, out-of-order and duplicate events, malformed records, a batch
mixing good and bad records, the status queue, and write counts."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.event_logger.handler import EventBatchError, LoggerConfig, LoggerDeps, handle_batch
from functions.event_logger.status import HASH_KEY, StatusStore, read_status
from tests.support.clock import ManualClock
from tests.support.ses_events import MESSAGE_ID, RECIPIENT, batch, record, ses_event

REGION = "eu-central-1"
TABLE = "example-ses-event-status"
NOW = 1_772_366_400.0  # 2026-03-01T12:00:00Z
TTL_SECONDS = 7 * 86400


class CountingDynamoDb:
    """The moto client, counting UpdateItem requests and the ones that wrote."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests = 0
        self.writes = 0

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests += 1
        result: dict[str, Any] = self.client.update_item(**kwargs)
        self.writes += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@dataclass
class Logger:
    dynamodb: CountingDynamoDb
    sqs: Any
    queue_url: str
    out: io.StringIO
    config: LoggerConfig

    def run(self, *records: dict[str, Any]) -> dict[str, int]:
        deps = LoggerDeps(store=self.store(), clock=ManualClock(NOW), sqs=self.sqs, stream=self.out)
        return handle_batch(batch(*records), deps, self.config)

    def store(self) -> StatusStore:
        return StatusStore(
            self.dynamodb, TABLE, ttl_seconds=TTL_SECONDS, history_limit=self.config.history_limit
        )

    def status(self, message_id: str = MESSAGE_ID) -> dict[str, Any]:
        item = self.dynamodb.get_item(TableName=TABLE, Key={HASH_KEY: {"S": message_id}}).get("Item")
        return read_status(item) if item else {}

    def state(self, recipient: str = RECIPIENT) -> str:
        return str(self.status()["recipients"][recipient]["state"])

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def queued(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        return [json.loads(m["Body"]) for m in got.get("Messages", [])]


@pytest.fixture
def logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[Logger]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName="example-ses-event-status")["QueueUrl"]
        config = LoggerConfig(status_table=TABLE, status_queue_url=url, status_ttl_seconds=TTL_SECONDS)
        yield Logger(CountingDynamoDb(dynamodb), sqs, url, io.StringIO(), config)


def event(event_type: str, sns_message_id: str = "sns-1", **mail: Any) -> dict[str, Any]:
    return record(ses_event(event_type, **mail), sns_message_id)


def test_events_in_order_move_the_status_forward_with_one_write_each(logger: Logger) -> None:
    for event_type in ("Send", "Delivery", "Open", "Click"):
        logger.run(event(event_type))
        assert logger.state() == event_type
    assert (logger.dynamodb.requests, logger.dynamodb.writes) == (4, 4)
    history = logger.status()["recipients"][RECIPIENT]["history"]
    assert [line.split(" ", 1)[1] for line in history] == ["Send", "Delivery", "Open", "Click"]


def test_a_late_delivery_does_not_hide_a_bounce(logger: Logger) -> None:
    logger.run(event("Send"), event("Bounce"))
    logger.run(event("Delivery"))
    status = logger.status()["recipients"][RECIPIENT]
    assert status["state"] == "Bounce"
    assert status["diagnostic_code"] == "smtp; 550 5.1.1 user unknown"
    assert any(line.endswith(" Delivery") for line in status["history"])  # the trail keeps it


def test_a_redelivered_event_writes_nothing_and_changes_nothing(logger: Logger) -> None:
    logger.run(event("Send"), event("Delivery"))
    before, writes = logger.status(), logger.dynamodb.writes
    counts = logger.run(event("Delivery", sns_message_id="sns-redelivered"))
    assert counts["duplicates"] == 1
    assert logger.dynamodb.writes == writes
    assert logger.status() == before


@pytest.mark.parametrize(
    "order", list(itertools.permutations(("Send", "Delivery", "Open", "Bounce"))), ids="-".join
)
def test_any_arrival_order_ends_in_the_same_status(logger: Logger, order: tuple[str, ...]) -> None:
    for event_type in order:
        logger.run(event(event_type))
    status = logger.status()["recipients"][RECIPIENT]
    assert (status["state"], status["at"], status["bounce_type"]) == (
        "Bounce",
        "2026-03-01T12:00:05.120Z",
        "Permanent",
    )
    assert sorted(line.split(" ")[1] for line in status["history"]) == sorted(order)


def test_a_complaint_after_a_bounce_wins_and_a_later_open_does_not_undo_it(logger: Logger) -> None:
    logger.run(event("Bounce"), event("Complaint"), event("Open"))
    assert logger.state() == "Complaint"


def test_repeated_opens_keep_the_latest_time_and_the_history_is_capped(logger: Logger) -> None:
    logger.config = LoggerConfig(status_table=TABLE, history_limit=3)
    opens = [ses_event("Open") for _ in range(5)]
    for i, item in enumerate(opens):
        item["open"]["timestamp"] = f"2026-03-01T12:0{5 + i}:00.000Z"
        logger.run(record(item))
    status = logger.status()["recipients"][RECIPIENT]
    assert status["at"] == "2026-03-01T12:09:00.000Z"
    assert status["history"] == [f"2026-03-01T12:0{m}:00.000Z Open" for m in (7, 8, 9)]


def test_each_recipient_has_its_own_entry_and_a_bounce_touches_only_its_recipient(logger: Logger) -> None:
    destination = [f"user{i}@example.com" for i in range(20)]
    bounce = ses_event("Bounce", destination=destination)
    bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] = "user7@example.com"
    logger.run(event("Send", destination=destination), record(bounce))
    recipients = logger.status()["recipients"]
    assert len(recipients) == 20
    assert recipients["user7@example.com"]["state"] == "Bounce"
    assert {v["state"] for k, v in recipients.items() if k != "user7@example.com"} == {"Send"}
    assert logger.dynamodb.writes == 3  # the Send in two chunks (16 + 4), the Bounce in one


def test_the_item_keeps_the_message_tags_and_expires_ttl_seconds_after_the_latest_write(
    logger: Logger,
) -> None:
    logger.run(event("Send"))
    status = logger.status()
    assert {k: status[k] for k in ("configuration_set", "slice", "lane", "idempotency_key")} == {
        "configuration_set": "transactional", "slice": "at-de", "lane": "transactional",
        "idempotency_key": "order-4711-shipped",
    }  # fmt: skip
    item = logger.dynamodb.get_item(TableName=TABLE, Key={HASH_KEY: {"S": MESSAGE_ID}})["Item"]
    assert item["expires_at"] == {"N": str(int(NOW) + TTL_SECONDS)}


def test_a_batch_mixing_good_and_bad_records_records_the_good_and_logs_the_bad(logger: Logger) -> None:
    counts = logger.run(event("Send"), record("not json"), record(None), event("Delivery"),
                        record({**ses_event("Open"), "eventType": "Opened"}))  # fmt: skip
    assert counts == {"events": 2, "duplicates": 0, "malformed": 3, "errors": 0}
    assert logger.state() == "Delivery"
    lines = logger.lines()
    malformed = [line for line in lines if line.get("event") == "malformed_event"]
    assert [m["reason"] for m in malformed] == ["NOT_JSON", "NO_SNS_MESSAGE", "UNKNOWN_EVENT_TYPE"]
    assert all(m["level"] == "ERROR" for m in malformed)
    assert "not json" in malformed[0]["record"]  # the raw record, as received
    emf = [line for line in lines if "MalformedEvents" in line]
    assert emf[0]["MalformedEvents"] == 3
    assert emf[0]["MalformedReasons"] == {"NOT_JSON": 1, "NO_SNS_MESSAGE": 1, "UNKNOWN_EVENT_TYPE": 1}


def test_every_event_gets_one_log_line_and_emf_counts_by_slice_and_configuration_set(logger: Logger) -> None:
    logger.run(event("Send"), event("Delivery"), event("Delivery", sns_message_id="again"))
    lines = logger.lines()
    assert [(x["event_type"], x["status"]) for x in lines if x.get("event") == "ses_event"] == [
        ("Send", "applied"), ("Delivery", "applied"), ("Delivery", "duplicate"),
    ]  # fmt: skip
    delivery = next(x for x in lines if x.get("EventType") == "Delivery")
    assert (delivery["ConfigurationSet"], delivery["Slice"], delivery["Events"]) == (
        "transactional",
        "at-de",
        2,
    )


def test_the_status_queue_gets_each_event_with_a_stable_event_id(logger: Logger) -> None:
    logger.run(event("Send"), event("Bounce"), event("Bounce", sns_message_id="redelivered"))
    messages = logger.queued()
    assert [m["event_type"] for m in messages] == ["Send", "Bounce", "Bounce"]
    assert messages[1]["event_id"] == messages[2]["event_id"] != messages[0]["event_id"]
    assert messages[1]["recipients"][RECIPIENT]["bounce_type"] == "Permanent"


def test_a_failing_table_fails_the_invocation_after_the_rest_of_the_batch(logger: Logger) -> None:
    table_gone = StatusStore(logger.dynamodb, "no-such-table", ttl_seconds=60, history_limit=10)
    deps = LoggerDeps(store=table_gone, clock=ManualClock(NOW), stream=logger.out)
    with pytest.raises(EventBatchError, match="2 event"):
        handle_batch(batch(event("Send"), record("bad"), event("Delivery")), deps, logger.config)
    lines = logger.lines()
    assert [x["status"] for x in lines if x.get("event") == "ses_event"] == ["error", "error"]
    assert next(x for x in lines if "EventErrors" in x)["EventErrors"] == 2

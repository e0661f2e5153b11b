"""``ses-ops smoke-send`` end to end on moto: the CLI enqueues through the producer onto a real
(moto) SQS lane, the real sender handler sends to a fake SES mailbox simulator and records the
SES message id in the (moto) state table, a fake event flow writes what the simulator would
publish through the event logger's status store, and the CLI reports what arrived."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.ops.cli import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, Io, main
from functions.sender.handler import SenderConfig, SenderDeps, handle_batch
from functions.sender.idempotency import DynamoDbIdempotencyStore
from tests.support.aws import create_state_table
from tests.support.clock import ManualClock
from tests.support.ledger_table import in_memory_limiter
from tests.support.status_items import create_status_table, event, write

REGION = "eu-central-1"
QUEUE = "example-at-de-transactional"
STATE_TABLE = "example-ses-sending-state"
STATUS_TABLE = "example-ses-event-status"
T0 = 1_772_366_400.0


class SimulatorSes:
    """SES with the mailbox simulator's answers: accepts, then (via ``publish``) its events."""

    def __init__(self, dynamodb: Any, drop: frozenset[str]) -> None:
        self.dynamodb = dynamodb
        self.drop = drop  # simulator addresses whose final event never arrives
        self.sent: list[tuple[str, str, str]] = []

    def send_email(self, **kwargs: Any) -> dict[str, str]:
        message_id = f"0102-smoke-{len(self.sent)}"
        key = next(t["Value"] for t in kwargs["EmailTags"] if t["Name"] == "idempotency_key")
        self.sent.append((message_id, kwargs["Destination"]["ToAddresses"][0], key))
        return {"MessageId": message_id}

    def publish(self) -> None:
        for message_id, address, key in self.sent:
            common = {
                "message_id": message_id,
                "recipients": [address],
                "sent_at": "2026-03-01T12:00:00.000Z",
                "idempotency_key": key,
            }
            events = [event("Send", **common)]
            if address not in self.drop:
                kind = address.partition("@")[0]
                if kind in ("success", "complaint"):
                    events.append(event("Delivery", **common))
                if kind == "complaint":
                    events.append(event("Complaint", **common))
                if kind == "bounce":
                    events.append(event("Bounce", **common))
                if kind == "suppressionlist":
                    events.append(event("Bounce", bounce_subtype="OnAccountSuppressionList", **common))
            write(self.dynamodb, *events, table=STATUS_TABLE)


class Platform:
    """The slice's sender and the event flow, advanced whenever the CLI sleeps between looks."""

    def __init__(self, sqs: Any, dynamodb: Any, drop: frozenset[str]) -> None:
        self.sqs, self.dynamodb = sqs, dynamodb
        self.queue_url = sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]
        self.queue_arn = sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        self.ses = SimulatorSes(dynamodb, drop)
        self.t = T0
        self.rounds = 0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.0)
        self.rounds += 1
        if self.rounds == 1:  # the sender drains the lane
            self._send()
        elif self.rounds == 2:  # SES publishes, the event logger writes
            self.ses.publish()

    def _send(self) -> None:
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSourceARN": self.queue_arn,
            }
            for m in received.get("Messages", [])
        ]
        assert records, "the CLI should have enqueued the smoke messages"
        config = SenderConfig(
            slice_name="at-de",
            dlq_url="unused",
            queue_urls={self.queue_arn: self.queue_url},
            configuration_set="transactional",
            allowed_from_domains=frozenset({"news.example.at"}),
        )
        deps = SenderDeps(
            ses=self.ses,
            sqs=self.sqs,
            limiter=in_memory_limiter(100),
            store=DynamoDbIdempotencyStore(self.dynamodb, STATE_TABLE, "at-de"),
            clock=ManualClock(self.t),  # the sender's own: its waits must not advance the CLI's rounds
        )
        assert handle_batch({"Records": records}, deps, config) == {"batchItemFailures": []}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        sqs = boto3.client("sqs", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        sqs.create_queue(QueueName=QUEUE)
        create_state_table(dynamodb, STATE_TABLE)
        create_status_table(dynamodb, STATUS_TABLE)
        yield sqs, dynamodb


def _run(aws: tuple[Any, Any], *extra: str, drop: frozenset[str] = frozenset()) -> tuple[int, str, Platform]:
    sqs, dynamodb = aws
    platform = Platform(sqs, dynamodb, drop)
    out, err = io.StringIO(), io.StringIO()
    clients = {"sqs": sqs, "dynamodb": dynamodb}
    code = main(
        [
            "smoke-send",
            "--env",
            "example",
            "--slice",
            "at-de",
            "--from",
            "Smoke <smoke@news.example.at>",
            "--region",
            REGION,
            "--timeout",
            "60",
            "--interval",
            "5",
            "--no-progress",
            *extra,
        ],
        Io(stdout=out, stderr=err, clock=platform, aws=lambda _args, service: clients[service]),
    )
    return code, out.getvalue(), platform


def test_every_simulator_event_arrives_and_the_run_exits_0(aws: tuple[Any, Any]) -> None:
    code, out, platform = _run(aws, "--json")
    document = json.loads(out)
    assert code == EXIT_OK
    assert document["passed"] is True
    seen = {p["scenario"]: (p["state"], p["outcome"]) for p in document["probes"]}
    assert seen == {
        "success": ("Delivery", "arrived"),
        "bounce": ("Bounce", "arrived"),
        "complaint": ("Complaint", "arrived"),
        "suppressionlist": ("Bounce", "arrived"),
    }
    assert {address for _, address, _ in platform.ses.sent} == {
        f"{kind}@simulator.amazonses.com" for kind in ("success", "bounce", "complaint", "suppressionlist")
    }


def test_an_event_that_does_not_arrive_in_time_is_named_and_the_run_exits_1(aws: tuple[Any, Any]) -> None:
    code, out, platform = _run(aws, drop=frozenset({"complaint@simulator.amazonses.com"}))
    assert code == EXIT_ATTENTION
    complaint = next(line for line in out.splitlines() if "complaint" in line)
    assert complaint.startswith("WAITING")
    assert "seen Send" in complaint
    assert "smoke-send: 1 of 4 did not arrive as expected" in out
    assert platform.t - T0 >= 60  # it waited the whole timeout


def test_only_the_scenarios_asked_for_are_sent(aws: tuple[Any, Any]) -> None:
    code, _, platform = _run(aws, "--scenario", "bounce")
    assert code == EXIT_OK
    assert [address for _, address, _ in platform.ses.sent] == ["bounce@simulator.amazonses.com"]


def test_a_from_address_outside_the_contract_is_bad_input(aws: tuple[Any, Any]) -> None:
    sqs, dynamodb = aws
    err = io.StringIO()
    code = main(
        ["smoke-send", "--env", "example", "--slice", "at-de", "--from", "not an address"],
        Io(stdout=io.StringIO(), stderr=err, aws=lambda _a, s: {"sqs": sqs, "dynamodb": dynamodb}[s]),
    )
    assert code == EXIT_USAGE
    assert "INVALID_ADDRESS" in err.getvalue()

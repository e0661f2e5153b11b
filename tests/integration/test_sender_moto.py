"""The sender end-to-end on moto: SQS lanes with a redrive policy, the DynamoDB state table, SESv2.

The real handler with real boto3 clients, ``DynamoDbLimiter`` and ``DynamoDbIdempotencyStore``
and the real clock (rate 1 000/s: nobody waits). This file plays Lambda's event source mapping:
receive up to 10, build the SQS event, call ``handle_batch``, delete what it did not hand back.
A Lambda that dies on a message (say, out of memory) deletes nothing; instead of waiting out the
visibility timeout in real time the poller here makes such a batch visible again at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from functions.common.clock import SystemClock
from functions.sender import producer
from functions.sender.handler import SenderConfig, SenderDeps, handle_batch
from functions.sender.idempotency import DynamoDbIdempotencyStore
from functions.sender.limiter import DynamoDbLimiter
from tests.support.aws import create_state_table
from tests.support.scenarios import DOMAIN, FROM, malformed_messages

pytestmark = pytest.mark.slow  # minutes on a 2-core machine: make test-fast leaves it out

REGION = "eu-central-1"
TABLE = "example-media-eu-central-1-state"
SLICE = "at-de"
MAX_RECEIVE_COUNT = 5
OOM = "oom@example.com"  # the Lambda dies whenever this message is in its batch
ALWAYS_500 = "always-500@example.com"  # SES answers HTTP 500 for this recipient, every time


class FailingSes:
    """The real sesv2 client, except HTTP 500 InternalFailure whenever ALWAYS_500 is a recipient."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.refused = 0

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        destination = kwargs.get("Destination", {})
        if any(ALWAYS_500 in addresses for addresses in destination.values()):
            self.refused += 1
            raise ClientError(
                {
                    "Error": {"Code": "InternalFailure", "Message": "Internal service error."},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "SendEmail",
            )
        result: dict[str, Any] = self.client.send_email(**kwargs)
        return result


@dataclass
class Slice:
    sqs: Any
    dynamodb: Any
    lanes: dict[str, tuple[str, str]]  # lane → (url, arn)
    dlq_url: str
    deps: SenderDeps
    config: SenderConfig
    ses: FailingSes
    crashes: int = 0
    invocations: int = 0
    receives: dict[str, list[int]] = field(default_factory=dict)  # body marker → receive counts

    def poll_once(self, lane: str) -> int:
        """One event source mapping poll + invocation; returns the number of records."""
        url, arn = self.lanes[lane]
        response = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        self.invocations += 1
        for m in messages:
            for marker in (OOM, ALWAYS_500):
                if marker in m["Body"]:
                    self.receives.setdefault(marker, []).append(
                        int(m["Attributes"]["ApproximateReceiveCount"])
                    )
        if any(OOM in m["Body"] for m in messages):  # the runtime dies: nothing is deleted
            self.crashes += 1
            for m in messages:  # fast-forward their visibility timeout instead of sleeping
                self.sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            return len(messages)
        event = {"Records": [lambda_record(m, arn) for m in messages]}
        result = handle_batch(event, self.deps, self.config)
        failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        return len(messages)

    def drain(self, max_polls: int = 400) -> None:
        """Poll both lanes until a whole round finds nothing (or ``max_polls`` invocations)."""
        for _ in range(max_polls):
            if sum(self.poll_once(lane) for lane in self.lanes) == 0:
                return

    def dead_letters(self) -> list[dict[str, Any]]:
        out = []
        while True:
            response = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=600,
            )
            batch = response.get("Messages", [])
            if not batch:
                return out
            out += batch


def lambda_record(message: dict[str, Any], arn: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": {},
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": REGION,
    }


@pytest.fixture
def slice_(monkeypatch: pytest.MonkeyPatch) -> Iterator[Slice]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield build_slice()


def build_slice() -> Slice:
    """Queues with a redrive policy, the state table with TTL, a verified domain; the sender's deps."""
    sqs = boto3.client("sqs", region_name=REGION)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    sesv2 = boto3.client("sesv2", region_name=REGION)
    dlq_url = sqs.create_queue(QueueName=f"{SLICE}-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    lanes = {}
    for lane in ("transactional", "bulk"):
        url = sqs.create_queue(
            QueueName=f"{SLICE}-{lane}",
            Attributes={
                "VisibilityTimeout": "361",
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                ),
            },
        )["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        lanes[lane] = (url, arn)
    create_state_table(dynamodb, TABLE)
    sesv2.create_email_identity(EmailIdentity=DOMAIN)
    ses = FailingSes(sesv2)
    config = SenderConfig(
        slice_name=SLICE,
        dlq_url=dlq_url,
        queue_urls={arn: url for url, arn in lanes.values()},
        allowed_from_domains=frozenset({DOMAIN}),
        max_receive_count=MAX_RECEIVE_COUNT,
        backoff_base_seconds=0,  # hand back visible at once: the test runs on the real clock
    )
    deps = SenderDeps(
        ses=ses,
        sqs=sqs,
        limiter=DynamoDbLimiter(dynamodb, TABLE, SLICE, 1000, account_rate_per_second=1000),
        store=DynamoDbIdempotencyStore(dynamodb, TABLE, SLICE),
        clock=SystemClock(),
    )
    return Slice(sqs, dynamodb, lanes, dlq_url, deps, config, ses)


def produce(slice_: Slice) -> dict[str, int]:
    """~300 messages with the producer helper; returns idempotency key → recipients."""
    expected: dict[str, int] = {}
    batches = [
        # a newsletter to 480 subscribers: the producer splits it into ten messages of ≤ 50
        producer.build_messages(
            from_address=FROM,
            recipients=[f"sub{i}@example.com" for i in range(480)],
            idempotency_key_prefix="newsletter-2026-10",
            subject="October",
            text="news",
            lane="bulk",
            as_bcc=True,
        )
    ]
    for i in range(280):
        recipients = [f"user{i}-{j}@example.com" for j in range(1 + (i % 7 == 0) * (i % 5))]
        kind = (
            {"text": "hi"} if i % 10 else {"raw": f"From: {FROM}\r\nSubject: r{i}\r\n\r\nbody\r\n".encode()}
        )
        batches.append(
            producer.build_messages(
                from_address=FROM,
                recipients=recipients,
                idempotency_key_prefix=f"order-{i}",
                lane="bulk" if i % 3 else "transactional",
                **({"subject": "Order"} if "text" in kind else {}),
                **kind,
            )
        )
    for messages in batches:
        lane = messages[0]["lane"]
        producer.send_to_queue(slice_.sqs, slice_.lanes[lane][0], messages)
        expected.update({m["idempotency_key"]: len(m.get("to", m.get("bcc", []))) for m in messages})
    # the application enqueues 20 of them twice
    again = [m for messages in batches[1:21] for m in messages]
    producer.send_to_queue(slice_.sqs, slice_.lanes["bulk"][0], again)
    return expected


def sent_messages() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_every_message_is_sent_once_and_bad_ones_are_dead_lettered_with_their_reason(slice_: Slice) -> None:
    expected = produce(slice_)
    malformed = {body: code for _, body, code in malformed_messages()}
    for i, body in enumerate(malformed):
        slice_.sqs.send_message(
            QueueUrl=slice_.lanes["bulk" if i % 2 else "transactional"][0], MessageBody=body
        )

    slice_.drain()

    store = slice_.deps.store
    records = {key: store.get(key) for key in expected}
    assert {key for key, r in records.items() if r is None or r.state != "SENT"} == set()
    sent = sent_messages()
    assert sorted(m.id for m in sent) == sorted(r.ses_message_id for r in records.values())  # once each
    quota = boto3.client("ses", region_name=REGION).get_send_quota()
    assert quota["SentLast24Hours"] == sum(expected.values())
    dead = slice_.dead_letters()
    reasons = {m["Body"]: m["MessageAttributes"]["reason_code"]["StringValue"] for m in dead}
    assert reasons == malformed
    assert len(dead) == len(malformed)
    for lane in slice_.lanes.values():
        attributes = slice_.sqs.get_queue_attributes(QueueUrl=lane[0], AttributeNames=["All"])["Attributes"]
        assert attributes["ApproximateNumberOfMessages"] == "0"
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_message_that_kills_the_sender_is_redriven_after_max_receive_count(slice_: Slice) -> None:
    [poison] = producer.build_messages(
        from_address=FROM, recipients=[OOM], idempotency_key_prefix="poison", subject="s", text="t"
    )
    url = slice_.lanes["transactional"][0]
    producer.send_to_queue(slice_.sqs, url, [poison])

    slice_.drain()

    assert slice_.receives[OOM] == list(range(1, MAX_RECEIVE_COUNT + 1))
    assert slice_.crashes == MAX_RECEIVE_COUNT
    [dead] = slice_.dead_letters()
    assert json.loads(dead["Body"])["idempotency_key"] == "poison-0"
    assert "reason_code" not in dead.get("MessageAttributes", {})  # moved by SQS, not by the sender
    assert slice_.deps.store.get("poison-0") is None  # it never reached a send
    assert sent_messages() == []


def test_a_message_ses_always_refuses_with_5xx_is_retried_never_sent_and_never_lost(slice_: Slice) -> None:
    [message] = producer.build_messages(
        from_address=FROM, recipients=[ALWAYS_500], idempotency_key_prefix="flaky", subject="s", text="t"
    )
    url = slice_.lanes["transactional"][0]
    producer.send_to_queue(slice_.sqs, url, [message])

    dead: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20  # held copies come back after DelaySeconds=1; each try waits for a slot
    while not dead and slice_.ses.refused < 2 * MAX_RECEIVE_COUNT and time.monotonic() < deadline:
        if not slice_.poll_once("transactional"):
            time.sleep(0.05)
        attributes = slice_.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        in_queue = sum(
            int(attributes[f"ApproximateNumberOf{kind}"])
            for kind in ("Messages", "MessagesNotVisible", "MessagesDelayed")
        )
        dead += slice_.dead_letters()
        assert in_queue + len(dead) == 1  # never lost, never copied

    assert sent_messages() == []
    assert slice_.ses.refused >= MAX_RECEIVE_COUNT
    assert max(slice_.receives[ALWAYS_500]) < MAX_RECEIVE_COUNT  # the sender never burns the last receive
    record = slice_.deps.store.get("flaky-0")
    assert record is not None
    assert record.state != "SENT"

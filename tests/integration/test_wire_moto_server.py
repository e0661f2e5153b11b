"""The moto stand-in of the wire benchmarks: conditional writes atomic per item under concurrent
clients, and a long poll woken by a send. It runs as its own process on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.wire import ceiling
from tests.support.wire.resources import create_table, queue
from tests.support.wire.services import ProcessGroup


@pytest.fixture(scope="module")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    run_dir: Path = tmp_path_factory.mktemp("moto")
    with ProcessGroup(run_dir) as group:
        group.start(
            "moto",
            "tests.support.wire.moto_server",
            ["--port-file", str(run_dir / "port"), "--max-seconds", "300"],
            env={},
        )
        yield group.wait_for_file("moto", run_dir / "port")


def client(service: str, url: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def test_concurrent_conditional_writes_to_one_item_are_atomic(moto_url: str) -> None:
    table = create_table(client("dynamodb", moto_url), "atomic-state")

    probe = ceiling.conditional_increments(moto_url, table, seconds=1.5, processes=2, threads=3, hot=True)

    assert probe["errors"] == 0
    assert probe["successes"] > 0
    assert probe["final_version"] == probe["successes"]  # no lost update


def test_a_long_poll_returns_a_message_sent_while_it_waits(moto_url: str) -> None:
    sqs = client("sqs", moto_url)
    lane = queue(sqs, "long-poll")
    got: list[Any] = []
    poller = threading.Thread(
        target=lambda: got.extend(
            sqs.receive_message(QueueUrl=lane.url, WaitTimeSeconds=10).get("Messages", [])
        )
    )
    poller.start()
    time.sleep(0.5)

    client("sqs", moto_url).send_message(QueueUrl=lane.url, MessageBody="hello")
    poller.join(timeout=15)

    assert [m["Body"] for m in got] == ["hello"]


def test_every_message_goes_to_exactly_one_of_many_concurrent_receivers(moto_url: str) -> None:
    sqs = client("sqs", moto_url)
    lane = queue(sqs, "many-receivers")
    for start in range(0, 60, 10):
        sqs.send_message_batch(
            QueueUrl=lane.url,
            Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)],
        )
    received: list[str] = []
    lock = threading.Lock()

    def receive() -> None:
        mine = client("sqs", moto_url)
        for _ in range(10):
            batch = mine.receive_message(QueueUrl=lane.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            if not batch.get("Messages"):
                return  # the queue is empty for this receiver (the messages stay invisible once received)
            with lock:
                received.extend(m["Body"] for m in batch["Messages"])

    workers = [threading.Thread(target=receive) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)

    assert sorted(received) == sorted(f"m{i}" for i in range(60))


def sets_sorted(value: Any) -> Any:
    """DynamoDB sets have no order (moto's follows Python's string hashing, per process)."""
    if isinstance(value, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else sets_sorted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sets_sorted(v) for v in value]
    return value


def test_one_item_answers_written_fast_are_the_documents_moto_writes(moto_url: str) -> None:
    """The stand-in writes one-item results with ``json.dumps`` (moto's shape walk cost the wire
    benchmark more CPU than the reads themselves); every answer a client parses must be the one
    in-process moto gives, for every attribute type, binary ones (moto's own path) included."""
    item = {
        "pk": {"S": "ledger"}, "log": {"S": "1700000000000:3,1050:50"}, "version": {"N": "7"},
        "rate": {"N": "20.5"}, "flags": {"SS": ["a", "b"]}, "counts": {"NS": ["1", "2.5"]},
        "nested": {"M": {"l": {"L": [{"S": "x"}, {"N": "1"}, {"BOOL": True}, {"NULL": True}]}}},
        "empty": {"S": ""}, "blob": {"B": b"\x00\x01binary"},
    }  # fmt: skip
    calls: list[tuple[str, dict[str, Any]]] = [
        ("put_item", {"Item": item}),
        ("get_item", {"Key": {"pk": {"S": "ledger"}}, "ConsistentRead": True}),
        ("get_item", {"Key": {"pk": {"S": "absent"}}}),
        ("put_item", {"Item": {**item, "version": {"N": "8"}}, "ReturnValues": "ALL_OLD"}),
        (
            "update_item",
            {
                "Key": {"pk": {"S": "ledger"}},
                "UpdateExpression": "SET #v = :v REMOVE #b",
                "ExpressionAttributeNames": {"#v": "version", "#b": "blob"},
                "ExpressionAttributeValues": {":v": {"N": "9"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        (
            "update_item",
            {
                "Key": {"pk": {"S": "ledger"}},
                "UpdateExpression": "SET #r = :r",
                "ExpressionAttributeNames": {"#r": "rate"},
                "ExpressionAttributeValues": {":r": {"N": "3"}},
                "ReturnValues": "UPDATED_OLD",
            },
        ),
        ("get_item", {"Key": {"pk": {"S": "ledger"}}, "ProjectionExpression": "nested, flags"}),
        ("delete_item", {"Key": {"pk": {"S": "ledger"}}, "ReturnValues": "ALL_OLD"}),
    ]

    def answers(dynamodb: Any) -> list[dict[str, Any]]:
        table = create_table(dynamodb, "fast-results")
        out = []
        for operation, kwargs in calls:
            response = getattr(dynamodb, operation)(TableName=table, **kwargs)
            out.append({k: v for k, v in response.items() if k != "ResponseMetadata"})
        return sets_sorted(out)

    wire = answers(client("dynamodb", moto_url))
    with mock_aws():
        in_process = answers(boto3.client("dynamodb", region_name="eu-central-1"))

    assert wire == in_process
    assert wire[1]["Item"]["nested"]["M"]["l"]["L"][3] == {"NULL": True}  # the answers are not empty

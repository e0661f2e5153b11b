"""The heartbeat handler against moto (DynamoDB, SQS) and a fake SES GetAccount."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.common.ledger import LEDGER_PK, SLOT_MS, WINDOW_MS, read_ledger
from functions.heartbeat.handler import HeartbeatConfig, HeartbeatDeps, SliceConfig, tick
from tests.support.aws import create_state_table
from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes

T0 = 1_800_000_000.0
TABLE = "state"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-central-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        sqs = boto3.client("sqs")
        urls = {
            f"{s}-{lane}": sqs.create_queue(QueueName=f"{s}-{lane}")["QueueUrl"]
            for s in ("a", "b")
            for lane in ("transactional", "bulk")
        }
        yield {"dynamodb": dynamodb, "sqs": sqs, "urls": urls}


def config(urls: dict[str, str], **kwargs: Any) -> HeartbeatConfig:
    return HeartbeatConfig(
        state_table=TABLE,
        slices=(
            SliceConfig("a", 30, (urls["a-transactional"], urls["a-bulk"])),
            SliceConfig("b", 10, (urls["b-transactional"], urls["b-bulk"])),
        ),
        **kwargs,
    )


def ledger(aws: dict[str, Any]) -> dict[str, Any]:
    got = aws["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": LEDGER_PK}}, ConsistentRead=True)
    return dict(got.get("Item", {}))


def enqueue(aws: dict[str, Any], queue: str, n: int) -> None:
    for i in range(n):
        aws["sqs"].send_message(QueueUrl=aws["urls"][queue], MessageBody=f"m{i}")


def deps(aws: dict[str, Any], ses: FakeSes | None = None) -> HeartbeatDeps:
    return HeartbeatDeps(
        ses=ses or FakeSes(), sqs=aws["sqs"], dynamodb=aws["dynamodb"], clock=ManualClock(T0)
    )


def test_a_tick_writes_only_the_caps_and_never_the_senders_bookings(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    senders = {"pk": {"S": LEDGER_PK}, "log": {"S": "1:2"}, "version": {"N": "7"}, "expires_at": {"N": "9"},
               "mean:a": {"N": "3"}, "tat:a": {"N": "5"}}  # fmt: skip
    aws["dynamodb"].put_item(TableName=TABLE, Item=senders)
    enqueue(aws, "a-bulk", 30)
    enqueue(aws, "a-transactional", 5)
    result = tick(deps(aws), config(aws["urls"]), T0)
    assert result["backlog_messages"] == {"a": 35, "b": 0}
    assert result["backlog_recipients"] == {"a": 35 * 3.0, "b": 0}  # the senders' mean per message
    assert result["caps"] == {"a": pytest.approx(100), "b": 0}  # at once: safety is the ledger's
    item = ledger(aws)
    # the senders' attributes as they were; the version moves on (a sender puts the whole item it
    # read, so one that read before this tick must lose its race rather than put old caps back)
    assert {k: item[k] for k in senders} == senders | {"version": {"N": "8"}}
    assert item["cap:a"] == {"N": "100"}
    assert item["cap:b"] == {"N": "0"}
    assert (item["capacity"], item["caps_until"]) == ({"N": "100"}, {"N": str(int(T0 + 1))})
    assert item["quota"] == {"N": "100"}  # how full a slot may be: the SES quota itself
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "heartbeat_tick"
    assert line["caps"]["a"] == pytest.approx(100)


def test_a_slice_whose_messages_are_larger_than_its_cap_still_gets_its_cap(aws: dict[str, Any]) -> None:
    # the deadlock of 1-50-recipient mail: a cap below a slice's largest message was written as 0
    aws["dynamodb"].put_item(TableName=TABLE, Item={"pk": {"S": LEDGER_PK}, "mean:b": {"N": "40"}})
    enqueue(aws, "a-bulk", 200)
    enqueue(aws, "b-bulk", 3)
    caps = tick(deps(aws, FakeSes(rate=60)), config(aws["urls"], headroom=0.95), T0)["caps"]
    assert caps["b"] >= 10  # at least its guaranteed rate, though its messages hold 40 recipients
    assert sum(caps.values()) == pytest.approx(57, abs=1e-3)


def test_a_paused_slice_has_no_demand_and_its_share_is_lent_out(aws: dict[str, Any]) -> None:
    aws["dynamodb"].put_item(
        TableName=TABLE,
        Item={"pk": {"S": LEDGER_PK}, "paused_until:b": {"N": str(T0 + 600)},
              "paused_reason:b": {"S": "REPUTATION_BREAKER"}},
    )  # fmt: skip
    enqueue(aws, "a-bulk", 200)
    enqueue(aws, "b-bulk", 200)  # b has mail waiting, but may not send it
    d, c = deps(aws), config(aws["urls"])
    first = tick(d, c, T0)
    assert first["paused"] == ["b"]
    assert first["backlog_recipients"]["b"] == 0
    assert first["caps"] == {"a": pytest.approx(100), "b": 0}
    assert "paused" not in tick(d, c, T0 + 601)  # the pause is over: b's backlog counts again


def test_in_flight_messages_count_as_backlog(aws: dict[str, Any]) -> None:
    enqueue(aws, "b-bulk", 4)
    aws["sqs"].receive_message(QueueUrl=aws["urls"]["b-bulk"], MaxNumberOfMessages=3, VisibilityTimeout=60)
    result = tick(deps(aws), config(aws["urls"]), T0)
    assert result["backlog_messages"]["b"] == 4


def test_the_quota_is_read_at_most_once_a_minute_per_container(aws: dict[str, Any]) -> None:
    ses = FakeSes(rate=50)
    d, c = deps(aws, ses), config(aws["urls"])
    for i in range(60):
        assert tick(d, c, T0 + i)["quota"] == 50
    assert len(ses.calls_to("get_account")) == 1
    ses.rate = 70
    assert tick(d, c, T0 + 60)["quota"] == 70
    assert len(ses.calls_to("get_account")) == 2


def test_headroom_limits_the_sum(aws: dict[str, Any]) -> None:
    enqueue(aws, "a-bulk", 200)
    enqueue(aws, "b-bulk", 200)
    d, c = deps(aws), config(aws["urls"], headroom=0.9)
    caps = tick(d, c, T0)["caps"]
    assert sum(caps.values()) == pytest.approx(90, abs=0.01)
    # the ledger hands out 90/s; a slot (one every SLOT_MS) holds its share of that, up to the quota
    slot = read_ledger(aws["dynamodb"], TABLE).slot_capacity(0)
    assert slot == pytest.approx(min(100, 90 * SLOT_MS / WINDOW_MS))


class Broken:
    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        raise ConnectionError("sqs down")


def test_a_failed_read_skips_the_tick_and_writes_nothing(aws: dict[str, Any]) -> None:
    d = deps(aws)
    d.sqs = Broken()
    result = tick(d, config(aws["urls"]), T0)
    assert result["skipped"] is True
    assert ledger(aws) == {}


def test_no_quota_skips_the_tick(aws: dict[str, Any]) -> None:
    class NoSes:
        def get_account(self, **_: Any) -> dict[str, Any]:
            raise ConnectionError("ses down")

    d = deps(aws)
    d.ses = NoSes()
    assert tick(d, config(aws["urls"]), T0)["skipped"] is True
    assert ledger(aws) == {}


def test_config_from_env() -> None:
    c = HeartbeatConfig.from_env(
        {
            "STATE_TABLE": "t",
            "SLICES": json.dumps([{"name": "a", "rate_per_second": 30, "queue_urls": ["u1", "u2"]}]),
            "HEADROOM": "0.9",
            "TICK_SECONDS": "1",
        }
    )
    assert c.slices == (SliceConfig("a", 30.0, ("u1", "u2")),)
    assert (c.state_table, c.headroom, c.tick_seconds, c.quota_cache_seconds) == ("t", 0.9, 1.0, 60.0)

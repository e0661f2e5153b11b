"""The heartbeat handler against moto (DynamoDB, SQS) and a fake SES GetAccount."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.heartbeat.handler import HeartbeatConfig, HeartbeatDeps, SliceConfig, mean_recipients, tick
from functions.sender.limiter import encode_log
from tests.support.aws import create_state_table

T0 = 1_800_000_000.0
TABLE = "state"


class FakeSes:
    def __init__(self, rate: float = 100) -> None:
        self.rate, self.calls = rate, 0

    def get_account(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"SendQuota": {"MaxSendRate": self.rate, "Max24HourSend": 1e6, "SentLast24Hours": 0}}


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


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


def item(aws: dict[str, Any], name: str) -> dict[str, Any]:
    got = aws["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": f"limiter#{name}"}}, ConsistentRead=True)
    return dict(got.get("Item", {}))


def enqueue(aws: dict[str, Any], queue: str, n: int) -> None:
    for i in range(n):
        aws["sqs"].send_message(QueueUrl=aws["urls"][queue], MessageBody=f"m{i}")


def deps(aws: dict[str, Any], ses: FakeSes | None = None) -> HeartbeatDeps:
    return HeartbeatDeps(ses=ses or FakeSes(), sqs=aws["sqs"], dynamodb=aws["dynamodb"], clock=Clock())


def test_a_tick_writes_only_its_budget_attributes(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    log = encode_log(((int(T0 * 1000) - 500, 0), (int(T0 * 1000) - 400, 4), (int(T0 * 1000) - 300, 2)))
    aws["dynamodb"].put_item(
        TableName=TABLE,
        Item={"pk": {"S": "limiter#a"}, "log": {"S": log}, "version": {"N": "7"}, "expires_at": {"N": "9"}},
    )
    enqueue(aws, "a-bulk", 30)
    enqueue(aws, "a-transactional", 5)
    result = tick(deps(aws), config(aws["urls"]), T0)
    assert result["backlog_messages"] == {"a": 35, "b": 0}
    assert result["backlog_recipients"] == {"a": 35 * 3.0, "b": 0}  # mean of 4 and 2 per grant
    # tick 1 from the fallback (a: 30, b: 10 in force): b is lowered at once, a rises into the slack
    assert result["budgets"] == {"a": pytest.approx(90), "b": 0}
    a = item(aws, "a")
    assert a["log"] == {"S": log}
    assert a["version"] == {"N": "7"}
    assert a["expires_at"] == {"N": "9"}
    assert a["budget"] == {"N": "90"}
    assert a["budget_until"] == {"N": str(int(T0 + 1))}
    assert (a["budget_prev"], a["budget_set_at"]) == ({"N": "30"}, {"N": str(int(T0))})  # a's fallback
    assert set(item(aws, "b")) == {"pk", "budget", "budget_until", "budget_prev", "budget_set_at"}
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "heartbeat_tick"
    assert line["budgets"]["a"] == pytest.approx(90)


def test_a_budget_replaced_less_than_a_second_ago_is_not_lent_out_yet(aws: dict[str, Any]) -> None:
    enqueue(aws, "a-bulk", 200)
    first = tick(deps(aws), config(aws["urls"]), T0)  # from the fallback (a 30, b 10): a gets 90
    assert first["budgets"]["a"] == pytest.approx(90)
    enqueue(aws, "b-bulk", 200)  # now b has backlog too
    # A second tick only 0.4 s later: b's 10 from before the first tick may still be in a window,
    # and a's 90 is in force; nothing may rise above what those leave.
    second = tick(deps(aws), config(aws["urls"]), T0 + 0.4)
    assert max(90, second["budgets"]["a"]) + max(10, second["budgets"]["b"]) <= 100 + 1e-6
    third = tick(deps(aws), config(aws["urls"]), T0 + 1.4)
    assert third["budgets"]["b"] >= 10  # its guaranteed share comes back once that has drained


def test_grants_booked_ahead_in_the_fallback_are_not_lent_out_until_they_have_passed(
    aws: dict[str, Any],
) -> None:
    # b booked 10 recipients for 2.5 s from now while the heartbeat was away (its rate, 10/s)
    now_ms = int(T0 * 1000)
    ahead = encode_log(((now_ms - 2000, 0), (now_ms + 2500, 10)))
    aws["dynamodb"].put_item(TableName=TABLE, Item={"pk": {"S": "limiter#b"}, "log": {"S": ahead}})
    enqueue(aws, "a-bulk", 200)
    d, c = deps(aws), config(aws["urls"])
    for t in (T0, T0 + 1, T0 + 2):  # b has no backlog: its budget drops to 0 at once...
        budgets = tick(d, c, t)["budgets"]
        assert budgets == {"a": pytest.approx(90), "b": 0}  # ...but a may not take b's 10 yet
    assert tick(d, c, T0 + 3.6)["budgets"] == {"a": pytest.approx(100), "b": 0}  # gone: lent


def test_a_paused_slice_has_no_demand_and_its_share_is_lent_out(aws: dict[str, Any]) -> None:
    aws["dynamodb"].put_item(
        TableName=TABLE,
        Item={"pk": {"S": "limiter#b"}, "paused_until": {"N": str(T0 + 600)},
              "paused_reason": {"S": "REPUTATION_BREAKER"}},
    )  # fmt: skip
    enqueue(aws, "a-bulk", 200)
    enqueue(aws, "b-bulk", 200)  # b has mail waiting, but may not send it
    d, c = deps(aws), config(aws["urls"])
    first = tick(d, c, T0)
    assert first["paused"] == ["b"]
    assert first["backlog_recipients"]["b"] == 0
    assert tick(d, c, T0 + 1)["budgets"] == {"a": pytest.approx(100), "b": 0}
    assert "paused" not in tick(d, c, T0 + 601)  # the pause is over: b's backlog counts again


def test_in_flight_messages_count_as_backlog(aws: dict[str, Any]) -> None:
    enqueue(aws, "b-bulk", 4)
    aws["sqs"].receive_message(QueueUrl=aws["urls"]["b-bulk"], MaxNumberOfMessages=3, VisibilityTimeout=60)
    result = tick(deps(aws), config(aws["urls"]), T0)
    assert result["backlog_messages"]["b"] == 4


def test_the_next_tick_lends_what_the_previous_one_freed(aws: dict[str, Any]) -> None:
    enqueue(aws, "a-bulk", 200)
    d, c = deps(aws), config(aws["urls"])
    first = tick(d, c, T0)["budgets"]
    second = tick(d, c, T0 + 1)["budgets"]
    assert first == {"a": pytest.approx(90), "b": 0}
    assert second == {"a": pytest.approx(100), "b": 0}


def test_the_quota_is_read_at_most_once_a_minute_per_container(aws: dict[str, Any]) -> None:
    ses = FakeSes(50)
    d, c = deps(aws, ses), config(aws["urls"])
    for i in range(60):
        assert tick(d, c, T0 + i)["quota"] == 50
    assert ses.calls == 1
    ses.rate = 70
    assert tick(d, c, T0 + 60)["quota"] == 70
    assert ses.calls == 2


def test_headroom_limits_the_sum(aws: dict[str, Any]) -> None:
    enqueue(aws, "a-bulk", 200)
    enqueue(aws, "b-bulk", 200)
    d, c = deps(aws), config(aws["urls"], headroom=0.9)
    for i in range(3):
        budgets = tick(d, c, T0 + i)["budgets"]
    assert sum(budgets.values()) == pytest.approx(90, abs=0.01)


class Broken:
    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        raise ConnectionError("sqs down")


def test_a_failed_read_skips_the_tick_and_writes_nothing(aws: dict[str, Any]) -> None:
    d = deps(aws)
    d.sqs = Broken()
    result = tick(d, config(aws["urls"]), T0)
    assert result["skipped"] is True
    assert item(aws, "a") == {}
    assert item(aws, "b") == {}


def test_no_quota_skips_the_tick(aws: dict[str, Any]) -> None:
    class NoSes:
        def get_account(self, **_: Any) -> dict[str, Any]:
            raise ConnectionError("ses down")

    d = deps(aws)
    d.ses = NoSes()
    assert tick(d, config(aws["urls"]), T0)["skipped"] is True
    assert item(aws, "a") == {}


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


def test_mean_recipients_ignores_the_horizon_marker() -> None:
    assert mean_recipients("") == 1.0
    assert mean_recipients(encode_log(((1000, 0),))) == 1.0
    assert mean_recipients(encode_log(((1000, 0), (1100, 1), (1200, 5)))) == 3.0

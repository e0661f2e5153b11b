"""The warm-up counter's semantics, the same suite against the in-memory twin and DynamoDB (moto):
a day's allowance caps what is taken, no item means shared, re-writing a day keeps what was used,
and the dedicated phase has no cap."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.common.warmup_counter import (
    DynamoDbWarmupCounter,
    InMemoryWarmupCounter,
    WarmupCounter,
    expires_at,
    warmup_key,
)
from tests.support.aws import create_state_table

TABLE = "ses-platform-state"
DAY = dt.date(2026, 12, 1)


@pytest.fixture(params=["memory", "dynamodb"])
def counter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WarmupCounter]:
    if request.param == "memory":
        yield InMemoryWarmupCounter()
        return
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_state_table(client, TABLE)
        yield DynamoDbWarmupCounter(client, TABLE)


def test_takes_up_to_the_allowance_and_not_one_recipient_more(counter: WarmupCounter) -> None:
    counter.set_day("p", DAY, 100)
    assert [counter.take("p", DAY, n) for n in (50, 50, 1)] == [True, True, False]
    assert counter.used("p", DAY) == 100


def test_a_day_without_an_item_takes_nothing(counter: WarmupCounter) -> None:
    assert not counter.take("p", DAY, 1)
    assert counter.used("p", DAY) == 0


def test_rewriting_a_day_keeps_the_used_recipients_against_the_new_allowance(counter: WarmupCounter) -> None:
    counter.set_day("p", DAY, 100)
    assert counter.take("p", DAY, 80)
    counter.set_day("p", DAY, 120)  # the schedule was raised and redeployed mid-day
    assert not counter.take("p", DAY, 41)
    assert counter.take("p", DAY, 40)


def test_given_back_recipients_can_be_taken_again(counter: WarmupCounter) -> None:
    counter.set_day("p", DAY, 10)
    assert counter.take("p", DAY, 10)
    counter.give_back("p", DAY, 4)
    assert counter.take("p", DAY, 4)
    assert counter.used("p", DAY) == 10


def test_the_dedicated_phase_takes_everything_and_still_counts(counter: WarmupCounter) -> None:
    counter.set_day("p", DAY, None)
    assert counter.take("p", DAY, 1_000_000)
    assert counter.used("p", DAY) == 1_000_000


def test_pools_and_days_count_apart(counter: WarmupCounter) -> None:
    counter.set_day("p", DAY, 5)
    counter.set_day("q", DAY, 5)
    assert counter.take("p", DAY, 5)
    assert counter.take("q", DAY, 5)
    assert not counter.take("p", DAY + dt.timedelta(days=1), 1)


def test_the_item_is_keyed_by_pool_and_day_and_expires_a_week_later() -> None:
    with mock_aws():
        client: Any = boto3.client(
            "dynamodb", region_name="eu-central-1", aws_access_key_id="t", aws_secret_access_key="t"
        )
        create_state_table(client, TABLE)
        DynamoDbWarmupCounter(client, TABLE).set_day("at-pool", DAY, 286)
        item = client.get_item(TableName=TABLE, Key={"pk": {"S": "warmup#at-pool#2026-12-01"}})["Item"]
    assert warmup_key("at-pool", DAY) == "warmup#at-pool#2026-12-01"
    assert item["allowance"] == {"N": "286"}
    assert item["remaining"] == {"N": "286"}
    assert item["phase"] == {"S": "warmup"}
    assert int(item["expires_at"]["N"]) == expires_at(DAY) == 1_796_688_000  # 2026-12-08T00:00Z

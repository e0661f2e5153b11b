"""The reputation breaker against moto DynamoDB and a fake SES: a critical alarm pauses the set and
its slices in the send ledger's own format, so the real sender limiter refuses afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.common.ledger import LEDGER_PK
from functions.reputation_breaker.handler import BreakerConfig, BreakerDeps, BreakerTarget, handle
from functions.sender.limiter import DynamoDbLimiter
from tests.support.aws import create_state_table
from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes, client_error

TABLE = "example-ses-sending-state"
ALARM = "example-transactional-bounce-rate-critical"
NOW = 1_800_000_000.0
EVENT = json.loads(
    (Path(__file__).parents[1] / "events/reputation_breaker/alarm_state_change.json").read_text()
)
CONFIG = BreakerConfig(
    targets={ALARM: BreakerTarget(configuration_set="transactional", slices=("at-de", "at-news"))},
    state_table=TABLE,
)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1")
        create_state_table(client, TABLE)
        yield client


def item(client: Any, slice_name: str) -> dict[str, Any]:
    """The slice's attributes of the account's send ledger, by their plain names."""
    ledger = dict(client.get_item(TableName=TABLE, Key={"pk": {"S": LEDGER_PK}}).get("Item", {}))
    mine = {k.removesuffix(f":{slice_name}"): v for k, v in ledger.items() if k.endswith(f":{slice_name}")}
    return mine | ({"version": ledger["version"]} if mine else {})


def test_critical_alarm_disables_the_configuration_sets_sending(dynamodb: Any) -> None:
    ses = FakeSes()
    handle(EVENT, BreakerDeps(ses=ses, dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG)
    assert ses.requests == [
        (
            "put_configuration_set_sending_options",
            {"ConfigurationSetName": "transactional", "SendingEnabled": False},
        )
    ]


def test_critical_alarm_pauses_each_slice_in_the_ledger_format(dynamodb: Any) -> None:
    handle(EVENT, BreakerDeps(ses=FakeSes(), dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG)
    for name in ("at-de", "at-news"):
        written = item(dynamodb, name)
        assert float(written["paused_until"]["N"]) == NOW + 30 * 86400
        assert written["paused_reason"] == {"S": f"REPUTATION_BREAKER {ALARM}"}
        assert written["version"] == {"N": "2"}  # one ledger item: each slice's pause bumps it


def test_the_sender_limiter_refuses_a_slice_the_breaker_paused(dynamodb: Any) -> None:
    handle(EVENT, BreakerDeps(ses=FakeSes(), dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG)
    limiter = DynamoDbLimiter(dynamodb, TABLE, "at-de", rate_per_second=10, account_rate_per_second=10)
    reservation = limiter.reserve(1, NOW + 60)
    assert not reservation.granted
    assert reservation.paused_until == NOW + 30 * 86400


def test_a_shorter_sender_pause_does_not_lift_the_breakers_pause(dynamodb: Any) -> None:
    handle(EVENT, BreakerDeps(ses=FakeSes(), dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG)
    DynamoDbLimiter(dynamodb, TABLE, "at-de", rate_per_second=10, account_rate_per_second=10).pause(
        NOW + 900, "SendingPaused"
    )
    assert float(item(dynamodb, "at-de")["paused_until"]["N"]) == NOW + 30 * 86400


def test_a_repeated_alarm_is_harmless(dynamodb: Any) -> None:
    deps = BreakerDeps(ses=FakeSes(), dynamodb=dynamodb, clock=ManualClock(NOW))
    handle(EVENT, deps, CONFIG)
    handle(EVENT, deps, CONFIG)
    assert item(dynamodb, "at-de")["version"] == {"N": "2"}  # the second pauses were not later: no write


def test_an_alarm_returning_to_ok_pauses_nothing(dynamodb: Any) -> None:
    ses = FakeSes()
    ok = {**EVENT, "detail": {**EVENT["detail"], "state": {"value": "OK"}}}
    assert handle(ok, BreakerDeps(ses=ses, dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG) == {
        "paused": False
    }
    assert ses.requests == []
    assert item(dynamodb, "at-de") == {}


def test_an_unknown_alarm_pauses_nothing(dynamodb: Any) -> None:
    ses = FakeSes()
    other = {**EVENT, "detail": {**EVENT["detail"], "alarmName": "someone-elses-alarm"}}
    assert handle(other, BreakerDeps(ses=ses, dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG) == {
        "paused": False
    }
    assert ses.requests == []


def test_an_ses_failure_still_pauses_the_slices_and_then_raises(dynamodb: Any) -> None:
    throttled = client_error(
        "TooManyRequestsException", "Too many requests", 429, "PutConfigurationSetSendingOptions"
    )
    ses = FakeSes(failing={"put_configuration_set_sending_options": throttled})
    with pytest.raises(RuntimeError, match="configuration set transactional"):
        handle(EVENT, BreakerDeps(ses=ses, dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG)
    assert "paused_until" in item(dynamodb, "at-news")


def test_config_is_read_from_the_functions_environment() -> None:
    config = BreakerConfig.from_environment(
        {
            "BREAKER_TARGETS": json.dumps(
                {ALARM: {"configuration_set": "transactional", "slices": ["at-de"]}}
            ),
            "STATE_TABLE": TABLE,
        }
    )
    assert config.targets[ALARM] == BreakerTarget(configuration_set="transactional", slices=("at-de",))
    assert (config.state_table, config.pause_seconds) == (TABLE, 30 * 86400)


def test_the_runbooks_resume_command_lifts_the_breakers_pause(dynamodb: Any) -> None:
    handle(EVENT, BreakerDeps(ses=FakeSes(), dynamodb=dynamodb, clock=ManualClock(NOW)), CONFIG)
    # README runbook, step 3, as boto3 arguments.
    dynamodb.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "ledger"}},
        UpdateExpression="REMOVE #until, #reason ADD version :one",
        ConditionExpression="begins_with(#reason, :breaker)",
        ExpressionAttributeNames={"#until": "paused_until:at-de", "#reason": "paused_reason:at-de"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":breaker": {"S": "REPUTATION_BREAKER"}},
    )
    assert (
        DynamoDbLimiter(dynamodb, TABLE, "at-de", rate_per_second=10, account_rate_per_second=10)
        .reserve(1, NOW + 60, 2.0)
        .granted
    )

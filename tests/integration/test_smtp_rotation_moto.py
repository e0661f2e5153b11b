"""The SMTP rotation's four steps and its key sweep against moto IAM + Secrets Manager.

The handler is called directly (moto runs no Lambda code). Every test starts from what Terraform
creates: the IAM user without keys and an empty secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.smtp_rotation.handler import RotationError
from functions.smtp_rotation.smtp_check import SmtpLoginError, SmtpTarget
from tests.support.smtp_rotation import REGION, USER, Account, create_account, reference_password

HOUR = 3600.0


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield create_account(boto3.client("iam"), boto3.client("secretsmanager", region_name=REGION))


def test_first_rotation_stores_working_credentials_as_current(account: Account) -> None:
    account.rotate("t1")

    value = account.value()
    (key_id,) = account.access_keys()
    assert value == {
        "username": key_id,
        "password": reference_password(account.iam.secrets[key_id], REGION),
        "smtp_endpoint": f"email-smtp.{REGION}.amazonaws.com",
        "smtp_port": 587,
    }


def test_create_secret_stores_pending_and_leaves_current_alone(account: Account) -> None:
    account.rotate("t1")
    before = account.value()

    account.step("createSecret", "t2")

    assert account.value() == before
    pending = account.value("AWSPENDING")
    assert pending["username"] != before["username"]
    assert set(account.access_keys()) == {before["username"], pending["username"]}


def test_the_secret_access_key_itself_is_never_stored(account: Account) -> None:
    account.rotate("t1")
    stored = json.dumps(account.value())
    (secret,) = account.iam.secrets.values()
    assert secret not in stored


def test_create_secret_twice_with_one_token_creates_one_key(account: Account) -> None:
    account.step("createSecret", "t1")
    account.step("createSecret", "t1")
    assert len(account.access_keys()) == 1


def test_every_step_repeated_gives_the_same_result(account: Account) -> None:
    for step in ("createSecret", "setSecret", "testSecret", "finishSecret"):
        account.step(step, "t1")
        account.step(step, "t1")
    (key_id,) = account.access_keys()
    assert account.value()["username"] == key_id


def test_set_secret_activates_an_inactive_pending_key(account: Account) -> None:
    account.step("createSecret", "t1")
    key_id = account.value("AWSPENDING")["username"]
    account.iam.update_access_key(UserName=USER, AccessKeyId=key_id, Status="Inactive")

    account.step("setSecret", "t1")

    assert account.access_keys()[key_id] == "Active"


def test_set_secret_for_an_unknown_token_fails(account: Account) -> None:
    account.step("createSecret", "t1")
    with pytest.raises(RotationError, match="does not exist"):
        account.step("setSecret", "nope")


def test_second_rotation_keeps_the_previous_key_active_for_its_grace(account: Account) -> None:
    account.rotate("t1")
    first = account.value()["username"]
    account.rotate("t2")

    assert account.value("AWSPREVIOUS")["username"] == first
    assert account.access_keys() == {first: "Active", account.value()["username"]: "Active"}


def test_sweep_keeps_the_previous_key_within_its_grace(account: Account) -> None:
    account.rotate("t1")
    account.rotate("t2")
    account.clock.advance(23 * HOUR)
    account.sweep()
    assert len(account.access_keys()) == 2


def test_sweep_retires_the_previous_key_after_its_grace(account: Account) -> None:
    account.rotate("t1")
    first = account.value()["username"]
    account.rotate("t2")
    account.clock.advance(25 * HOUR)

    account.sweep()

    assert account.access_keys() == {account.value()["username"]: "Active"}
    assert first not in account.access_keys()


def test_zero_grace_retires_the_previous_key_when_the_rotation_finishes(account: Account) -> None:
    account.config = replace(account.config, previous_key_grace_seconds=0)
    account.rotate("t1")
    account.rotate("t2")
    assert list(account.access_keys()) == [account.value()["username"]]


def test_rotation_within_the_grace_retires_the_oldest_key_for_iams_two_key_limit(account: Account) -> None:
    account.rotate("t1")
    first = account.value()["username"]
    account.rotate("t2")
    second = account.value()["username"]

    account.rotate("t3")

    third = account.value()["username"]
    assert set(account.access_keys()) == {second, third}
    assert first not in account.access_keys()
    assert account.value("AWSPREVIOUS")["username"] == second


def test_a_key_no_version_holds_is_deleted_by_the_next_create(account: Account) -> None:
    account.rotate("t1")
    stray = account.iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]

    account.rotate("t2")

    assert stray not in account.access_keys()
    assert len(account.access_keys()) == 2


def test_failed_test_step_leaves_current_credentials_and_key_working(account: Account) -> None:
    account.rotate("t1")
    before = account.value()
    account.config = replace(account.config, test_login=True, test_attempts=2, test_wait_seconds=1)
    closed = SmtpTarget(host="127.0.0.1", port=1, timeout_seconds=1)
    account.step("createSecret", "t2")
    account.step("setSecret", "t2")

    with pytest.raises(SmtpLoginError):
        account.step("testSecret", "t2", smtp_target=closed)

    assert account.value() == before
    assert account.access_keys()[before["username"]] == "Active"
    assert account.clock.slept == [1]


def test_rotation_after_a_failed_one_succeeds_and_cleans_up_its_key(account: Account) -> None:
    account.rotate("t1")
    account.step("createSecret", "t2")  # then the rotation failed: t2's key is left behind
    abandoned = account.value("AWSPENDING")["username"]

    account.rotate("t3")

    assert abandoned not in account.access_keys()
    assert account.value("AWSPREVIOUS")["username"] in account.access_keys()
    assert len(account.access_keys()) == 2


class FailingPut:
    """Secrets Manager that fails to store the pending version (throttled, say)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put_secret_value(self, **_: Any) -> dict[str, Any]:
        raise RuntimeError("put_secret_value failed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def test_create_that_cannot_store_deletes_its_new_key(account: Account) -> None:
    account.rotate("t1")
    before = account.value()

    with pytest.raises(RuntimeError, match="put_secret_value failed"):
        account.step("createSecret", "t2", secrets=FailingPut(account.secrets))

    assert account.access_keys() == {before["username"]: "Active"}
    assert account.value() == before


def test_logs_name_step_and_secret_but_never_a_credential(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    account.rotate("t1")
    account.rotate("t2")
    out = capsys.readouterr().out

    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["step"] for line in lines} >= {"createSecret", "setSecret", "testSecret", "finishSecret"}
    assert all(line["secret_arn"] == account.arn for line in lines)
    for key_id, secret in account.iam.secrets.items():
        assert key_id not in out
        assert secret not in out
        assert reference_password(secret, REGION) not in out


def test_a_failed_step_is_logged_with_step_and_secret_arn(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(RotationError):
        account.step("finishSecret", "nope")
    failure = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert (failure["level"], failure["step"], failure["secret_arn"]) == (
        "ERROR",
        "finishSecret",
        account.arn,
    )


def test_an_unknown_step_is_refused(account: Account) -> None:
    with pytest.raises(RotationError, match="unknown step"):
        account.step("rotateEverything", "t1")

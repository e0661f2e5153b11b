"""testSecret against a local SMTP server (STARTTLS + AUTH on 127.0.0.1, started and stopped here).

The server accepts a login only if the password is SES's derivation (computed apart from the
handler) of the secret key IAM (moto) handed out for that username: the rotation must store a
password that would authenticate at SES, not merely one that matches itself.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from functions.smtp_rotation.smtp_check import SmtpLoginError, SmtpTarget, smtp_login
from tests.support.smtp_rotation import REGION, Account, create_account, reference_password, token_id
from tests.support.smtp_server import HOST, smtp_server


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        item = create_account(boto3.client("iam"), boto3.client("secretsmanager", region_name=REGION))
        item.config = replace(item.config, test_login=True, test_attempts=2, test_wait_seconds=0.5)
        yield item


@pytest.fixture
def server(account: Account, tmp_path: Path) -> Iterator[SmtpTarget]:
    def accept(username: str, password: str) -> bool:
        secret = account.iam.secrets.get(username)
        return secret is not None and password == reference_password(secret, REGION)

    with smtp_server(tmp_path, accept) as (port, client_context):
        yield SmtpTarget(host=HOST, port=port, timeout_seconds=5, ssl_context=client_context)


def test_test_secret_logs_in_with_the_pending_credentials(account: Account, server: SmtpTarget) -> None:
    account.rotate("t1", steps=("createSecret", "setSecret"))
    result = account.step("testSecret", "t1", smtp_target=server)
    assert "succeeded (attempt 1)" in result["outcome"]


def test_full_rotation_with_the_smtp_test_promotes_the_new_key(account: Account, server: SmtpTarget) -> None:
    account.rotate("t1", steps=("createSecret", "setSecret"))
    account.step("testSecret", "t1", smtp_target=server)
    account.step("finishSecret", "t1")
    account.rotate("t2", steps=("createSecret", "setSecret"))
    account.step("testSecret", "t2", smtp_target=server)
    account.step("finishSecret", "t2")
    assert account.value()["username"] != account.value("AWSPREVIOUS")["username"]


def test_server_rejects_a_wrong_password(account: Account, server: SmtpTarget) -> None:
    account.rotate("t1", steps=("createSecret",))
    username = account.value("AWSPENDING")["username"]
    with pytest.raises(smtplib.SMTPAuthenticationError):
        smtp_login(server, username, reference_password(account.iam.secrets[username], "eu-west-1"))


def test_test_secret_fails_when_the_stored_password_is_wrong(account: Account, server: SmtpTarget) -> None:
    account.rotate("t1", steps=("createSecret", "setSecret", "finishSecret"))
    before = account.value()
    account.step("createSecret", "t2")
    pending = account.value("AWSPENDING")
    # The right key with a password derived for another region: SES would refuse it.
    wrong = {**pending, "password": reference_password(account.iam.secrets[pending["username"]], "eu-west-1")}
    account.secrets.put_secret_value(
        SecretId=account.arn,
        ClientRequestToken=token_id("t2-wrong"),
        SecretString=json.dumps(wrong),
        VersionStages=["AWSPENDING"],
    )

    with pytest.raises(SmtpLoginError, match="535"):
        account.step("testSecret", "t2-wrong", smtp_target=server)

    assert account.value() == before
    assert account.clock.slept == [0.5]


def test_login_refuses_a_server_whose_certificate_is_not_trusted(
    account: Account, server: SmtpTarget
) -> None:
    account.rotate("t1", steps=("createSecret",))
    pending = account.value("AWSPENDING")
    untrusting = replace(server, ssl_context=ssl.create_default_context())
    with pytest.raises(ssl.SSLCertVerificationError):
        smtp_login(untrusting, pending["username"], pending["password"])


def test_switched_off_test_secret_does_not_connect(account: Account) -> None:
    account.config = replace(account.config, test_login=False)
    account.rotate("t1", steps=("createSecret", "setSecret"))
    result = account.step("testSecret", "t1", smtp_target=SmtpTarget(host=HOST, port=1))
    assert "switched off" in result["outcome"]

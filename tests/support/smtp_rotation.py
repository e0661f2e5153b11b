"""Fixtures shared by the SMTP rotation tests: a moto account with the user and its empty secret,
an IAM client that remembers the secret keys it handed out, and a manual clock that starts at
the wall clock (moto stamps versions with it)."""

from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from functions.smtp_rotation.handler import STEPS, RotationConfig, RotationDeps, handle
from tests.support.clock import ManualClock

REGION = "eu-central-1"
USER = "test-smtp-crm"


def reference_password(secret: str, region: str) -> str:
    """SES's SigV4 SMTP password, written apart from functions/ (see tests/unit/test_smtp_password.py)."""
    key = hmac.digest(b"AWS4" + secret.encode(), b"11111111", "sha256")
    for part in (region, "ses", "aws4_request", "SendRawEmail"):
        key = hmac.digest(key, part.encode(), "sha256")
    return base64.b64encode(b"\x04" + key).decode()


class RecordingIam:
    """The real (moto) IAM client, remembering each new key's secret so tests can check the password."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.secrets: dict[str, str] = {}

    def create_access_key(self, **kwargs: Any) -> dict[str, Any]:
        response: dict[str, Any] = self.client.create_access_key(**kwargs)
        key = response["AccessKey"]
        self.secrets[key["AccessKeyId"]] = key["SecretAccessKey"]
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@dataclass
class Account:
    iam: RecordingIam
    secrets: Any
    arn: str
    clock: ManualClock = field(default_factory=lambda: ManualClock(time.time()))
    config: RotationConfig = field(
        default_factory=lambda: RotationConfig(iam_user_name=USER, region=REGION, test_login=False)
    )

    def deps(self, **overrides: Any) -> RotationDeps:
        values: dict[str, Any] = {"secrets": self.secrets, "iam": self.iam, "clock": self.clock}
        return RotationDeps(**{**values, **overrides})

    def step(self, step: str, token: str, **overrides: Any) -> dict[str, Any]:
        """Run one step; ``token`` is a short name for the request token (Secrets Manager wants ≥ 32)."""
        event = {"Step": step, "SecretId": self.arn, "ClientRequestToken": token_id(token)}
        return handle(self.deps(**overrides), self.config, event)

    def rotate(self, token: str, steps: Sequence[str] = STEPS) -> None:
        for step in steps:
            self.step(step, token)

    def sweep(self) -> dict[str, Any]:
        return handle(self.deps(), self.config, {"action": "retire_expired_keys", "SecretId": self.arn})

    def value(self, stage: str = "AWSCURRENT") -> dict[str, Any]:
        return dict(
            json.loads(self.secrets.get_secret_value(SecretId=self.arn, VersionStage=stage)["SecretString"])
        )

    def access_keys(self) -> dict[str, str]:
        """Access key id → status."""
        listed = self.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]
        return {k["AccessKeyId"]: k["Status"] for k in listed}


def token_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def create_account(iam_client: Any, secrets_client: Any) -> Account:
    """The user and its secret as Terraform leaves them: no access key, no secret value."""
    iam_client.create_user(UserName=USER, Path="/ses-smtp/")
    arn = secrets_client.create_secret(Name="ses-smtp/test/crm")["ARN"]
    return Account(iam=RecordingIam(iam_client), secrets=secrets_client, arn=arn)

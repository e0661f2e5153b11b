"""RotationConfig.from_env reads what the SmtpUser construct writes into the Lambda's environment."""

from __future__ import annotations

import pytest

from functions.smtp_rotation.handler import RotationConfig


def test_defaults_test_the_login_on_587_and_keep_the_previous_key_a_day() -> None:
    config = RotationConfig.from_env({"IAM_USER_NAME": "prod-smtp-crm", "AWS_REGION": "eu-central-1"})
    assert (config.iam_user_name, config.region, config.smtp_port) == ("prod-smtp-crm", "eu-central-1", 587)
    assert (config.test_login, config.test_host, config.test_port) == (True, None, None)
    assert config.previous_key_grace_seconds == 24 * 3600


def test_construct_settings_override_the_defaults() -> None:
    config = RotationConfig.from_env(
        {
            "IAM_USER_NAME": "u",
            "AWS_REGION": "eu-west-1",
            "SMTP_REGION": "eu-central-1",
            "SMTP_TEST_LOGIN": "false",
            "SMTP_TEST_HOST": "127.0.0.1",
            "SMTP_TEST_PORT": "2587",
            "PREVIOUS_KEY_GRACE_HOURS": "0",
        }
    )
    assert (config.region, config.test_login, config.test_host, config.test_port) == (
        "eu-central-1", False, "127.0.0.1", 2587,
    )  # fmt: skip
    assert config.previous_key_grace_seconds == 0


def test_missing_user_name_fails_at_start() -> None:
    with pytest.raises(KeyError, match="IAM_USER_NAME"):
        RotationConfig.from_env({"AWS_REGION": "eu-central-1"})

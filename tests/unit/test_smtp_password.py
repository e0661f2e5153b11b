"""The SES SMTP password derivation, checked against vectors published by others.

The vectors come from two independent implementations that authenticate against SES:
terraform-provider-aws (``internal/service/iam/access_key_test.go``,
``TestSESSMTPPasswordFromSecretKeySigV4``; the value Terraform puts in
``aws_iam_access_key.ses_smtp_password_v4``) and the AWS SDK for PHP
(``tests/Ses/SesClientTest.php``, ``testCanGenerateSmtpPasswordV4FromCredentials``, made with
the sample code of the SES Developer Guide). Deriving the expectations from our own code would
only prove it is stable; these prove it is right.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from functions.smtp_rotation.password import smtp_endpoint, smtp_password

PUBLISHED = [
    # (region, secret access key, SMTP password)
    ("eu-central-1", "some+secret+key", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"),
    ("eu-central-1", "another+secret+key", "BBbphbrQmrKMx42d1N6+C7VINYEBGI5v9VsZeTxwskfh"),
    ("us-west-1", "some+secret+key", "BH+jbMzper5WwlwUar9E1ySBqHa9whi0GPo+sJ0mVYJj"),
    ("us-west-1", "another+secret+key", "BKVmjjMDFk/qqw8EROW99bjCS65PF8WKvK5bSr4Y6EqF"),
    ("us-east-2", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "BMPPgbAHoFVbze1Ud0oA5uNdXRwUXUZ+qOwphGJbl/cS"),
]


def reference_password(secret: str, region: str) -> str:
    """A second, separately written derivation: the SigV4 signing key, spelled out step by step."""
    k_date = hmac.digest(b"AWS4" + secret.encode(), b"11111111", "sha256")
    k_region = hmac.digest(k_date, region.encode(), "sha256")
    k_service = hmac.digest(k_region, b"ses", "sha256")
    k_signing = hmac.digest(k_service, b"aws4_request", "sha256")
    signature = hmac.new(k_signing, b"SendRawEmail", hashlib.sha256).digest()
    return base64.b64encode(bytes([4]) + signature).decode()


@pytest.mark.parametrize(("region", "secret", "expected"), PUBLISHED)
def test_password_matches_the_published_vector(region: str, secret: str, expected: str) -> None:
    assert smtp_password(secret, region) == expected


@pytest.mark.parametrize(("region", "secret", "expected"), PUBLISHED)
def test_reference_derivation_agrees_with_the_published_vector(
    region: str, secret: str, expected: str
) -> None:
    assert reference_password(secret, region) == expected


@pytest.mark.parametrize("region", ["eu-west-1", "ap-southeast-2", "us-gov-west-1", "il-central-1"])
def test_password_agrees_with_the_reference_in_other_regions(region: str) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert smtp_password(secret, region) == reference_password(secret, region)


def test_the_same_key_gives_a_different_password_in_another_region() -> None:
    assert smtp_password("some+secret+key", "eu-central-1") != smtp_password(
        "some+secret+key", "eu-central-2"
    )


def test_another_key_gives_a_different_password_in_the_same_region() -> None:
    assert smtp_password("some+secret+key", "eu-central-1") != smtp_password(
        "some+secret+kez", "eu-central-1"
    )


def test_password_is_version_4_and_44_characters() -> None:
    password = smtp_password("some+secret+key", "eu-central-1")
    assert len(password) == 44
    assert base64.b64decode(password)[0] == 4


def test_missing_secret_or_region_is_rejected() -> None:
    with pytest.raises(ValueError, match="secret access key and a region"):
        smtp_password("", "eu-central-1")


def test_endpoint_is_the_regional_smtp_interface() -> None:
    assert smtp_endpoint("eu-central-1") == "email-smtp.eu-central-1.amazonaws.com"

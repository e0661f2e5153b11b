"""DKIM checks on ``aws_sesv2_email_identity``: CKV_SESPLAT_1, CKV_SESPLAT_6, CKV_SESPLAT_7.

They read the resource's own configuration only. Email-address identities (``a@b.c``) are not
reported: DKIM belongs to the domain identity they send under.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

IDENTITY = "aws_sesv2_email_identity"
EASY_DKIM_KEY_LENGTHS = ("RSA_1024_BIT", "RSA_2048_BIT")
STRONG_KEY_LENGTH = "RSA_2048_BIT"


def first(conf: dict[str, Any], key: str) -> Any:
    """The value of ``key`` in checkov's HCL-shaped configuration (every value is a list)."""
    value = conf.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def is_set(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_email_address_identity(conf: dict[str, Any]) -> bool:
    identity = first(conf, "email_identity")
    return isinstance(identity, str) and "@" in identity


def dkim_block(conf: dict[str, Any]) -> dict[str, Any] | None:
    block = first(conf, "dkim_signing_attributes")
    return block if isinstance(block, dict) else None


class DkimSigningConfigured(BaseResourceCheck):
    """CKV_SESPLAT_1: the identity declares how SES signs with DKIM.

    Passes with ``dkim_signing_attributes`` holding either ``next_signing_key_length``
    (``RSA_1024_BIT``/``RSA_2048_BIT``: Easy DKIM) or both ``domain_signing_selector`` and
    ``domain_signing_private_key`` (BYODKIM) - not both kinds at once. SES would enable Easy
    DKIM for a domain without the block too, but then the key length is whatever AWS defaults
    to; the platform declares it.
    """

    def __init__(self) -> None:
        super().__init__(
            name="SES domain identity declares DKIM signing (Easy DKIM key length or BYODKIM selector+key)",
            id="CKV_SESPLAT_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=[IDENTITY],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        if is_email_address_identity(conf):
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["dkim_signing_attributes"]
        problem = dkim_problem(dkim_block(conf))
        if problem:
            self.details.append(problem)
            return CheckResult.FAILED
        return CheckResult.PASSED


def dkim_problem(block: dict[str, Any] | None) -> str | None:
    """Why ``dkim_signing_attributes`` does not configure DKIM, or ``None`` if it does."""
    if block is None:
        return "no dkim_signing_attributes block"
    key_length = first(block, "next_signing_key_length")
    selector = first(block, "domain_signing_selector")
    private_key = first(block, "domain_signing_private_key")
    byo = selector is not None or private_key is not None
    if key_length is not None and byo:
        return "both an Easy DKIM key length and BYODKIM settings"
    if key_length is not None:
        ok = key_length in EASY_DKIM_KEY_LENGTHS
        return None if ok else f"next_signing_key_length {key_length!r} is not one of {EASY_DKIM_KEY_LENGTHS}"
    if is_set(selector) and is_set(private_key):
        return None
    return "BYODKIM needs both domain_signing_selector and domain_signing_private_key"


class EasyDkimKeyIs2048Bit(BaseResourceCheck):
    """CKV_SESPLAT_6: Easy DKIM signs with 2048-bit keys.

    Easy DKIM publishes CNAMEs, so DNS size limits never force the weaker 1024-bit key. Only
    identities with an explicit ``next_signing_key_length`` are reported (CKV_SESPLAT_1 fails
    the others); a Terraform expression there fails, as it cannot be verified.
    """

    def __init__(self) -> None:
        super().__init__(
            name="SES Easy DKIM uses a 2048-bit key (RSA_2048_BIT)",
            id="CKV_SESPLAT_6",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=[IDENTITY],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        block = dkim_block(conf)
        key_length = None if block is None else first(block, "next_signing_key_length")
        if key_length is None or is_email_address_identity(conf):
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["dkim_signing_attributes/[0]/next_signing_key_length"]
        if key_length == STRONG_KEY_LENGTH:
            return CheckResult.PASSED
        self.details.append(f"next_signing_key_length is {key_length!r}")
        return CheckResult.FAILED


class ByodkimKeyNotLiteral(BaseResourceCheck):
    """CKV_SESPLAT_7: a BYODKIM private key comes from a secret store, not the configuration.

    ``domain_signing_private_key`` must be a Terraform expression (``${...}``, e.g. a
    ``data.aws_secretsmanager_secret_version`` reference); a literal would put the key in the
    synthesized JSON and in version control. Only BYODKIM identities are reported. The key still
    reaches Terraform state either way: keep state encrypted.
    """

    def __init__(self) -> None:
        super().__init__(
            name="SES BYODKIM private key is a reference (e.g. Secrets Manager), not a literal",
            id="CKV_SESPLAT_7",
            categories=[CheckCategories.SECRETS],
            supported_resources=[IDENTITY],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        block = dkim_block(conf)
        private_key = None if block is None else first(block, "domain_signing_private_key")
        if private_key is None:
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["dkim_signing_attributes/[0]/domain_signing_private_key"]
        if isinstance(private_key, str) and "${" in private_key:
            return CheckResult.PASSED
        self.details.append("domain_signing_private_key is a literal value")
        return CheckResult.FAILED


CHECKS = (DkimSigningConfigured(), EasyDkimKeyIs2048Bit(), ByodkimKeyNotLiteral())

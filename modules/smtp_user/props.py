"""Inputs of :class:`~modules.smtp_user.construct.SmtpUser`. Pure Python, no cdktn import."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import SES_NAME, check_account_id, check_name, check_range, partition

if TYPE_CHECKING:
    from modules.identity.construct import DomainIdentity

SMTP_ROTATION_JOB = "smtp_rotation"
MAX_ROTATION_DAYS = 90
_CONFIGURATION_SET = SES_NAME
_REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9]")
_READER = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:iam::[0-9]{12}:(?:root|role/[\w+=,.@/-]{1,512}|user/[\w+=,.@/-]{1,512})"
)


@dataclass(frozen=True, kw_only=True)
class SmtpUserProps:
    """Inputs of :class:`SmtpUser`.

    Attributes:
        environment: the environment name; resources are named ``<environment>-smtp-<name>``.
        name: the user's name: lower-case letters, digits and hyphens.
        account_id: the stack's account (ARNs, key policy).
        region: the stack's region: the SMTP endpoint and the password are for it.
        identities: the ``DomainIdentity`` constructs (same stack) the user may send as.
        from_addresses: ``ses:FromAddress`` patterns (``*@news.example.at``), each on one of the
            identities. Default - any address of the identities.
        configuration_set: a configuration set the user may name. Default - none beyond each
            identity's default configuration set.
        rotation_days: days between rotations, 1-90. Default 30.
        replica_regions: regions holding a replica of the secret, each with a replica of the
            key. Default - none.
        readers: IAM principal ARNs (role, user or account root) allowed to read the secret,
            through the secret's resource policy and the key policy. Default - none.
        previous_key_grace_hours: hours the previous access key stays active after a rotation;
            less than ``rotation_days`` × 24. Default 24.
        test_smtp_login: testSecret logs in over SMTP before the new credentials are promoted.
            Default true.
        log_retention_days: the rotation Lambda's log retention. Default 365.
        tags: tags on every resource, merged over the provider's default tags; the user adds
            ``smtp_user = <name>``. Default - none.
    """

    environment: str
    name: str
    account_id: str
    region: str
    identities: Sequence[DomainIdentity]
    from_addresses: Sequence[str] = ()
    configuration_set: str | None = None
    rotation_days: int = 30
    replica_regions: Sequence[str] = ()
    readers: Sequence[str] = ()
    previous_key_grace_hours: int = 24
    test_smtp_login: bool = True
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_name("name", self.name)
        check_account_id(self.account_id)
        if not self.identities:
            raise ValueError("identities must name at least one DomainIdentity the user sends as")
        check_range("rotation_days", self.rotation_days, 1, MAX_ROTATION_DAYS)
        check_range("previous_key_grace_hours", self.previous_key_grace_hours, 0, self.rotation_days * 24 - 1)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )
        if self.configuration_set is not None and not _CONFIGURATION_SET.fullmatch(self.configuration_set):
            raise ValueError(
                f"configuration_set must be a configuration set name, got {self.configuration_set!r}"
            )
        for region in self.replica_regions:
            if not _REGION.fullmatch(region) or region == self.region:
                raise ValueError(
                    f"replica_regions must be other AWS regions than {self.region}, got {region!r}"
                )
        for reader in self.readers:
            if not _READER.fullmatch(reader):
                raise ValueError(f"readers must be IAM role, user or account root ARNs, got {reader!r}")
        domains = {identity.props.domain for identity in self.identities}
        for address in self.from_addresses:
            if address.rpartition("@")[2].lower() not in domains:
                raise ValueError(
                    f"from address {address!r} is not on an identity ({', '.join(sorted(domains))})"
                )
        if len(self.function_name) > 64:
            raise ValueError(f"the rotation function name {self.function_name!r} exceeds 64 characters")

    @property
    def partition(self) -> str:
        return partition(self.region)

    @property
    def prefix(self) -> str:
        """``<environment>-smtp-<name>``: the IAM user, its group and the key alias."""
        return f"{self.environment}-smtp-{self.name}"

    @property
    def function_name(self) -> str:
        return f"{self.prefix}-rotation"

    @property
    def secret_name(self) -> str:
        return f"ses-smtp/{self.environment}/{self.name}"

    def secret_arn_pattern(self, region: str) -> str:
        """The secret's ARN in ``region`` (primary or replica): Secrets Manager appends 6 characters."""
        return (
            f"arn:{self.partition}:secretsmanager:{region}:{self.account_id}:secret:{self.secret_name}-??????"
        )

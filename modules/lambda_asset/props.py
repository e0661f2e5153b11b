"""Inputs of :class:`~modules.lambda_asset.construct.PythonFunction`, and IAM policy checks.

Pure Python (no cdktn import) so the config layer can share the constants.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from modules.lambda_asset.package import REPO_ROOT
from modules.shared.iam import check_no_wildcard_actions

# CloudWatch Logs accepts exactly these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip
RUNTIMES = ("python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
# Lambda's rule for function names: the same characters as SES's names, by chance, not by design
_FUNCTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
_POLICY_NAME = re.compile(r"[\w+=,.@-]{1,128}")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


@dataclass(frozen=True, kw_only=True)
class PythonFunctionProps:
    """Inputs of a Lambda function running ``functions/<job>``.

    Attributes:
        function_name: the Lambda function name (unique per account-region); also names its log
            group ``/aws/lambda/<function_name>``.
        job: the package under ``functions/``; the handler is
            ``functions.<job>.handler.lambda_handler``.
        kms_key_arn: customer-managed key for the environment variables and the log group.
        reserved_concurrency: reserved concurrent executions (≥ 1).
        policies: inline IAM policies of the role, name → policy JSON; no action may contain
            ``*``. Default - none beyond the function's own logs, X-Ray and key decrypt.
        environment: environment variables. Default - none.
        timeout_seconds: 1-900. Default 60.
        memory_mb: 128-10240. Default 256.
        log_retention_days: a retention CloudWatch accepts. Default 365.
        dead_letter_target_arn: SQS queue or SNS topic for failed asynchronous invocations.
            Default - none.
        description: the function's description. Default - none.
        runtime: ``python3.12`` or ``python3.13``. Default ``python3.12``.
        architecture: ``arm64`` or ``x86_64``. Default ``arm64``.
        checkov_skips: checkov check id → the reason it does not apply to this function, written
            into the function's ``"//"`` block (see :mod:`modules.platform.scan`). Default - none.
        tags: tags on the role, log group and function, merged over the provider's default tags.
            Default - none.
        source_root: the folder holding ``functions/``. Default - this repository.
        role_name: the execution role's name (IAM names are unique per account). Default -
            ``<function_name>-<region>`` with the stack's provider region, within IAM's 64
            characters (:func:`modules.naming.with_region`).
    """

    function_name: str
    job: str
    kms_key_arn: str
    reserved_concurrency: int
    policies: Mapping[str, str] = field(default_factory=dict)
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 60
    memory_mb: int = 256
    log_retention_days: int = 365
    dead_letter_target_arn: str | None = None
    description: str | None = None
    runtime: str = "python3.12"
    architecture: str = "arm64"
    checkov_skips: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    source_root: Path = REPO_ROOT
    role_name: str | None = None

    def __post_init__(self) -> None:
        self._check_names()
        if self.runtime not in RUNTIMES:
            raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, got {self.runtime!r}")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {', '.join(ARCHITECTURES)}, got {self.architecture!r}"
            )
        if not 1 <= self.timeout_seconds <= 900:
            raise ValueError(f"timeout_seconds must be 1-900, got {self.timeout_seconds}")
        if not 128 <= self.memory_mb <= 10240:
            raise ValueError(f"memory_mb must be 128-10240, got {self.memory_mb}")
        if self.reserved_concurrency < 1:
            raise ValueError(
                f"reserved_concurrency must be ≥ 1 (0 stops the function), got {self.reserved_concurrency}"
            )
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )
        for check_id, reason in self.checkov_skips.items():
            if not re.fullmatch(r"CKV2?_[A-Z0-9_]+", check_id) or not reason.strip():
                raise ValueError(f"checkov_skips needs a check id and a reason, got {check_id!r}: {reason!r}")
        for name, policy in self.policies.items():
            if name == "runtime":
                raise ValueError(
                    'policy name "runtime" is the function\'s own (logs, X-Ray, key); choose another'
                )
            if not _POLICY_NAME.fullmatch(name):
                raise ValueError(f"policy name must be 1-128 IAM name characters, got {name!r}")
            check_no_wildcard_actions(policy, name)

    def _check_names(self) -> None:
        if not _FUNCTION_NAME.fullmatch(self.function_name):
            raise ValueError(
                "function_name must be 1-64 letters, digits, hyphens or underscores, "
                f"got {self.function_name!r}"
            )
        if self.role_name is not None and not _ROLE_NAME.fullmatch(self.role_name):
            raise ValueError(f"role_name must be 1-64 IAM name characters, got {self.role_name!r}")

"""CKV_SESPLAT_4: no ``aws_iam_access_key`` resource anywhere.

Terraform stores an access key's secret (and its derived ``ses_smtp_password_v4``) in plain
text in state. SES senders use IAM roles; SMTP users get keys created outside Terraform and
kept in a secret store. Fails every ``aws_iam_access_key``; with none, nothing is reported.
"""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class NoIamAccessKey(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="No aws_iam_access_key in Terraform (its secret would be stored in state)",
            id="CKV_SESPLAT_4",
            categories=[CheckCategories.IAM],
            supported_resources=["aws_iam_access_key"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:  # noqa: ARG002 - any is a failure
        self.details.append("create access keys outside Terraform; prefer IAM roles")
        return CheckResult.FAILED


CHECK = NoIamAccessKey()

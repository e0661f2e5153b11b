"""Key-policy parts every customer-managed key here shares: the account administers each key
through IAM (every action spelled out, no ``kms:*``), and what CloudWatch Logs may do with a key
that encrypts log groups."""

from __future__ import annotations

from typing import Any

# Everything the account's IAM may be granted on the key, spelled out (no kms:*): administration
# including kms:PutKeyPolicy, so the key can never become unmanageable, and every data operation.
KEY_ACCOUNT_ACTIONS = (
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:Decrypt", "kms:DeleteAlias",
    "kms:DescribeKey", "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey",
    "kms:EnableKeyRotation", "kms:Encrypt", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
    "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations", "kms:ListResourceTags",
    "kms:PutKeyPolicy", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:RetireGrant",
    "kms:RevokeGrant", "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource",
    "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
)  # fmt: skip


def account_administers_key(partition: str, account_id: str) -> dict[str, Any]:
    """The key-policy statement every customer-managed key here starts with: the account's IAM
    decides who may use or administer the key (``KEY_ACCOUNT_ACTIONS``, no ``kms:*``)."""
    return {
        "Sid": "AccountAdministersThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": list(KEY_ACCOUNT_ACTIONS),
        "Resource": "*",
    }


KEY_LOGS_ACTIONS = (
    "kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey",
)  # fmt: skip

"""The SMTP user's policy documents, as JSON strings that may hold Terraform tokens.

No action contains ``*``; a resource is ``*`` only in key and secret resource policies, where it
means "this key" / "this secret".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modules.shared.iam import policy_document
from modules.shared.kms import KEY_LOGS_ACTIONS, account_administers_key
from modules.smtp_user.props import SmtpUserProps

# What the rotation does to its own user's keys and nothing else.
ACCESS_KEY_ACTIONS = (
    "iam:CreateAccessKey",
    "iam:DeleteAccessKey",
    "iam:ListAccessKeys",
    "iam:UpdateAccessKey",
)
ROTATION_SECRET_ACTIONS = (
    "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage", "secretsmanager:ListSecretVersionIds",
)  # fmt: skip
READ_SECRET_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def _document(*statements: dict[str, Any]) -> str:
    return policy_document("smtp_user", *statements)


def _via_secrets_manager(props: SmtpUserProps, region: str) -> dict[str, Any]:
    """Decrypt only when Secrets Manager asks, for this secret (no token: the key comes first)."""
    return {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"},
        "ArnLike": {"kms:EncryptionContext:SecretARN": props.secret_arn_pattern(region)},
    }


def key_policy_json(props: SmtpUserProps, region: str, *, logs: bool) -> str:
    """The account administers through IAM; readers decrypt through Secrets Manager; the rotation
    Lambda's log group is encrypted (primary region only)."""
    statements: list[dict[str, Any]] = [account_administers_key(props.partition, props.account_id)]
    if logs:
        log_group = f"arn:{props.partition}:logs:{region}:{props.account_id}:log-group:" + (
            f"/aws/lambda/{props.function_name}"
        )
        statements.append(
            {
                "Sid": "CloudWatchLogsForRotationLogGroup",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": list(KEY_LOGS_ACTIONS),
                "Resource": "*",
                "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group}},
            }
        )
    if props.readers:
        statements.append(
            {
                "Sid": "ReadersDecryptTheSecret",
                "Effect": "Allow",
                "Principal": {"AWS": list(props.readers)},
                "Action": ["kms:Decrypt", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": _via_secrets_manager(props, region),
            }
        )
    return _document(*statements)


def secret_policy_json(props: SmtpUserProps) -> str:
    """The secret's resource policy: the readers may read it (cross-account readers need it)."""
    return _document(
        {
            "Sid": "ReadersGetTheCredentials",
            "Effect": "Allow",
            "Principal": {"AWS": list(props.readers)},
            "Action": list(READ_SECRET_ACTIONS),
            "Resource": "*",
        }
    )


def send_policy_json(
    props: SmtpUserProps, identity_arns: Sequence[str], configuration_sets: Sequence[str]
) -> str:
    """``ses:SendRawEmail`` (all SMTP is) as the identities, with their configuration sets."""
    region = props.region
    arn = f"arn:{props.partition}:ses:{region}:{props.account_id}:configuration-set/"
    statement: dict[str, Any] = {
        "Sid": "SendRawEmailAsIdentities",
        "Effect": "Allow",
        "Action": ["ses:SendRawEmail"],
        "Resource": [*identity_arns, *(arn + name for name in configuration_sets)],
    }
    if props.from_addresses:
        statement["Condition"] = {"StringLike": {"ses:FromAddress": list(props.from_addresses)}}
    return _document(statement)


def rotation_policy_json(
    *, secret_arn: str, key_arn: str, user_arn: str, replica_key_arns: Sequence[str] = ()
) -> str:
    """The rotation Lambda: its one secret, the keys that encrypt it, its one user's access keys.

    Secrets Manager replicates a new version with the caller's permissions, so the replica keys
    are named too (only when there are replicas).
    """
    statements: list[dict[str, Any]] = [
        {
            "Sid": "RotateOwnSecret",
            "Effect": "Allow",
            "Action": list(ROTATION_SECRET_ACTIONS),
            "Resource": secret_arn,
        },
        {
            "Sid": "EncryptOwnSecret",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
        },
        {
            "Sid": "OwnUsersAccessKeys",
            "Effect": "Allow",
            "Action": list(ACCESS_KEY_ACTIONS),
            "Resource": user_arn,
        },
    ]
    if replica_key_arns:
        statements.append(
            {
                "Sid": "EncryptOwnSecretReplicas",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                "Resource": list(replica_key_arns),
            }
        )
    return _document(*statements)


def read_policy_json(props: SmtpUserProps, key_arns: Sequence[str]) -> str:
    """For a consumer: read the secret (primary or a replica) and decrypt it through Secrets Manager."""
    regions = [props.region, *props.replica_regions]
    return _document(
        {
            "Sid": "ReadSmtpCredentials",
            "Effect": "Allow",
            "Action": list(READ_SECRET_ACTIONS),
            "Resource": [props.secret_arn_pattern(region) for region in regions],
        },
        {
            "Sid": "DecryptSmtpCredentials",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": list(key_arns),
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": [f"secretsmanager.{region}.amazonaws.com" for region in regions]
                }
            },
        },
    )

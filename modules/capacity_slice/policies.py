"""The policy documents of the sending path, as JSON strings that may hold Terraform tokens.

No action contains ``*`` (``PythonFunctionProps`` rejects that); a resource is ``*`` only in key
policies (where it means "this key") and for X-Ray (no resource-level permissions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modules.capacity_slice.props import FoundationProps
from modules.shared.iam import policy_document
from modules.shared.kms import KEY_LOGS_ACTIONS, account_administers_key
from modules.shared.names import LEDGER_PK

LANE_ACTIONS = (
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility", "sqs:SendMessage",
)  # fmt: skip
STATE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


def _document(*statements: dict[str, Any]) -> str:
    return policy_document("sending foundation", *statements)


def key_policy_json(props: FoundationProps) -> str:
    """Key policy: the account administers (through IAM); CloudWatch Logs encrypts the
    environment's Lambda log groups; CloudWatch alarms publish to the encrypted alarm topic."""
    arn = f"arn:{props.partition}"
    log_groups = f"{arn}:logs:{props.region}:{props.account_id}:log-group:/aws/lambda/{props.environment}-*"
    return _document(
        account_administers_key(props.partition, props.account_id),
        {
            "Sid": "CloudWatchLogsForLambdaLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
            "Action": list(KEY_LOGS_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
        },
        {
            # Alarm notifications to an SSE-KMS topic need the key; AWS documents no narrower form.
            "Sid": "CloudWatchAlarmsToEncryptedTopic",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
        },
    )


def alarm_topic_policy_json(props: FoundationProps, topic_arn: str) -> str:
    """Only CloudWatch alarms of this account and region may publish to the alarm topic."""
    alarms = f"arn:{props.partition}:cloudwatch:{props.region}:{props.account_id}:alarm:*"
    return _document(
        {
            "Sid": "CloudWatchAlarmsOfThisAccount",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": props.account_id},
                "ArnLike": {"aws:SourceArn": alarms},
            },
        }
    )


def sender_policy_json(
    *, slice_name: str, lane_arns: Sequence[str], dlq_arn: str, table_arn: str, key_arn: str,
    warmup_pool: str | None = None,
) -> str:  # fmt: skip
    """The sender's queues, DLQ, its own keys in the state table, and the queues' key.

    SES send permissions come from each identity's ``send_policy_json``; logs, X-Ray and the
    environment's key from ``PythonFunction``.
    """
    return _document(
        {
            "Sid": "ConsumeAndRequeueOwnLanes",
            "Effect": "Allow",
            "Action": list(LANE_ACTIONS),
            "Resource": list(lane_arns),
        },
        {"Sid": "DeadLetterOwnDlq", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": dlq_arn},
        {
            "Sid": "OwnKeysInStateTable",
            "Effect": "Allow",
            "Action": list(STATE_ACTIONS),
            "Resource": table_arn,
            "Condition": {
                "ForAllValues:StringLike": {
                    "dynamodb:LeadingKeys": [
                        LEDGER_PK,  # the account's send ledger (functions/common/ledger.py)
                        f"msg#{slice_name}#*",
                        # The warm-up counter of the pool it moves to (functions/common/warmup_counter.py).
                        *([f"warmup#{warmup_pool}#*"] if warmup_pool else []),
                    ]
                }
            },
        },
        {
            "Sid": "QueueMessagesKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
        },
    )

"""The policy documents of the sending path, as JSON strings that may hold Terraform tokens.

No action contains ``*`` (``PythonFunctionProps`` rejects that); a resource is ``*`` only in key
policies (where it means "this key") and for X-Ray (no resource-level permissions).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modules.shared.iam import policy_document
from modules.shared.names import LEDGER_PK

LANE_ACTIONS = (
    "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility", "sqs:SendMessage",
)  # fmt: skip
STATE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")


def _document(*statements: dict[str, Any]) -> str:
    return policy_document("capacity slice (sending path)", *statements)


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

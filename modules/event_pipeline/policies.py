"""The event pipeline's policy documents (JSON strings that may hold Terraform references).

No action contains ``*``; a resource is ``*`` only in the key policy, where it means "this key".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from modules.event_pipeline.props import EventPipelineProps
from modules.shared.iam import policy_document
from modules.shared.kms import KEY_LOGS_ACTIONS, account_administers_key


def _document(*statements: dict[str, Any]) -> str:
    return policy_document("event pipeline", *statements)


def key_policy_json(props: EventPipelineProps) -> str:
    """The events key: the account administers it through IAM; CloudWatch Logs encrypts the
    logger's log group; SNS encrypts what its subscriptions dead-letter (only for our topics)."""
    arn = f"arn:{props.partition}"
    log_group = f"{arn}:logs:{props.region}:{props.account_id}:log-group:/aws/lambda/{props.function_name}"
    return _document(
        account_administers_key(props.partition, props.account_id),
        {
            "Sid": "CloudWatchLogsForTheLoggerLogGroup",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
            "Action": list(KEY_LOGS_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group}},
        },
        {
            # An SNS subscription's redrive into an SSE-KMS queue encrypts as SNS, not as a role.
            "Sid": "SnsDeadLettersFromEventTopics",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:SourceArn": list(props.topic_arns)}},
        },
    )


def dlq_policy_json(dlq_arn: str, topic_arns: Sequence[str]) -> str:
    """Only the event topics' subscriptions may dead-letter into the logger's DLQ (the Lambda's
    own asynchronous failures arrive through its role)."""
    return _document(
        {
            "Sid": "SnsSubscriptionRedrive",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": dlq_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": list(topic_arns)}},
        }
    )


def logger_policy_json(
    *, table_arn: str, dlq_arn: str, key_arn: str, status_queue_arn: str | None = None
) -> str:
    """The logger writes the status table with UpdateItem only (the slow path reads the item
    back from the failed condition), dead-letters, and sends status messages."""
    statements: list[dict[str, object]] = [
        {"Sid": "RecordStatus", "Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": table_arn},
        {"Sid": "DeadLetter", "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": dlq_arn},
        {
            "Sid": "EventsKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
        },
    ]
    if status_queue_arn:
        statements.append(
            {
                "Sid": "StatusQueue",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": status_queue_arn,
            }
        )
    return _document(*statements)


def status_queue_consumer_policy_json(*, status_queue_arn: str, key_arn: str) -> str:
    """IAM policy JSON for an application reading the status queue."""
    return _document(
        {
            "Sid": "ConsumeStatusQueue",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": status_queue_arn,
        },
        {"Sid": "DecryptStatusQueue", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": key_arn},
    )

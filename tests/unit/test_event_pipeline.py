"""EventPipeline: status table, logger subscribed to the given topics, DLQ, status queue, least
privilege, alarms, outputs; props validation. The topics are created here (the configuration set
module provides them in a stack)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.event_logger import handler
from functions.event_logger.metrics import METRICS_NAMESPACE as RUNTIME_NAMESPACE
from functions.event_logger.status import HASH_KEY, TTL_ATTRIBUTE
from modules.event_pipeline.props import METRICS_NAMESPACE, EventPipelineProps
from modules.shared.iam import policy_statements, statement_actions

ACCOUNT = "111111111111"
TOPICS = ("${aws_sns_topic.transactional.arn}", "${aws_sns_topic.bulk.arn}")
KEY = "${aws_kms_key.events.arn}"
TABLE_ARN = "${aws_dynamodb_table.event_status.arn}"
DLQ_ARN = "${aws_sqs_queue.event_logger_dlq.arn}"
QUEUE_ARN = "${aws_sqs_queue.event_status.arn}"


def props(**overrides: Any) -> EventPipelineProps:
    values: dict[str, Any] = {"environment": "prod", "account_id": ACCOUNT, "region": "eu-central-1",
                              "topic_arns": TOPICS, "status_queue": True, "alarm_topic_arn": "arn:aws:sns:"
                              "eu-central-1:111111111111:prod-ses-alarms"}  # fmt: skip
    return EventPipelineProps(**{**values, **overrides})


def build(pipeline_props: EventPipelineProps) -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider
    from cdktn_provider_aws.sns_topic import SnsTopic

    from modules.event_pipeline.construct import EventPipeline

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    for name in ("transactional", "bulk"):
        SnsTopic(stack, name, name=f"prod-ses-events-{name}", kms_master_key_id="alias/aws/sns")
    EventPipeline(stack, "events", pipeline_props)
    return dict(json.loads(Testing.synth(stack)))


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build(props())


def resources(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return dict(doc["resource"].get(kind, {}))


def function(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(resources(doc, "aws_lambda_function")["event_logger"])


def logger_policy(doc: dict[str, Any]) -> list[dict[str, Any]]:
    policy = resources(doc, "aws_iam_role_policy")["event_logger_event_logger"]
    return policy_statements(policy["policy"])


def test_the_status_table_is_keyed_by_message_id_with_ttl_pitr_and_the_events_key(
    doc: dict[str, Any],
) -> None:
    table = resources(doc, "aws_dynamodb_table")["event_status"]
    assert (table["name"], table["hash_key"], table["billing_mode"]) == ("prod-ses-event-status", HASH_KEY,
                                                                          "PAY_PER_REQUEST")  # fmt: skip
    assert table["ttl"] == {"attribute_name": TTL_ATTRIBUTE, "enabled": True}
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": KEY}
    assert table["deletion_protection_enabled"] is True


def test_the_events_key_rotates_and_lets_only_our_topics_use_it_through_sns(doc: dict[str, Any]) -> None:
    key = resources(doc, "aws_kms_key")["events"]
    assert key["enable_key_rotation"] is True
    statements = {s["Sid"]: s for s in policy_statements(key["policy"])}
    sns = statements["SnsDeadLettersFromEventTopics"]
    assert sns["Condition"] == {"ArnEquals": {"aws:SourceArn": list(TOPICS)}}
    logs = statements["CloudWatchLogsForTheLoggerLogGroup"]["Condition"]["ArnEquals"]
    assert logs["kms:EncryptionContext:aws:logs:arn"].endswith(":log-group:/aws/lambda/prod-ses-event-logger")


def test_the_logger_subscribes_to_each_topic_with_a_permission_for_that_topic_only(
    doc: dict[str, Any],
) -> None:
    subscriptions = resources(doc, "aws_sns_topic_subscription")
    permissions = resources(doc, "aws_lambda_permission")
    assert sorted(s["topic_arn"] for s in subscriptions.values()) == sorted(TOPICS)
    for subscription in subscriptions.values():
        assert (subscription["protocol"], subscription["endpoint"]) == (
            "lambda",
            "${aws_lambda_function.event_logger.arn}",
        )
        assert json.loads(subscription["redrive_policy"]) == {"deadLetterTargetArn": DLQ_ARN}
    assert sorted(p["source_arn"] for p in permissions.values()) == sorted(TOPICS)
    assert {(p["principal"], p["action"]) for p in permissions.values()} == {
        ("sns.amazonaws.com", "lambda:InvokeFunction")
    }


def test_the_logger_runs_the_event_logger_job_with_its_dlq(doc: dict[str, Any]) -> None:
    fn = function(doc)
    assert fn["function_name"] == "prod-ses-event-logger"
    assert fn["handler"] == "functions.event_logger.handler.lambda_handler"
    assert fn["dead_letter_config"] == {"target_arn": DLQ_ARN}
    assert fn["kms_key_arn"] == KEY
    assert fn["reserved_concurrent_executions"] == 10


def test_the_logger_environment_is_what_the_handler_reads(doc: dict[str, Any]) -> None:
    variables = function(doc)["environment"]["variables"]
    assert set(variables) == set(handler.ENVIRONMENT_VARIABLES)
    assert variables["STATUS_TTL_SECONDS"] == str(30 * 86400)
    assert variables["STATUS_QUEUE_URL"] == "${aws_sqs_queue.event_status.url}"
    assert variables["METRICS_NAMESPACE"] == METRICS_NAMESPACE == RUNTIME_NAMESPACE


def test_the_logger_may_only_update_the_table_and_send_to_its_queues(doc: dict[str, Any]) -> None:
    grants = {(a, json.dumps(s["Resource"])) for s in logger_policy(doc) for a in statement_actions(s)}
    assert grants == {
        ("dynamodb:UpdateItem", json.dumps(TABLE_ARN)), ("sqs:SendMessage", json.dumps(DLQ_ARN)),
        ("sqs:SendMessage", json.dumps(QUEUE_ARN)), ("kms:Decrypt", json.dumps(KEY)),
        ("kms:GenerateDataKey", json.dumps(KEY)),
    }  # fmt: skip


def test_only_the_event_topics_may_dead_letter_into_the_dlq(doc: dict[str, Any]) -> None:
    policy = resources(doc, "aws_sqs_queue_policy")["event_logger_dlq"]
    (statement,) = policy_statements(policy["policy"])
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": list(TOPICS)}}


def test_queues_are_encrypted_with_the_events_key(doc: dict[str, Any]) -> None:
    queues = resources(doc, "aws_sqs_queue")
    assert set(queues) == {"event_logger_dlq", "event_status"}
    assert {q["kms_master_key_id"] for q in queues.values()} == {KEY}
    assert queues["event_logger_dlq"]["message_retention_seconds"] == 14 * 24 * 3600


def test_the_malformed_events_alarm_watches_the_loggers_metric_without_dimensions(
    doc: dict[str, Any],
) -> None:
    alarm = resources(doc, "aws_cloudwatch_metric_alarm")["event_malformed"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == (
        METRICS_NAMESPACE,
        "MalformedEvents",
        "Sum",
    )
    assert "dimensions" not in alarm
    assert alarm["threshold"] == 1
    assert alarm["alarm_actions"] == ["arn:aws:sns:eu-central-1:111111111111:prod-ses-alarms"]
    assert set(resources(doc, "aws_cloudwatch_metric_alarm")) == {"event_malformed", "event_logger_dlq",
                                                                   "event_logger_errors"}  # fmt: skip


def test_outputs_name_the_table_and_queues_with_descriptions(doc: dict[str, Any]) -> None:
    outputs = doc["output"]
    assert set(outputs) >= {"event_status_table_name", "event_status_table_arn", "event_status_queue_url",
                            "event_logger_dlq_url"}  # fmt: skip
    assert all(o["description"] for o in outputs.values())


def test_without_a_status_queue_there_is_no_queue_no_grant_and_no_output() -> None:
    doc = build(props(status_queue=False, topic_arns=TOPICS[:1], alarm_topic_arn=None))
    assert set(resources(doc, "aws_sqs_queue")) == {"event_logger_dlq"}
    assert "event_status_queue_url" not in doc["output"]
    assert function(doc)["environment"]["variables"]["STATUS_QUEUE_URL"] == ""
    assert all("alarm_actions" not in a for a in resources(doc, "aws_cloudwatch_metric_alarm").values())
    assert len(resources(doc, "aws_sns_topic_subscription")) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"topic_arns": ()}, "topic_arns needs at least one SNS topic"),
        ({"topic_arns": ("arn:aws:sqs:eu-central-1:111111111111:q",)}, "not an SNS topic ARN"),
        ({"topic_arns": (TOPICS[0], TOPICS[0])}, "listed twice"),
        ({"status_ttl_days": 0}, "status_ttl_days must be 1-3650, got 0"),
        ({"history_limit": 51}, "history_limit must be 1-50, got 51"),
        ({"environment": "Prod"}, "environment must be lower-case"),
        ({"log_retention_days": 10}, "log_retention_days must be a value CloudWatch accepts"),
    ],
)
def test_bad_props_are_refused_with_a_readable_error(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        props(**overrides)

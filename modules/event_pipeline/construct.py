"""``EventPipeline``: SES events from the configuration sets' SNS topics into the event logger,
the status table, the optional status queue, and an alarm on malformed input."""

from __future__ import annotations

import json
from typing import Any

from cdktn import TerraformOutput
from cdktn_provider_aws.lambda_permission import LambdaPermission
from cdktn_provider_aws.sns_topic_subscription import SnsTopicSubscription
from cdktn_provider_aws.sqs_queue import SqsQueue
from cdktn_provider_aws.sqs_queue_policy import SqsQueuePolicy
from constructs import Construct

from modules.alarms import metric_alarm
from modules.event_pipeline.policies import (
    dlq_policy_json,
    key_policy_json,
    logger_policy_json,
    status_queue_consumer_policy_json,
)
from modules.event_pipeline.props import EVENT_LOGGER_JOB, METRICS_NAMESPACE, EventPipelineProps
from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.checkov import CODE_SIGNING
from modules.shared.storage import customer_key, encrypted_table

# The attribute names functions/event_logger/status.py writes (a test keeps the two in step).
STATUS_TABLE_KEY = "message_id"
STATUS_TABLE_TTL = "expires_at"
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum
STATUS_QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
ALARM_PERIOD_SECONDS = 300
EVENT_LOGGER_CHECKOV_SKIPS = {
    "CKV_AWS_117": "The event logger calls only AWS APIs (DynamoDB, SQS, KMS); a VPC adds NAT or "
    "interface endpoints and protects nothing here.",
    "CKV_AWS_272": CODE_SIGNING,
}


class EventPipeline(Construct):
    """The event pipeline of one stack (``<p>`` = ``<env>-ses-event``, addresses ``<type>.event…``).

    * ``aws_kms_key.events`` (rotation on) + ``alias/<env>-ses-events``: the table, the queues,
      the logger's log group and environment.
    * ``aws_dynamodb_table.event_status`` ``<p>-status``: key ``message_id``, on demand, TTL on
      ``expires_at``, point-in-time recovery, SSE with the key, deletion protection.
    * the logger (:class:`PythonFunction`, job ``event_logger``) ``<p>-logger``, subscribed to each
      topic of ``props.topic_arns`` (``aws_sns_topic_subscription`` + ``aws_lambda_permission`` for
      that topic only).
    * ``aws_sqs_queue.event_logger_dlq`` ``<p>-logger-dlq``: the logger's failed asynchronous
      invocations and the subscriptions' undeliverable events.
    * ``aws_sqs_queue.event_status`` ``<p>-status`` when ``props.status_queue``.
    * alarms: malformed events, the DLQ not empty, logger errors.
    * outputs ``event_status_table_name``, ``event_status_table_arn``, ``event_logger_dlq_url``
      and ``event_status_queue_url``.

    Example::

        EventPipeline(stack, "events", EventPipelineProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            topic_arns=[configuration_set.topic_arn], status_queue=True,
            alarm_topic_arn=foundation.alarm_topic_arn,
        ))
    """

    def __init__(self, scope: Construct, id_: str, props: EventPipelineProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.tags = {**props.tags, "component": "event-pipeline"}
        self.key = customer_key(
            self,
            description=f"SES platform {props.environment}: event status table, queues, logger logs",
            alias=f"{props.environment}-ses-events",
            policy=key_policy_json(props),
            logical_id="events",
            tags=self.tags,
        )
        self.table = encrypted_table(
            self, "table", name=f"{props.name}-status", hash_key=STATUS_TABLE_KEY,
            ttl_attribute=STATUS_TABLE_TTL, key=self.key, logical_id="event_status", tags=self.tags,
        )  # fmt: skip
        self.dlq = self._queue("logger-dlq", DLQ_RETENTION_SECONDS, "event_logger_dlq")
        SqsQueuePolicy(
            self, "dlq_policy", queue_url=self.dlq.url, policy=dlq_policy_json(self.dlq.arn, props.topic_arns)
        ).override_logical_id("event_logger_dlq")
        self.status_queue = (
            self._queue("status", STATUS_QUEUE_RETENTION_SECONDS, "event_status")
            if props.status_queue
            else None
        )
        self.function = PythonFunction(self, "logger", self._function_props(), logical_id="event_logger")
        for index, topic_arn in enumerate(props.topic_arns):
            self._subscribe(index, topic_arn)
        self._alarms()
        self._outputs()

    # --- read-only attributes ---------------------------------------------------------------

    @property
    def status_table_name(self) -> str:
        return self.table.name

    @property
    def status_table_arn(self) -> str:
        return self.table.arn

    @property
    def status_queue_url(self) -> str | None:
        return self.status_queue.url if self.status_queue else None

    @property
    def key_arn(self) -> str:
        return self.key.arn

    def status_queue_consumer_policy_json(self) -> str:
        """IAM policy JSON for an application reading the status queue (needs ``status_queue``)."""
        if self.status_queue is None:
            raise ValueError("this event pipeline has no status queue (props.status_queue=False)")
        return status_queue_consumer_policy_json(status_queue_arn=self.status_queue.arn, key_arn=self.key.arn)

    # --- parts ---------------------------------------------------------------------------------

    def _queue(self, part: str, retention: int, logical_id: str) -> SqsQueue:
        queue = SqsQueue(
            self,
            part,
            name=f"{self.props.name}-{part}",
            kms_master_key_id=self.key.arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=retention,
            tags=self.tags,
        )
        queue.override_logical_id(logical_id)
        return queue

    def _function_props(self) -> PythonFunctionProps:
        props = self.props
        policy = logger_policy_json(
            table_arn=self.table.arn,
            dlq_arn=self.dlq.arn,
            key_arn=self.key.arn,
            status_queue_arn=self.status_queue.arn if self.status_queue else None,
        )
        return PythonFunctionProps(
            function_name=props.function_name,
            job=EVENT_LOGGER_JOB,
            description=f"Logs the SES events of {props.environment}, keeps each message's status",
            kms_key_arn=self.key.arn,
            reserved_concurrency=props.reserved_concurrency,
            timeout_seconds=props.timeout_seconds,
            memory_mb=props.memory_mb,
            log_retention_days=props.log_retention_days,
            dead_letter_target_arn=self.dlq.arn,
            policies={"event-logger": policy},
            checkov_skips=EVENT_LOGGER_CHECKOV_SKIPS,
            environment={
                "STATUS_TABLE": self.table.name,
                "STATUS_QUEUE_URL": self.status_queue.url if self.status_queue else "",
                "STATUS_TTL_SECONDS": str(props.status_ttl_days * 86400),
                "HISTORY_LIMIT": str(props.history_limit),
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
            },
            tags=self.tags,
        )

    def _subscribe(self, index: int, topic_arn: str) -> None:
        permission = LambdaPermission(
            self,
            f"permission_{index}",
            statement_id=f"sns-events-{index}",
            action="lambda:InvokeFunction",
            function_name=self.function.function_name,
            principal="sns.amazonaws.com",
            source_arn=topic_arn,  # this topic only: no other topic may invoke the logger
        )
        permission.override_logical_id(f"event_logger_{index}")
        SnsTopicSubscription(
            self,
            f"subscription_{index}",
            topic_arn=topic_arn,
            protocol="lambda",
            endpoint=self.function.function_arn,
            # Events SNS cannot deliver (the Lambda gone or denied for days) land in the DLQ.
            redrive_policy=json.dumps({"deadLetterTargetArn": self.dlq.arn}),
            depends_on=[permission],
        ).override_logical_id(f"event_logger_{index}")

    def _alarm(self, part: str, **fields: Any) -> None:
        metric_alarm(self, part, name_prefix=self.props.name, logical_prefix="event",
                     period=ALARM_PERIOD_SECONDS, topic_arn=self.props.alarm_topic_arn, tags=self.tags,
                     **fields)  # fmt: skip

    def _alarms(self) -> None:
        env = self.props.environment
        self._alarm(
            "malformed",
            description=f"SES events of {env}: records that are not SES events (see malformed_event "
            "in the logger's log group, with the raw record)",
            namespace=METRICS_NAMESPACE,
            metric="MalformedEvents",
            statistic="Sum",
            dimensions={},
            threshold=self.props.malformed_alarm_threshold,
        )
        self._alarm(
            "logger_dlq",
            description=f"SES events of {env}: events in the logger's DLQ (failed after retries, or "
            "undeliverable by SNS); redrive them to the logger once fixed",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            statistic="Maximum",
            dimensions={"QueueName": self.dlq.name},
            threshold=1,
        )
        self._alarm(
            "logger_errors",
            description=f"SES events of {env}: the event logger failed an invocation (it is retried)",
            namespace="AWS/Lambda",
            metric="Errors",
            statistic="Sum",
            dimensions={"FunctionName": self.function.function_name},
            threshold=1,
        )

    def _outputs(self) -> None:
        outputs = {
            "event_status_table_name": (self.table.name, "DynamoDB table of each SES message's status by "
                                        "message id (one entry per recipient)"),
            "event_status_table_arn": (self.table.arn, "ARN of the SES event status table"),
            "event_logger_dlq_url": (self.dlq.url, "SQS queue holding SES events the event logger could "
                                     "not record; redrive it once the cause is fixed"),
        }  # fmt: skip
        if self.status_queue is not None:
            outputs["event_status_queue_url"] = (
                self.status_queue.url,
                "SQS queue with one status message per SES event, for applications (at least once)",
            )
        for name, (value, description) in outputs.items():
            TerraformOutput(self, name, value=value, description=description).override_logical_id(name)

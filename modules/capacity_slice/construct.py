"""``CapacitySlice``: a slice's two SQS lanes and DLQ, its sender Lambda, alarms and outputs."""

from __future__ import annotations

import json
from typing import Any

from cdktn import Fn, TerraformOutput
from cdktn_provider_aws.lambda_event_source_mapping import (
    LambdaEventSourceMapping,
    LambdaEventSourceMappingScalingConfig,
)
from cdktn_provider_aws.sqs_queue import SqsQueue
from cdktn_provider_aws.sqs_queue_redrive_allow_policy import SqsQueueRedriveAllowPolicy
from constructs import Construct

from modules.alarms import metric_alarm
from modules.capacity_slice.policies import sender_policy_json
from modules.capacity_slice.props import LANES, CapacitySliceProps
from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.checkov import CODE_SIGNING
from modules.shared.foundation import StackFoundation
from modules.shared.names import METRICS_NAMESPACE

SENDER_JOB = "sender"
LANE_RETENTION_SECONDS = 4 * 24 * 3600  # SQS default, stated: the DLQ must keep messages longer
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum
MESSAGE_BYTES = 256 * 1024
"""Every queue of a slice holds messages up to this size (body + attributes), stated rather than
left to SQS's default (which grew to 1 MiB in 2025): the sender's contract leaves room below it
for the attributes a DLQ or re-enqueued copy adds (``functions.sender.contract.SQS_MESSAGE_BYTES``
is the same number), and the DLQ takes any message a lane can hold."""
# Built-in checkov checks that do not apply to the sender, with the reason (README: "checkov skips").
SENDER_CHECKOV_SKIPS = {
    "CKV_AWS_117": "The sender calls only AWS APIs (SQS, SES, DynamoDB, KMS, CloudWatch); a VPC adds "
    "NAT or interface endpoints and protects nothing here.",
    "CKV_AWS_272": CODE_SIGNING,
}


class CapacitySlice(Construct):
    """A capacity slice: where applications enqueue mail and the Lambda that sends it.

    Resources (``<p>`` = ``<env>-<slice>``, addresses ``<type>.<slice>_<part>``):

    * ``aws_sqs_queue`` ``<p>-transactional`` and ``<p>-bulk`` (the lanes) and ``<p>-dlq``; a
      message received ``max_receive_count`` times moves to the DLQ; the DLQ accepts only these two.
    * the sender (:class:`PythonFunction`, job ``sender``) with an event source mapping per lane:
      partial batch responses, ``maximum_concurrency`` = ``sender_max_concurrency``.
    * alarms to the stack's alarm topic: DLQ not empty, oldest message per lane, sender errors,
      and ``SesPlatform/SlicePaused`` (published by the sender when SES pauses sending).
    * outputs ``<slice>_transactional_queue_url``, ``<slice>_bulk_queue_url``, ``<slice>_dlq_url``.

    Example::

        foundation = StackFoundation(stack, "sending", FoundationProps(...))
        CapacitySlice(stack, "slice_at_de", CapacitySliceProps(
            environment="prod", name="at-de", rate_per_second=60, identities=[news_identity],
        ), foundation=foundation)
    """

    def __init__(
        self, scope: Construct, id_: str, props: CapacitySliceProps, *, foundation: StackFoundation
    ) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.foundation = foundation
        self.slug = props.name.replace("-", "_")
        self.tags = {**props.tags, "slice": props.name}
        self.dlq = self._queue("dlq", retention=DLQ_RETENTION_SECONDS, redrive=False)
        self.lanes = {
            lane: self._queue(lane, retention=LANE_RETENTION_SECONDS, redrive=True) for lane in LANES
        }
        SqsQueueRedriveAllowPolicy(
            self,
            "dlq_redrive_allow",
            queue_url=self.dlq.url,
            redrive_allow_policy=json.dumps(
                {"redrivePermission": "byQueue", "sourceQueueArns": [q.arn for q in self.lanes.values()]}
            ),
        ).override_logical_id(f"{self.slug}_dlq")
        self.sender = PythonFunction(self, "sender", self._sender_props(), logical_id=f"{self.slug}_sender")
        sender_policy = self.sender.policies["sender"]
        self.event_source_mappings = {}
        for lane, queue in self.lanes.items():
            mapping = LambdaEventSourceMapping(
                self,
                f"{lane}_mapping",
                event_source_arn=queue.arn,
                function_name=self.sender.function_arn,
                batch_size=props.batch_size,
                maximum_batching_window_in_seconds=props.max_batching_window_seconds,
                function_response_types=["ReportBatchItemFailures"],
                scaling_config=LambdaEventSourceMappingScalingConfig(
                    maximum_concurrency=props.sender_max_concurrency
                ),
                # Creating a mapping checks that the role may receive from the queue.
                depends_on=[sender_policy],
                tags=self.tags,
            )
            mapping.override_logical_id(f"{self.slug}_{lane}")
            self.event_source_mappings[lane] = mapping
        self._alarms()
        self._outputs()

    # --- read-only attributes ---------------------------------------------------------------

    @property
    def queue_urls(self) -> dict[str, str]:
        return {lane: queue.url for lane, queue in self.lanes.items()}

    @property
    def queue_arns(self) -> dict[str, str]:
        return {lane: queue.arn for lane, queue in self.lanes.items()}

    @property
    def dlq_url(self) -> str:
        return self.dlq.url

    @property
    def dlq_arn(self) -> str:
        return self.dlq.arn

    @property
    def function_arn(self) -> str:
        return self.sender.function_arn

    def enqueue_policy_json(self) -> str:
        """IAM policy JSON for an application that enqueues mail on this slice's lanes."""
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "EnqueueOnSliceLanes",
                        "Effect": "Allow",
                        "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
                        "Resource": list(self.queue_arns.values()),
                    },
                    {
                        "Sid": "EncryptForSliceLanes",
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": self.foundation.key_arn,
                    },
                ],
            }
        )

    # --- parts ---------------------------------------------------------------------------------

    def _queue(self, part: str, *, retention: int, redrive: bool) -> SqsQueue:
        props = self.props
        queue = SqsQueue(
            self,
            part,
            name=f"{props.prefix}-{part}",
            kms_master_key_id=self.foundation.key_arn,
            kms_data_key_reuse_period_seconds=300,
            visibility_timeout_seconds=props.visibility_timeout_seconds,
            message_retention_seconds=retention,
            max_message_size=MESSAGE_BYTES,
            receive_wait_time_seconds=20,
            redrive_policy=json.dumps(
                {"deadLetterTargetArn": self.dlq.arn, "maxReceiveCount": props.max_receive_count}
            )
            if redrive
            else None,
            tags=self.tags,
        )
        queue.override_logical_id(f"{self.slug}_{part}")
        return queue

    def _sender_props(self) -> PythonFunctionProps:
        props = self.props
        foundation = self.foundation
        lanes = list(self.lanes.values())
        policies = {
            "sender": sender_policy_json(
                slice_name=props.name,
                lane_arns=[q.arn for q in lanes],
                dlq_arn=self.dlq.arn,
                table_arn=foundation.table_arn,
                key_arn=foundation.key_arn,
                warmup_pool=props.warmup_pool,
            )
        }
        for identity in props.identities:
            # The identity's own default configuration set applies when the slice names none.
            sets = dict.fromkeys(
                s
                for s in (
                    props.configuration_set,
                    props.dedicated_configuration_set,
                    identity.props.configuration_set_name,
                )
                if s
            )
            policies[f"ses-send-{identity.props.domain}"] = identity.send_policy_json(
                configuration_set_names=list(sets)
            )
        return PythonFunctionProps(
            function_name=props.function_name,
            job=SENDER_JOB,
            description=f"Sends slice {props.name}'s queued mail through SES "
            f"({_number(props.rate_per_second)} recipients/s guaranteed)",
            kms_key_arn=foundation.key_arn,
            reserved_concurrency=props.reserved_concurrency,
            timeout_seconds=props.sender_timeout_seconds,
            memory_mb=props.sender_memory_mb,
            log_retention_days=props.log_retention_days,
            # Only asynchronous invocations use it (SQS invokes synchronously): a last resort.
            dead_letter_target_arn=self.dlq.arn,
            policies=policies,
            checkov_skips=SENDER_CHECKOV_SKIPS,
            environment={
                "SLICE_NAME": props.name,
                "RATE_PER_SECOND": _number(props.rate_per_second),
                "ACCOUNT_RATE_PER_SECOND": _number(props.account_rate_per_second or props.rate_per_second),
                "STATE_TABLE": foundation.table_name,
                "DLQ_URL": self.dlq.url,
                # {"<lane ARN>": "<lane URL>"}: the sender finds a record's queue by its eventSourceARN.
                # (A dict with token keys does not survive synthesis; zipmap builds it in Terraform.)
                "QUEUE_URLS": Fn.jsonencode(Fn.zipmap([q.arn for q in lanes], [q.url for q in lanes])),
                "CONFIGURATION_SET": props.configuration_set or "",
                "ALLOWED_FROM_DOMAINS": ",".join(i.props.domain for i in props.identities),
                "METRICS_NAMESPACE": METRICS_NAMESPACE,
                # The sender re-enqueues a retry instead of spending the last receive before redrive.
                "MAX_RECEIVE_COUNT": str(props.max_receive_count),
                # While the slice warms up a dedicated IP pool (empty otherwise: no routing).
                "WARMUP_POOL": props.warmup_pool or "",
                "DEDICATED_CONFIGURATION_SET": props.dedicated_configuration_set or "",
                # The slice's shadow-copy archive (empty: none); see modules/shadow_archive.
                "ARCHIVE_ADDRESS": props.archive_address or "",
            },
            tags=self.tags,
        )

    def _alarm(self, part: str, **fields: Any) -> None:
        metric_alarm(self, part, name_prefix=self.props.prefix, logical_prefix=self.slug,
                     topic_arn=self.foundation.alarm_topic_arn, tags=self.tags, **fields)  # fmt: skip

    def _alarms(self) -> None:
        props, name = self.props, self.props.name
        self._alarm(
            "dlq_messages",
            description=f"Slice {name}: messages in the DLQ (invalid, failed permanently or redriven)",
            namespace="AWS/SQS",
            metric="ApproximateNumberOfMessagesVisible",
            statistic="Maximum",
            dimensions={"QueueName": self.dlq.name},
            threshold=props.dlq_alarm_threshold,
        )
        for lane, queue in self.lanes.items():
            self._alarm(
                f"{lane}_oldest_message",
                description=f"Slice {name}: the {lane} lane's oldest message waits too long",
                namespace="AWS/SQS",
                metric="ApproximateAgeOfOldestMessage",
                statistic="Maximum",
                dimensions={"QueueName": queue.name},
                threshold=props.oldest_message_alarm_seconds,
            )
        self._alarm(
            "sender_errors",
            description=f"Slice {name}: the sender Lambda failed (whole batches return to the lanes)",
            namespace="AWS/Lambda",
            metric="Errors",
            statistic="Sum",
            dimensions={"FunctionName": self.sender.function_name},
            threshold=1,
        )
        self._alarm(
            "paused",
            description=f"Slice {name}: SES answered SendingPaused or AccountSuspended; sending stopped",
            namespace=METRICS_NAMESPACE,
            metric="SlicePaused",
            statistic="Maximum",
            dimensions={"Slice": name},
            threshold=1,
        )

    def _outputs(self) -> None:
        name = self.props.name
        for lane, queue in self.lanes.items():
            TerraformOutput(
                self,
                f"{lane}_queue_url",
                value=queue.url,
                description=f"SQS URL of slice {name}'s {lane} lane: applications enqueue {lane} mail here",
            ).override_logical_id(f"{self.slug}_{lane}_queue_url")
        TerraformOutput(
            self,
            "dlq_url",
            value=self.dlq.url,
            description=f"SQS URL of slice {name}'s dead-letter queue (messages that will not be sent)",
        ).override_logical_id(f"{self.slug}_dlq_url")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

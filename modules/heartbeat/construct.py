"""``Heartbeat``: the per-second allocator of one account-region — Lambda, Express loop, schedule."""

from __future__ import annotations

import json
from typing import Any

from cdktn import TerraformOutput
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetRetryPolicy,
)
from cdktn_provider_aws.sfn_state_machine import (
    SfnStateMachine,
    SfnStateMachineLoggingConfiguration,
    SfnStateMachineTracingConfiguration,
)
from constructs import Construct

from modules.alarms import metric_alarm
from modules.heartbeat.props import HEARTBEAT_JOB, HeartbeatProps
from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.naming import with_region
from modules.shared.checkov import CODE_SIGNING
from modules.shared.foundation import StackFoundation
from modules.shared.iam import policy_document
from modules.shared.names import LEDGER_PK

# Wait until the next whole multiple of the tick: "2026-03-01T12:01:37Z" (no fraction, RFC 3339).
TIMESTAMP_PICTURE = "[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01]Z"
# The sender's two skips, for the same reasons (README: "checkov skips"), and CKV_AWS_116.
HEARTBEAT_CHECKOV_SKIPS = {
    "CKV_AWS_117": "The heartbeat calls only AWS APIs (SES GetAccount, SQS, DynamoDB, KMS); a VPC "
    "adds NAT or interface endpoints and protects nothing here.",
    "CKV_AWS_272": CODE_SIGNING,
    # The sender has a DLQ (its slice's); the heartbeat has nothing a DLQ could hold.
    "CKV_AWS_116": "Step Functions invokes the heartbeat synchronously; a dead-letter queue only "
    "receives failed asynchronous invocations, and a failed tick is replaced by the next one a "
    "second later.",
}
# CloudWatch Logs delivery for Step Functions (vended logs): AWS documents these with resource "*"
# (the delivery APIs have no resource-level permissions).
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
)  # fmt: skip
XRAY_ACTIONS = (
    "xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
)  # fmt: skip


def _document(*statements: dict[str, Any]) -> str:
    return policy_document("heartbeat", *statements)


def _assume(service: str, conditions: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": "sts:AssumeRole",
    }
    if conditions:
        statement["Condition"] = conditions
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def state_machine_definition(props: HeartbeatProps, function_arn: str) -> str:
    """The Express loop, in JSONata: Tick (invoke) → Continue? (Choice) → NextSecond (Wait) → Tick.

    * ``Start`` remembers when the last tick is due: the execution's start time plus
      ``duration_seconds`` minus one tick, so the run ends just before the next minute's run begins.
    * ``Tick`` invokes the Lambda with ``{"tick": n, "execution": name}`` and throws its answer
      away (``Output: {}``); it then computes ``next``, the next whole multiple of
      ``tick_seconds`` after now. A failed tick is caught, counted and skipped.
    * ``Continue?`` fails the execution after ``max_failed_ticks`` failed ticks, waits for ``next``
      while ``next`` is not past the last tick, and otherwise succeeds.
    * ``NextSecond`` waits until the timestamp ``next``: ticks land on whole seconds however long
      the Lambda took (``Seconds: 1`` would drift by the Lambda's duration each tick).
    """
    step_ms = props.tick_seconds * 1000
    next_tick = f"{{% ($floor($millis() / {step_ms}) + 1) * {step_ms} %}}"
    last_tick_ms = (props.duration_seconds - props.tick_seconds) * 1000
    definition = {
        "Comment": f"SES heartbeat of {props.environment} in {props.region}: one tick per "
        f"{props.tick_seconds} s for {props.duration_seconds} s, started every minute",
        "QueryLanguage": "JSONata",
        "TimeoutSeconds": props.duration_seconds + 2 * props.timeout_seconds + 10,
        "StartAt": "Start",
        "States": {
            "Start": {
                "Type": "Pass",
                "Assign": {
                    "last": f"{{% $toMillis($states.context.Execution.StartTime) + {last_tick_ms} %}}",
                    "tick": 0,
                    "failed": 0,
                },
                "Next": "Tick",
            },
            "Tick": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Arguments": {
                    "FunctionName": function_arn,
                    "Payload": {"tick": "{% $tick %}", "execution": "{% $states.context.Execution.Name %}"},
                },
                "TimeoutSeconds": props.timeout_seconds,
                "Assign": {"tick": "{% $tick + 1 %}", "next": next_tick},
                "Output": {},
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "Assign": {
                            "tick": "{% $tick + 1 %}",
                            "failed": "{% $failed + 1 %}",
                            "next": next_tick,
                        },
                        "Output": {},
                        "Next": "Continue?",
                    }
                ],
                "Next": "Continue?",
            },
            "Continue?": {
                "Type": "Choice",
                "Choices": [
                    {"Condition": f"{{% $failed >= {props.max_failed_ticks} %}}", "Next": "GiveUp"},
                    {"Condition": "{% $next <= $last %}", "Next": "NextSecond"},
                ],
                "Default": "Done",
            },
            "NextSecond": {
                "Type": "Wait",
                "Timestamp": f"{{% $fromMillis($next, '{TIMESTAMP_PICTURE}') %}}",
                "Next": "Tick",
            },
            "Done": {"Type": "Succeed"},
            "GiveUp": {
                "Type": "Fail",
                "Error": "HeartbeatFailing",
                "Cause": f"{props.max_failed_ticks} ticks of this minute failed; slices fall back to "
                "their guaranteed rates",
            },
        },
    }
    return json.dumps(definition)


class Heartbeat(Construct):
    """The per-second allocator of one account-region (one per stack that has slices).

    Resources (``<h>`` = ``<env>-ses-heartbeat``, addresses ``<type>.heartbeat…``):

    * the heartbeat Lambda (:class:`PythonFunction`, job ``heartbeat``): arm64, python3.12, 5 s,
      128 MB, reserved concurrency 2; reads the SES quota, the lanes' depth, and writes each slice's
      cap into the account's send ledger.
    * ``aws_sfn_state_machine`` ``<h>`` (EXPRESS): ticks every second for a minute (see
      :func:`state_machine_definition`); logs (ERROR, with execution data) to a KMS-encrypted log
      group, X-Ray tracing.
    * ``aws_scheduler_schedule`` ``<h>``: ``rate(1 minute)``, no flexible window, starts the state
      machine with its own role (``states:StartExecution`` on it only); encrypted with the stack key.
    * alarms to the stack's alarm topic: executions failed, heartbeat Lambda errors, heartbeat
      not running (no execution started for three minutes).
    * outputs ``heartbeat_state_machine_arn``, ``heartbeat_function_name``.

    Example::

        Heartbeat(stack, "heartbeat", HeartbeatProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            slices=[HeartbeatSlice.of(s) for s in slices], headroom=0.95,
        ), foundation=foundation)
    """

    def __init__(
        self, scope: Construct, id_: str, props: HeartbeatProps, *, foundation: StackFoundation
    ) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.foundation = foundation
        self.tags = {**props.tags, "component": "heartbeat"}
        self.function = PythonFunction(self, "function", self._function_props(), logical_id="heartbeat")
        self.log_group = CloudwatchLogGroup(
            self,
            "states_logs",
            name=props.state_machine_log_group,
            retention_in_days=props.log_retention_days,
            kms_key_id=foundation.key_arn,
            tags=self.tags,
        )
        self.log_group.override_logical_id("heartbeat_states")
        self.state_machine_role = IamRole(
            self,
            "states_role",
            name=with_region(f"{props.name}-states", props.region),
            description=f"Execution role of the state machine {props.name}",
            assume_role_policy=_assume(
                "states.amazonaws.com", {"StringEquals": {"aws:SourceAccount": props.account_id}}
            ),
            tags=self.tags,
        )
        self.state_machine_role.override_logical_id("heartbeat_states")
        states_policy = IamRolePolicy(
            self,
            "states_policy",
            role=self.state_machine_role.name,
            name="heartbeat-states",
            policy=self.state_machine_policy_json(),
        )
        states_policy.override_logical_id("heartbeat_states")
        self.state_machine = SfnStateMachine(
            self,
            "state_machine",
            name=props.name,
            type="EXPRESS",
            role_arn=self.state_machine_role.arn,
            definition=state_machine_definition(props, self.function.function_arn),
            logging_configuration=SfnStateMachineLoggingConfiguration(
                log_destination=f"{self.log_group.arn}:*",
                level=props.log_level,
                # The input is {"tick", "execution"} and the output {}: nothing secret, and an
                # error's cause is what the logs are for (checkov CKV_AWS_285 asks for it too).
                include_execution_data=True,
            ),
            tracing_configuration=SfnStateMachineTracingConfiguration(enabled=True),
            # Creating it checks that its role may deliver logs and invoke the function.
            depends_on=[states_policy],
            tags=self.tags,
        )
        self.state_machine.override_logical_id("heartbeat")
        self._schedule()
        self._alarms()
        TerraformOutput(
            self,
            "state_machine_arn",
            value=self.state_machine.arn,
            description="ARN of the SES heartbeat (Express state machine ticking every second, "
            "started every minute by EventBridge Scheduler)",
        ).override_logical_id("heartbeat_state_machine_arn")
        TerraformOutput(
            self,
            "function_name",
            value=self.function.function_name,
            description="Lambda function the SES heartbeat invokes each second to share out the quota",
        ).override_logical_id("heartbeat_function_name")

    # --- read-only attributes ---------------------------------------------------------------

    @property
    def state_machine_arn(self) -> str:
        return self.state_machine.arn

    @property
    def function_arn(self) -> str:
        return self.function.function_arn

    # --- policies ------------------------------------------------------------------------------

    def heartbeat_policy_json(self) -> str:
        """The Lambda's own permissions beyond logs, X-Ray and its environment's key."""
        props, foundation = self.props, self.foundation
        return _document(
            {
                # SES account-level API: no resource-level permissions exist for it.
                "Sid": "ReadSesQuota",
                "Effect": "Allow",
                "Action": ["ses:GetAccount"],
                "Resource": "*",
            },
            {
                "Sid": "ReadLaneDepth",
                "Effect": "Allow",
                "Action": ["sqs:GetQueueAttributes"],
                "Resource": [arn for s in props.slices for arn in s.queue_arns],
            },
            {
                "Sid": "WriteSliceCaps",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                "Resource": foundation.table_arn,
                "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [LEDGER_PK]}},
            },
            {
                "Sid": "StackKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": foundation.key_arn,
            },
        )

    def state_machine_policy_json(self) -> str:
        function_arn = self.function.function_arn
        return _document(
            {
                "Sid": "InvokeHeartbeat",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [function_arn, f"{function_arn}:*"],
            },
            {
                # Step Functions logging to CloudWatch Logs: AWS's documented actions, resource "*".
                "Sid": "DeliverLogs",
                "Effect": "Allow",
                "Action": list(LOG_DELIVERY_ACTIONS),
                "Resource": "*",
            },
            {
                # X-Ray has no resource-level permissions: "*" is the only resource.
                "Sid": "XRayTraces",
                "Effect": "Allow",
                "Action": list(XRAY_ACTIONS),
                "Resource": "*",
            },
        )

    def scheduler_policy_json(self) -> str:
        return _document(
            {
                "Sid": "StartHeartbeat",
                "Effect": "Allow",
                "Action": ["states:StartExecution"],
                "Resource": self.state_machine.arn,
            },
            {
                # The schedule is encrypted with the stack key; Scheduler decrypts it as this role.
                "Sid": "DecryptSchedule",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": self.foundation.key_arn,
            },
        )

    # --- parts ---------------------------------------------------------------------------------

    def _function_props(self) -> PythonFunctionProps:
        props, foundation = self.props, self.foundation
        slices = [
            {"name": s.name, "rate_per_second": _number(s.rate_per_second), "queue_urls": list(s.queue_urls)}
            for s in props.slices
        ]
        return PythonFunctionProps(
            function_name=props.name,
            job=HEARTBEAT_JOB,
            description=f"SES heartbeat of {props.environment}: shares the quota among "
            f"{len(props.slices)} slice(s) by backlog, every second",
            kms_key_arn=foundation.key_arn,
            reserved_concurrency=props.reserved_concurrency,
            timeout_seconds=props.timeout_seconds,
            memory_mb=props.memory_mb,
            log_retention_days=props.log_retention_days,
            policies={"heartbeat": self.heartbeat_policy_json()},
            checkov_skips=HEARTBEAT_CHECKOV_SKIPS,
            environment={
                "STATE_TABLE": foundation.table_name,
                # Queue URLs are Terraform references inside the string; they hold no quotes.
                "SLICES": json.dumps(slices, separators=(",", ":")),
                "HEADROOM": str(props.headroom),
                "TICK_SECONDS": str(props.tick_seconds),
            },
            tags=self.tags,
        )

    def _schedule(self) -> None:
        props = self.props
        partition = "aws-cn" if props.region.startswith("cn-") else "aws"
        schedule_arn = (
            f"arn:{partition}:scheduler:{props.region}:{props.account_id}:schedule/default/{props.name}"
        )
        self.scheduler_role = IamRole(
            self,
            "scheduler_role",
            name=with_region(f"{props.name}-scheduler", props.region),
            description=f"Role EventBridge Scheduler assumes to start the state machine {props.name}",
            assume_role_policy=_assume(
                "scheduler.amazonaws.com",
                {
                    "StringEquals": {"aws:SourceAccount": props.account_id},
                    "ArnEquals": {"aws:SourceArn": schedule_arn},
                },
            ),
            tags=self.tags,
        )
        self.scheduler_role.override_logical_id("heartbeat_scheduler")
        scheduler_policy = IamRolePolicy(
            self,
            "scheduler_policy",
            role=self.scheduler_role.name,
            name="heartbeat-scheduler",
            policy=self.scheduler_policy_json(),
        )
        scheduler_policy.override_logical_id("heartbeat_scheduler")
        self.schedule = SchedulerSchedule(
            self,
            "schedule",
            name=props.name,
            group_name="default",
            description=f"Starts the SES heartbeat of {props.environment} every minute",
            schedule_expression="rate(1 minute)",
            flexible_time_window=SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
            kms_key_arn=self.foundation.key_arn,
            state="ENABLED",
            target=SchedulerScheduleTarget(
                arn=self.state_machine.arn,
                role_arn=self.scheduler_role.arn,
                input=json.dumps({"source": "schedule"}),
                # A start older than a minute is pointless: the next minute's start replaces it.
                retry_policy=SchedulerScheduleTargetRetryPolicy(
                    maximum_event_age_in_seconds=60, maximum_retry_attempts=2
                ),
            ),
            depends_on=[scheduler_policy],
        )
        self.schedule.override_logical_id("heartbeat")

    def _alarm(self, part: str, **fields: Any) -> None:
        metric_alarm(self, part, name_prefix=self.props.name, logical_prefix="heartbeat",
                     topic_arn=self.foundation.alarm_topic_arn, tags=self.tags, **fields)  # fmt: skip

    def _alarms(self) -> None:
        env = self.props.environment
        self._alarm(
            "executions_failed",
            description=f"SES heartbeat of {env}: an execution failed (too many failed ticks); slices "
            "fall back to their guaranteed rates",
            namespace="AWS/States",
            metric="ExecutionsFailed",
            dimensions={"StateMachineArn": self.state_machine.arn},
        )
        self._alarm(
            "errors",
            description=f"SES heartbeat of {env}: the heartbeat Lambda failed a tick",
            namespace="AWS/Lambda",
            metric="Errors",
            dimensions={"FunctionName": self.function.function_name},
        )
        self._alarm(
            "not_running",
            description=f"SES heartbeat of {env}: no execution started for three minutes (schedule "
            "disabled, deleted or denied); slices run at their guaranteed rates only",
            namespace="AWS/States",
            metric="ExecutionsStarted",
            dimensions={"StateMachineArn": self.state_machine.arn},
            comparison="LessThanThreshold",
            periods=3,
            missing="breaching",
        )


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)

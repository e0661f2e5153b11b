"""``WarmupController``: the daily Lambda that writes each warming pool's allowance."""

from __future__ import annotations

import json
from typing import Any

from cdktn import TerraformOutput
from constructs import Construct

from modules.dedicated_ip_pool.props import WARMUP_JOB, WarmupControllerProps
from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.foundation import StackFoundation
from modules.shared.names import METRICS_NAMESPACE
from modules.shared.scheduled import SCHEDULED_CHECKOV_SKIPS, alarm, document, schedule_function

DAY_SECONDS = 86400


class WarmupController(Construct):
    """Writes, once a day, how many recipients each STANDARD pool with a schedule may carry.

    Resources (``<w>`` = ``<env>-ses-warmup``, addresses ``<type>.warmup…``):

    * the controller Lambda (:class:`PythonFunction`, job ``warmup_controller``): arm64,
      python3.12, 60 s, 128 MB, reserved concurrency 1; writes ``warmup#<pool>#<day>`` items of
      today and ``lookahead_days`` ahead into the stack's state table, and raises the pool IPs'
      SES ``WarmupPercentage`` to the schedule's progress.
    * ``aws_scheduler_schedule`` ``<w>``: ``cron(5 0 * * ? *)`` UTC, its own role
      (``lambda:InvokeFunction`` on the controller only), encrypted with the stack key.
    * alarms to the stack's alarm topic: controller errors; controller not run for two days
      (the lookahead is then used up, and the slices fall back to the shared pool).
    * output ``warmup_controller_function_name``.

    Example::

        WarmupController(stack, "warmup", WarmupControllerProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            plans=[WarmupPlan(pool="at-pool", start="2026-12-01", caps=[2000, 5000, 10000],
                              period_days=7, full_volume=10000)],
        ), foundation=foundation)
    """

    def __init__(
        self, scope: Construct, id_: str, props: WarmupControllerProps, *, foundation: StackFoundation
    ) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.tags = {**props.tags, "component": "warmup"}
        pools = [p.pool for p in props.plans]
        policy = document(
            "warmup",
            {
                "Sid": "WriteWarmupDays",
                "Effect": "Allow",
                "Action": ["dynamodb:GetItem", "dynamodb:UpdateItem"],
                "Resource": foundation.table_arn,
                "Condition": {
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"warmup#{p}#*" for p in pools]}
                },
            },
            {
                # SES's dedicated-IP calls have no resource-level permissions ("*" only).
                "Sid": "ReadAndRaiseWarmupPercentage",
                "Effect": "Allow",
                "Action": ["ses:GetDedicatedIps", "ses:PutDedicatedIpWarmupAttributes"],
                "Resource": "*",
            },
            {
                "Sid": "StackKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": foundation.key_arn,
            },
        )
        self.function = PythonFunction(
            self,
            "function",
            PythonFunctionProps(
                function_name=props.name,
                job=WARMUP_JOB,
                description=f"SES warm-up of {', '.join(pools)}: writes each day's dedicated allowance",
                kms_key_arn=foundation.key_arn,
                reserved_concurrency=1,
                timeout_seconds=60,
                memory_mb=128,
                log_retention_days=props.log_retention_days,
                policies={"warmup": policy},
                checkov_skips=SCHEDULED_CHECKOV_SKIPS,
                environment={
                    "STATE_TABLE": foundation.table_name,
                    "POOLS": json.dumps([p.as_json() for p in props.plans], separators=(",", ":")),
                    "LOOKAHEAD_DAYS": str(props.lookahead_days),
                    "METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                tags=self.tags,
            ),
            logical_id="warmup",
        )
        self.schedule = schedule_function(
            self,
            name=props.name,
            slug="warmup",
            account_id=props.account_id,
            region=props.region,
            function=self.function,
            expression=props.schedule_expression,
            description=f"Runs the SES warm-up controller of {props.environment} once a day",
            key_arn=foundation.key_arn,
            tags=self.tags,
        )
        common: dict[str, Any] = {
            "name": props.name,
            "slug": "warmup",
            "topic_arn": foundation.alarm_topic_arn,
            "tags": self.tags,
        }
        fn = {"FunctionName": self.function.function_name}
        alarm(
            self, "errors", **common, namespace="AWS/Lambda", metric="Errors", dimensions=fn, period=3600,
            description=f"SES warm-up of {props.environment}: the controller failed; today's allowance "
            "may be missing (the slices then send through the shared pool)",
        )  # fmt: skip
        alarm(
            self, "not_running", **common, namespace="AWS/Lambda", metric="Invocations", dimensions=fn,
            period=DAY_SECONDS, periods=2, comparison="LessThanThreshold", missing="breaching",
            description=f"SES warm-up of {props.environment}: the controller has not run for two days; "
            "once its lookahead is used up the slices send through the shared pool only",
        )  # fmt: skip
        TerraformOutput(
            self,
            "function_name",
            value=self.function.function_name,
            description="Lambda that writes each dedicated IP pool's daily warm-up allowance",
        ).override_logical_id("warmup_controller_function_name")

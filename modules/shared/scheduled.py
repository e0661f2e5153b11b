"""A Lambda started by EventBridge Scheduler, and its alarms: what the warm-up controller, the
blocklist monitor, the suppression cleanup and the bounce report share."""

from __future__ import annotations

import json
from typing import Any

from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.scheduler_schedule import (
    SchedulerSchedule,
    SchedulerScheduleFlexibleTimeWindow,
    SchedulerScheduleTarget,
    SchedulerScheduleTargetRetryPolicy,
)
from constructs import Construct

from modules.alarms import metric_alarm
from modules.lambda_asset.construct import PythonFunction
from modules.naming import with_region
from modules.shared.checkov import CODE_SIGNING
from modules.shared.iam import policy_document
from modules.shared.validation import partition

SCHEDULED_CHECKOV_SKIPS = {
    "CKV_AWS_117": "It calls only AWS APIs (SES, DynamoDB, KMS) and public DNS; a VPC adds NAT or "
    "interface endpoints and protects nothing here.",
    "CKV_AWS_272": CODE_SIGNING,
    "CKV_AWS_116": "The schedule's fixed input is all an event carries: a failed run is retried by "
    "Lambda, raises the Errors alarm, and the next scheduled run does the same work again.",
}


document = policy_document  # the name its callers use


def schedule_function(
    scope: Construct, *, name: str, slug: str, account_id: str, region: str, function: PythonFunction,
    expression: str, description: str, key_arn: str, tags: dict[str, str], timezone: str = "UTC",
) -> SchedulerSchedule:  # fmt: skip
    """``aws_scheduler_schedule`` ``<name>`` invoking ``function`` with a role of its own
    (``<name>-scheduler-<region>``: IAM names are account-wide)."""
    schedule_arn = f"arn:{partition(region)}:scheduler:{region}:{account_id}:schedule/default/{name}"
    role = IamRole(
        scope,
        "scheduler_role",
        name=with_region(f"{name}-scheduler", region),
        description=f"Role EventBridge Scheduler assumes to invoke {name}",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "scheduler.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                        "Condition": {
                            "StringEquals": {"aws:SourceAccount": account_id},
                            "ArnEquals": {"aws:SourceArn": schedule_arn},
                        },
                    }
                ],
            }
        ),
        tags=tags,
    )
    role.override_logical_id(f"{slug}_scheduler")
    policy = IamRolePolicy(
        scope,
        "scheduler_policy",
        role=role.name,
        name=f"{name}-scheduler",
        policy=document(
            f"{name}-scheduler",
            {
                "Sid": "InvokeFunction",
                "Effect": "Allow",
                "Action": ["lambda:InvokeFunction"],
                "Resource": [function.function_arn, f"{function.function_arn}:*"],
            },
            {
                # The schedule is encrypted with the stack key; Scheduler decrypts it as this role.
                "Sid": "DecryptSchedule",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": key_arn,
            },
        ),
    )
    policy.override_logical_id(f"{slug}_scheduler")
    schedule = SchedulerSchedule(
        scope,
        "schedule",
        name=name,
        group_name="default",
        description=description,
        schedule_expression=expression,
        schedule_expression_timezone=timezone,
        flexible_time_window=SchedulerScheduleFlexibleTimeWindow(mode="OFF"),
        kms_key_arn=key_arn,
        state="ENABLED",
        target=SchedulerScheduleTarget(
            arn=function.function_arn,
            role_arn=role.arn,
            input=json.dumps({"source": "schedule"}),
            retry_policy=SchedulerScheduleTargetRetryPolicy(
                maximum_event_age_in_seconds=3600, maximum_retry_attempts=3
            ),
        ),
        depends_on=[policy],
    )
    schedule.override_logical_id(slug)
    return schedule


def alarm(
    scope: Construct, part: str, *, name: str, slug: str, topic_arn: str, tags: dict[str, str], **fields: Any
) -> CloudwatchMetricAlarm:
    return metric_alarm(
        scope, part, name_prefix=name, logical_prefix=slug, topic_arn=topic_arn, tags=tags, **fields
    )

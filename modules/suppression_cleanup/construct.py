"""``SuppressionCleanup``: EventBridge Scheduler runs the suppression-list cleanup Lambda."""

from __future__ import annotations

from typing import Any

from cdktn import TerraformOutput
from constructs import Construct

from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.scheduled import SCHEDULED_CHECKOV_SKIPS, alarm, document, schedule_function
from modules.suppression_cleanup.props import JOB, SuppressionCleanupProps

HOUR_SECONDS = 3600


class SuppressionCleanup(Construct):
    """The account-level suppression list of one region, cleaned by the env's filters on a schedule.

    Resources (``<n>`` = ``<env>-ses-suppression-cleanup``, addresses ``<type>.suppression_cleanup…``):

    * the Lambda ``<n>`` (job ``suppression``): arm64, python3.12, ``timeout_seconds`` (900),
      128 MB, reserved concurrency 1 (two runs at once would only throttle each other);
      ``ses:ListSuppressedDestinations``, and ``ses:DeleteSuppressedDestination`` only when
      ``delete``. Environment ``FILTERS`` (JSON) and ``DELETE``.
    * ``aws_scheduler_schedule`` ``<n>``: ``schedule_expression`` in ``timezone``, its own role,
      encrypted with the stack key.
    * alarm ``<n>-errors`` (the Lambda failed: throttled past its retries, timed out, denied).
    * output ``suppression_cleanup_function_name``.

    Example::

        SuppressionCleanup(stack, "suppression_cleanup", SuppressionCleanupProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            key_arn=foundation.key_arn, alarm_topic_arn=foundation.alarm_topic_arn,
            recipient_domains=["privaterelay.appleid.com"], reasons=["BOUNCE"]))
    """

    def __init__(self, scope: Construct, id_: str, props: SuppressionCleanupProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        tags = {**props.tags, "component": "suppression-cleanup"}
        actions = ["ses:ListSuppressedDestinations"]
        if props.delete:
            actions.append("ses:DeleteSuppressedDestination")
        policy = document(
            "suppression-cleanup",
            {
                # The suppression-list actions support no resource-level permissions: "*" only.
                "Sid": "SuppressionList",
                "Effect": "Allow",
                "Action": actions,
                "Resource": "*",
            },
        )
        mode = "removes" if props.delete else "reports (delete = false)"
        self.function = PythonFunction(
            self,
            "function",
            PythonFunctionProps(
                function_name=props.name,
                job=JOB,
                description=f"SES suppression-list cleanup of {props.environment} ({props.region}); {mode}",
                kms_key_arn=props.key_arn,
                reserved_concurrency=1,
                timeout_seconds=props.timeout_seconds,
                memory_mb=128,
                log_retention_days=props.log_retention_days,
                policies={"suppression-list": policy},
                checkov_skips=SCHEDULED_CHECKOV_SKIPS,
                environment={"FILTERS": props.filters_json(), "DELETE": "true" if props.delete else "false"},
                tags=tags,
            ),
            logical_id="suppression_cleanup",
        )
        self.schedule = schedule_function(
            self,
            name=props.name,
            slug="suppression_cleanup",
            account_id=props.account_id,
            region=props.region,
            function=self.function,
            expression=props.schedule_expression,
            timezone=props.timezone,
            description=f"Runs the SES suppression-list cleanup of {props.environment}",
            key_arn=props.key_arn,
            tags=tags,
        )
        common: dict[str, Any] = {
            "name": props.name,
            "slug": "suppression_cleanup",
            "topic_arn": props.alarm_topic_arn,
            "tags": tags,
        }
        alarm(
            self, "errors", **common, namespace="AWS/Lambda", metric="Errors",
            dimensions={"FunctionName": self.function.function_name}, period=HOUR_SECONDS,
            description=f"SES suppression-list cleanup of {props.environment} in {props.region} failed "
            "(its log says why); the next scheduled run starts over, nothing is half-deleted",
        )  # fmt: skip
        TerraformOutput(
            self,
            "function_name",
            value=self.function.function_name,
            description="Lambda that cleans the account's SES suppression list on a schedule; "
            "its log lists each address removed (or, report-only, that would be)",
        ).override_logical_id("suppression_cleanup_function_name")

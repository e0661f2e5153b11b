"""``BounceReport``: a weekly report of each slice's and configuration set's bounces, for people."""

from __future__ import annotations

import json
from typing import Any

from cdktn import TerraformOutput
from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from constructs import Construct

from modules.bounce_report.props import JOB, BounceReportProps
from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.bucket import SecureBucket
from modules.shared.kms import account_administers_key
from modules.shared.scheduled import SCHEDULED_CHECKOV_SKIPS, document, schedule_function
from modules.shared.validation import partition

# The reports bucket is written by one Lambda and read by a few people; these checks ask for more.
BUCKET_CHECKOV_SKIPS = {
    "CKV_AWS_18": "Server access logs would need a second bucket for a handful of requests a week; "
    "CloudTrail (management and, if enabled, S3 data events) records who read a report.",
    "CKV_AWS_144": "Reports are derived data, rebuilt from the status table on demand (period_end); "
    "a second-region copy doubles cost and key management for nothing that cannot be regenerated.",
    "CKV2_AWS_62": "Nothing consumes new reports by event; the summary mail is sent by the writer.",
}


class BounceReport(Construct):
    """EventBridge Scheduler → report Lambda → CSV + HTML in an encrypted bucket (+ summary mail).

    Resources (``<n>`` = ``<env>-ses-bounce-report``): ``aws_kms_key.bounce_reports`` (rotation,
    alias ``alias/<env>-ses-bounce-reports``), the bucket ``<env>-ses-bounce-reports-<account>-<region>``
    (:class:`SecureBucket`: versioned, SSE-KMS, public access blocked, TLS only, expiring after
    ``retention_days``), the Lambda ``<n>`` (job ``bounce_report``; Scan on the status table,
    PutObject under ``reports/``, SendEmail as the mail identity), ``aws_scheduler_schedule`` ``<n>``
    and an ``Errors`` alarm. Outputs ``bounce_report_bucket_name``, ``bounce_report_function_name``.

    Example::

        BounceReport(stack, "bounce_report", BounceReportProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            status_table_name=pipeline.status_table_name, status_table_arn=pipeline.status_table_arn,
            status_key_arn=pipeline.key_arn, function_key_arn=foundation.key_arn,
            mail_from="reports@news.example.at", mail_to=["postmaster@example.at"],
            mail_identity_arn=news.identity_arn))
    """

    def __init__(self, scope: Construct, id_: str, props: BounceReportProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        tags = {**props.tags, "component": "bounce-report"}
        self.key = KmsKey(
            self, "key", description=f"SES platform {props.environment}: weekly bounce reports",
            enable_key_rotation=True, deletion_window_in_days=30, tags=tags,
            policy=json.dumps({"Version": "2012-10-17", "Statement": [
                # Readers and the report Lambda get kms:Decrypt / GenerateDataKey through IAM.
                account_administers_key(partition(props.region), props.account_id),
            ]}),
        )  # fmt: skip
        self.key.override_logical_id("bounce_reports")
        KmsAlias(
            self, "alias", name=f"alias/{props.environment}-ses-bounce-reports", target_key_id=self.key.key_id
        ).override_logical_id("bounce_reports")
        self.bucket = SecureBucket(
            self, "bucket", name=props.bucket_name, slug="bounce_reports", key_arn=self.key.arn,
            expire_days=props.retention_days, checkov_skips=BUCKET_CHECKOV_SKIPS, tags=tags,
        )  # fmt: skip
        self.function = PythonFunction(
            self, "function", self._function_props(tags), logical_id="bounce_report"
        )
        schedule_function(
            self, name=props.name, slug="bounce_report", account_id=props.account_id, region=props.region,
            function=self.function, expression=props.schedule_expression, timezone=props.timezone,
            description=f"Runs the weekly SES bounce report of {props.environment}",
            key_arn=props.function_key_arn, tags=tags,
        )  # fmt: skip
        CloudwatchMetricAlarm(
            self, "errors", alarm_name=f"{props.name}-errors", namespace="AWS/Lambda", metric_name="Errors",
            alarm_description=f"The SES bounce report of {props.environment} failed (its log says why); "
            "re-run it with {\"period_end\": \"YYYY-MM-DD\"}",
            dimensions={"FunctionName": self.function.function_name}, statistic="Sum", period=3600,
            evaluation_periods=1, threshold=1, comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[props.alarm_topic_arn] if props.alarm_topic_arn else None, tags=tags,
        ).override_logical_id("bounce_report_errors")  # fmt: skip
        for name, value, description in (
            ("bounce_report_bucket_name", self.bucket.name, "S3 bucket of the weekly SES bounce reports "
             "(reports/<start>_<end>/report.html, summary.csv, failures.csv)"),
            ("bounce_report_function_name", self.function.function_name, "Lambda building the weekly "
             "bounce report; invoke with {\"period_end\": \"YYYY-MM-DD\"} to rebuild a week"),
        ):  # fmt: skip
            TerraformOutput(self, name, value=value, description=description).override_logical_id(name)

    def _function_props(self, tags: dict[str, str]) -> PythonFunctionProps:
        props = self.props
        statements: list[dict[str, Any]] = [
            {"Sid": "ScanStatusTable", "Effect": "Allow", "Action": ["dynamodb:Scan"],
             "Resource": props.status_table_arn},
            {"Sid": "DecryptStatusTable", "Effect": "Allow", "Action": ["kms:Decrypt"],
             "Resource": props.status_key_arn},
            {"Sid": "WriteReports", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": f"{self.bucket.arn}/reports/*"},
            {"Sid": "EncryptReports", "Effect": "Allow", "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
             "Resource": self.key.arn},
        ]  # fmt: skip
        if props.mail_to and props.mail_identity_arn:
            statements.append({
                "Sid": "SendSummaryMail", "Effect": "Allow", "Action": ["ses:SendEmail"],
                "Resource": props.mail_identity_arn,
                "Condition": {"StringEquals": {"ses:FromAddress": props.mail_from}},
            })  # fmt: skip
        return PythonFunctionProps(
            function_name=props.name, job=JOB, kms_key_arn=props.function_key_arn, reserved_concurrency=1,
            description=f"Weekly SES bounce report of {props.environment} ({props.region})",
            timeout_seconds=900, memory_mb=1024, log_retention_days=props.log_retention_days,
            policies={"bounce-report": document("bounce-report", *statements)},
            checkov_skips=SCHEDULED_CHECKOV_SKIPS,
            environment={
                "ENVIRONMENT": props.environment, "STATUS_TABLE": props.status_table_name,
                "BUCKET": self.bucket.name, "KMS_KEY_ARN": self.key.arn,
                "PERIOD_DAYS": str(props.period_days), "TOP_DOMAINS": str(props.top_domains),
                "SCAN_SEGMENTS": "4", "EXCLUDE_RECIPIENTS": ",".join(props.exclude_recipients),
                "MAIL_FROM": props.mail_from or "" if props.mail_to else "",
                "MAIL_TO": ",".join(props.mail_to),
            },
            tags=tags,
        )  # fmt: skip

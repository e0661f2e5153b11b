"""The bounce report and shadow-copy archive constructs: resources, IAM and bucket policies, and
the environment the report Lambda reads."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from modules.bounce_report.props import BounceReportProps
from modules.shadow_archive.props import ArchiveRule, ShadowArchiveProps

ACCOUNT = "111111111111"
REPORT = {
    "environment": "prod",
    "account_id": ACCOUNT,
    "region": "eu-central-1",
    "status_table_name": "prod-ses-event-status",
    "status_table_arn": "arn:aws:dynamodb:eu-central-1:111111111111:table/prod-ses-event-status",
    "status_key_arn": "arn:aws:kms:eu-central-1:111111111111:key/events",
    "function_key_arn": "arn:aws:kms:eu-central-1:111111111111:key/sending",
}


@pytest.fixture(scope="module")
def report_doc() -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.bounce_report.construct import BounceReport

    stack = TerraformStack(Testing.app(), "report")
    AwsProvider(stack, "aws", region="eu-central-1")
    BounceReport(
        stack,
        "bounce_report",
        BounceReportProps(
            **REPORT,
            mail_from="reports@news.example.at",
            mail_to=["postmaster@example.at"],
            mail_identity_arn="arn:aws:ses:eu-central-1:111111111111:identity/news.example.at",
            exclude_recipients=["archive@archive.example.at"],
            timezone="Europe/Vienna",
        ),
    )
    return json.loads(Testing.synth(stack))


@pytest.fixture(scope="module")
def archive_doc() -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.shadow_archive.construct import ShadowArchive

    stack = TerraformStack(Testing.app(), "archive")
    AwsProvider(stack, "aws", region="us-east-1")
    ShadowArchive(
        stack,
        "archive",
        ShadowArchiveProps(
            environment="prod",
            account_id=ACCOUNT,
            region="us-east-1",
            activate_receipt_rule_set=True,
            rules=[
                ArchiveRule(
                    slice="shop-orders", address="orders@archive.shop.example.com", hosted_zone_id="ZARCHIVE"
                ),
                ArchiveRule(
                    slice="shop-partner",
                    address="partner@archive.shop.example.com",
                    hosted_zone_id="ZARCHIVE",
                ),
            ],
        ),
    )
    return json.loads(Testing.synth(stack))


def _policy(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return json.loads(doc["resource"]["aws_iam_role_policy"][name]["policy"])


def test_the_report_lambda_may_scan_the_status_table_write_reports_and_mail_only_as_its_sender(
    report_doc: dict[str, Any],
) -> None:
    statements = {s["Sid"]: s for s in _policy(report_doc, "bounce_report_bounce_report")["Statement"]}
    assert statements["ScanStatusTable"]["Action"] == ["dynamodb:Scan"]
    assert statements["WriteReports"]["Resource"] == "${aws_s3_bucket.bounce_reports.arn}/reports/*"
    mail = statements["SendSummaryMail"]
    assert mail["Resource"].endswith(":identity/news.example.at")
    assert mail["Condition"] == {"StringEquals": {"ses:FromAddress": "reports@news.example.at"}}


def test_the_report_lambda_environment_is_what_the_handler_reads(report_doc: dict[str, Any]) -> None:
    from functions.bounce_report.handler import ENVIRONMENT_VARIABLES

    variables = report_doc["resource"]["aws_lambda_function"]["bounce_report"]["environment"]["variables"]
    assert set(variables) == set(ENVIRONMENT_VARIABLES)
    assert variables["EXCLUDE_RECIPIENTS"] == "archive@archive.example.at"
    assert variables["MAIL_TO"] == "postmaster@example.at"


def test_the_report_runs_weekly_in_the_given_time_zone(report_doc: dict[str, Any]) -> None:
    schedule = report_doc["resource"]["aws_scheduler_schedule"]["bounce_report"]
    assert schedule["schedule_expression"] == "cron(0 6 ? * MON *)"
    assert schedule["schedule_expression_timezone"] == "Europe/Vienna"


def test_the_reports_bucket_is_private_versioned_encrypted_expiring_and_tls_only(
    report_doc: dict[str, Any],
) -> None:
    r = report_doc["resource"]
    assert (
        r["aws_s3_bucket"]["bounce_reports"]["bucket"] == "prod-ses-bounce-reports-111111111111-eu-central-1"
    )
    block = r["aws_s3_bucket_public_access_block"]["bounce_reports"]
    assert all(
        block[k]
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    assert r["aws_s3_bucket_versioning"]["bounce_reports"]["versioning_configuration"] == {
        "status": "Enabled"
    }
    sse = r["aws_s3_bucket_server_side_encryption_configuration"]["bounce_reports"]["rule"][0]
    assert sse["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": "${aws_kms_key.bounce_reports.arn}",
    }
    rule = r["aws_s3_bucket_lifecycle_configuration"]["bounce_reports"]["rule"][0]
    assert rule["expiration"] == [{"days": 400}]
    (deny,) = json.loads(r["aws_s3_bucket_policy"]["bounce_reports"]["policy"])["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert r["aws_kms_key"]["bounce_reports"]["enable_key_rotation"] is True


def test_mail_recipients_without_a_sender_identity_are_refused() -> None:
    with pytest.raises(ValueError, match="mail_to needs mail_from and mail_identity_arn"):
        BounceReportProps(**REPORT, mail_to=["a@example.at"])  # type: ignore[arg-type]


def test_a_time_zone_scheduler_does_not_know_is_refused_at_synth() -> None:
    with pytest.raises(ValueError, match="timezone: expected an IANA time zone"):
        BounceReportProps(**{**REPORT, "timezone": "Mars/Olympus_Mons"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("schedule", "says"), [("cron(bogus)", "six cron fields"), ("at(2026-03-01T06:00:00)", "runs once")]
)
def test_a_bounce_report_schedule_scheduler_would_refuse_is_refused_at_synth(
    schedule: str, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        BounceReportProps(**{**REPORT, "schedule_expression": schedule})  # type: ignore[arg-type]


def test_only_ses_of_this_account_and_rule_set_may_put_archive_copies(archive_doc: dict[str, Any]) -> None:
    statements = json.loads(archive_doc["resource"]["aws_s3_bucket_policy"]["archive"]["policy"])["Statement"]
    put = next(s for s in statements if s["Sid"] == "SesPutsCopiesOfThisRuleSet")
    assert put["Principal"] == {"Service": "ses.amazonaws.com"}
    assert put["Action"] == "s3:PutObject"
    assert put["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {
            "aws:SourceArn": "arn:aws:ses:us-east-1:111111111111:receipt-rule-set/prod-ses-archive"
            ":receipt-rule/*"
        },
    }


def test_each_slice_gets_a_receipt_rule_storing_its_copies_encrypted_under_its_prefix(
    archive_doc: dict[str, Any],
) -> None:
    rule = archive_doc["resource"]["aws_ses_receipt_rule"]["archive_shop_orders"]
    assert rule["recipients"] == ["orders@archive.shop.example.com"]
    assert (rule["tls_policy"], rule["scan_enabled"], rule["enabled"]) == ("Require", True, True)
    (action,) = rule["s3_action"]
    assert action["object_key_prefix"] == "shop-orders/"
    assert action["kms_key_arn"] == "${aws_kms_key.archive.arn}"
    assert "aws_s3_bucket_policy.archive" in rule["depends_on"]


def test_the_archive_key_lets_ses_encrypt_only_for_this_account(archive_doc: dict[str, Any]) -> None:
    policy = json.loads(archive_doc["resource"]["aws_kms_key"]["archive"]["policy"])
    ses = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "ses.amazonaws.com"})
    assert ses["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert "kms:Decrypt" not in ses["Action"]


def test_activation_is_explicit_and_one_mx_per_archive_domain_points_at_ses(
    archive_doc: dict[str, Any],
) -> None:
    r = archive_doc["resource"]
    assert (
        r["aws_ses_active_receipt_rule_set"]["archive"]["rule_set_name"]
        == "${aws_ses_receipt_rule_set.archive.rule_set_name}"
    )
    (mx,) = r["aws_route53_record"].values()
    assert (mx["name"], mx["type"], mx["records"]) == (
        "archive.shop.example.com",
        "MX",
        ["10 inbound-smtp.us-east-1.amazonaws.com"],
    )


def test_an_archive_where_ses_does_not_receive_is_refused() -> None:
    with pytest.raises(ValueError, match="SES does not receive mail in eu-south-1"):
        ShadowArchiveProps(
            environment="prod",
            account_id=ACCOUNT,
            region="eu-south-1",
            rules=[ArchiveRule(slice="a", address="a@archive.example.at")],
        )


def test_an_inactive_rule_set_says_so_in_its_output(synth: Callable[..., dict[str, Any]]) -> None:
    from modules.shadow_archive.construct import ShadowArchive

    doc = synth(
        lambda stack: ShadowArchive(
            stack,
            "archive",
            ShadowArchiveProps(
                environment="prod",
                account_id=ACCOUNT,
                region="eu-central-1",
                rules=[ArchiveRule(slice="a", address="a@archive.example.at")],
            ),
        )
    )
    assert "aws_ses_active_receipt_rule_set" not in doc["resource"]
    assert "NOT active" in doc["output"]["archive_receipt_rule_set_name"]["description"]
    assert "aws_route53_record" not in doc["resource"]
    assert doc["output"]["archive_mx_records"]["value"] == (
        "archive.example.at. 600 IN MX 10 inbound-smtp.eu-central-1.amazonaws.com."
    )

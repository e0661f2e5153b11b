"""The bounce report Lambda on moto: status items written by the real event logger store, a Scan
in parallel segments, CSV + HTML put to S3 with the report key, and the summary mail."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.bounce_report.handler import ENVIRONMENT_VARIABLES, ReportConfig, build, lambda_handler
from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes
from tests.support.status_items import STATUS_TABLE, create_status_table, event, write

REGION = "eu-central-1"
BUCKET = "example-ses-bounce-reports-111111111111-eu-central-1"
KEY_ARN = "arn:aws:kms:eu-central-1:111111111111:key/11111111-2222-3333-4444-555555555555"
NOW = 1_773_014_400.0  # 2026-03-09T00:00:00Z, a Monday: the period is 2026-03-02 .. 2026-03-09
ARCHIVE = "archive@archive.example.at"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        create_status_table(dynamodb)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        _week_of_mail(dynamodb)
        yield dynamodb, s3


def _week_of_mail(dynamodb: Any) -> None:
    """at-de/transactional: 10 recipients, 8 delivered (1 complained), 1 hard and 1 soft bounce;
    us-news/newsletter: 4 recipients, 3 delivered, 1 rejected; plus mail outside the week."""
    events = []
    for i in range(8):
        sent = f"2026-03-0{2 + i % 6}T10:00:00.000Z"
        events += [
            event("Send", message_id=f"m{i}", recipients=[f"user{i}@gmail.com", ARCHIVE], sent_at=sent),
            event("Delivery", message_id=f"m{i}", recipients=[f"user{i}@gmail.com", ARCHIVE], sent_at=sent),
        ]
    events.append(
        event(
            "Complaint", message_id="m3", recipients=["user3@gmail.com"], sent_at="2026-03-05T10:00:00.000Z"
        )
    )
    events.append(
        event("Bounce", message_id="m8", recipients=["gone@example.org"], sent_at="2026-03-04T09:00:00.000Z")
    )
    events.append(
        event(
            "Bounce",
            message_id="m9",
            recipients=["full@example.org"],
            sent_at="2026-03-04T09:00:00.000Z",
            bounce_type="Transient",
            bounce_subtype="MailboxFull",
            diagnostic_code="smtp; 452 4.2.2 mailbox full",
        )
    )
    news = {"slice_name": "us-news", "configuration_set": "newsletter"}
    events.append(
        event(
            "Send",
            message_id="n1",
            recipients=["a@web.de", "b@web.de", "c@web.de"],
            sent_at="2026-03-06T08:00:00.000Z",
            **news,
        )
    )
    events.append(
        event(
            "Delivery",
            message_id="n1",
            recipients=["a@web.de", "b@web.de", "c@web.de"],
            sent_at="2026-03-06T08:00:00.000Z",
            **news,
        )
    )
    events.append(
        event(
            "Reject", message_id="n2", recipients=["virus@web.de"], sent_at="2026-03-08T23:59:59.999Z", **news
        )
    )
    # Outside the period: the day before, and the report day itself (end excluded).
    events.append(
        event("Bounce", message_id="old", recipients=["old@example.org"], sent_at="2026-03-01T23:59:59.000Z")
    )
    events.append(
        event("Bounce", message_id="new", recipients=["new@example.org"], sent_at="2026-03-09T00:00:00.000Z")
    )
    write(dynamodb, *events)


def _config(**overrides: Any) -> ReportConfig:
    values: dict[str, Any] = {
        "environment": "example",
        "region": REGION,
        "status_table": STATUS_TABLE,
        "bucket": BUCKET,
        "kms_key_arn": KEY_ARN,
        "scan_segments": 3,
        "exclude_recipients": frozenset({ARCHIVE}),
    }
    return ReportConfig(**{**values, **overrides})


def _csv(s3: Any, key: str) -> list[dict[str, str]]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode("utf-8")
    return list(csv.DictReader(io.StringIO(body)))


def test_the_summary_counts_recipients_of_the_week_per_slice_and_configuration_set(
    aws: tuple[Any, Any],
) -> None:
    dynamodb, s3 = aws
    result = build(
        {"source": "schedule"}, _config(), dynamodb=dynamodb, s3=s3, ses=FakeSes(), clock=ManualClock(NOW)
    )
    rows = {(r["slice"], r["configuration_set"]): r for r in _csv(s3, result["keys"][1])}
    at_de, news, total = (
        rows[("at-de", "transactional")],
        rows[("us-news", "newsletter")],
        rows[("all", "all")],
    )
    assert (
        at_de["sent"],
        at_de["delivered"],
        at_de["bounced"],
        at_de["bounced_permanent"],
        at_de["complaints"],
    ) == ("10", "8", "2", "1", "1")
    assert at_de["bounce_rate_percent"] == "20.00"
    assert (news["sent"], news["delivered"], news["rejected"]) == ("4", "3", "1")
    assert (total["sent"], total["bounced"]) == ("14", "2")
    assert result["period_start"] == "2026-03-02"
    assert result["period_end"] == "2026-03-09"


def test_failures_csv_lists_each_failed_recipient_with_the_reason_and_nothing_outside_the_period(
    aws: tuple[Any, Any],
) -> None:
    dynamodb, s3 = aws
    result = build({}, _config(), dynamodb=dynamodb, s3=s3, ses=FakeSes(), clock=ManualClock(NOW))
    rows = {r["recipient"]: r for r in _csv(s3, result["keys"][2])}
    assert set(rows) == {"gone@example.org", "full@example.org", "user3@gmail.com", "virus@web.de"}
    assert (rows["gone@example.org"]["bounce_type"], rows["gone@example.org"]["status"]) == (
        "Permanent",
        "5.1.1",
    )
    assert rows["full@example.org"]["diagnostic_code"] == "smtp; 452 4.2.2 mailbox full"
    assert rows["user3@gmail.com"]["state"] == "Complaint"


def test_the_archive_copy_is_not_counted_as_a_recipient(aws: tuple[Any, Any]) -> None:
    dynamodb, s3 = aws
    counted = build(
        {},
        _config(exclude_recipients=frozenset()),
        dynamodb=dynamodb,
        s3=s3,
        ses=FakeSes(),
        clock=ManualClock(NOW),
    )
    excluded = build({}, _config(), dynamodb=dynamodb, s3=s3, ses=FakeSes(), clock=ManualClock(NOW))
    assert counted["sent"] - excluded["sent"] == 8


def test_objects_are_encrypted_with_the_report_key(aws: tuple[Any, Any]) -> None:
    dynamodb, s3 = aws
    result = build({}, _config(), dynamodb=dynamodb, s3=s3, ses=FakeSes(), clock=ManualClock(NOW))
    assert [k.rsplit("/", 1)[1] for k in result["keys"]] == ["report.html", "summary.csv", "failures.csv"]
    head = s3.head_object(Bucket=BUCKET, Key=result["keys"][0])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == KEY_ARN
    assert head["ContentType"].startswith("text/html")


def test_the_summary_mail_has_totals_and_a_console_link_but_no_recipient_address(
    aws: tuple[Any, Any],
) -> None:
    dynamodb, s3 = aws
    ses = FakeSes()
    config = _config(mail_from="reports@news.example.at", mail_to=("postmaster@example.at",))
    result = build({}, config, dynamodb=dynamodb, s3=s3, ses=ses, clock=ManualClock(NOW))
    (mail,) = ses.calls
    text = mail["Content"]["Simple"]["Body"]["Text"]["Data"]
    assert mail["Destination"] == {"ToAddresses": ["postmaster@example.at"]}
    assert "bounced             2 (14.29 %)" in text
    assert result["link"].startswith(f"https://{REGION}.console.aws.amazon.com/s3/object/{BUCKET}?")
    assert result["link"] in text
    assert "@example.org" not in text
    assert "gmail" not in text
    assert "! at-de / transactional: bounce rate 20.00 %" in text


def test_no_mail_without_recipients(aws: tuple[Any, Any]) -> None:
    dynamodb, s3 = aws
    ses = FakeSes()
    assert build({}, _config(), dynamodb=dynamodb, s3=s3, ses=ses, clock=ManualClock(NOW))["mailed"] is False
    assert ses.calls == []


def test_a_rerun_for_an_earlier_week_reads_only_that_week(aws: tuple[Any, Any]) -> None:
    dynamodb, s3 = aws
    result = build(
        {"period_end": "2026-03-02"},
        _config(),
        dynamodb=dynamodb,
        s3=s3,
        ses=FakeSes(),
        clock=ManualClock(NOW),
    )
    assert (result["sent"], result["bounced"], result["period_start"]) == (1, 1, "2026-02-23")


def test_lambda_handler_reads_the_variables_the_construct_sets(
    aws: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb, s3 = aws
    env = {
        "ENVIRONMENT": "example",
        "STATUS_TABLE": STATUS_TABLE,
        "BUCKET": BUCKET,
        "KMS_KEY_ARN": KEY_ARN,
        "PERIOD_DAYS": "7",
        "TOP_DOMAINS": "5",
        "SCAN_SEGMENTS": "2",
        "EXCLUDE_RECIPIENTS": ARCHIVE,
        "MAIL_FROM": "",
        "MAIL_TO": "",
        "AWS_REGION": REGION,
    }
    assert set(ENVIRONMENT_VARIABLES) <= set(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    clients = {"dynamodb": dynamodb, "s3": s3, "sesv2": FakeSes()}
    result = lambda_handler({"source": "schedule"}, None, clients=clients.__getitem__, clock=ManualClock(NOW))
    assert result["sent"] == 14


def test_a_bad_period_end_is_refused_with_the_field_named(aws: tuple[Any, Any]) -> None:
    dynamodb, s3 = aws
    with pytest.raises(ValueError, match="period_end: expected a date"):
        build(
            {"period_end": "last monday"},
            _config(),
            dynamodb=dynamodb,
            s3=s3,
            ses=FakeSes(),
            clock=ManualClock(NOW),
        )

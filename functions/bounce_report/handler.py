"""The weekly bounce report Lambda: status table → CSV + HTML in S3 → optional summary mail.

EventBridge Scheduler starts it weekly with ``{"source": "schedule"}``: the period is the
``PERIOD_DAYS`` whole UTC days before today. ``{"period_end": "2026-03-09"}`` rebuilds the
report of the days before that date (an operator's re-run; the old objects stay as versions).

Reading the table: a Scan filtered on ``sent_at`` (``mail.timestamp``, ISO 8601, so a string
comparison is a time comparison), in ``SCAN_SEGMENTS`` parallel segments. A Scan reads (and bills)
the whole table, i.e. every message of the status TTL (30 days by default) to report on 7: see
modules/bounce_report/README.md for the cost and where it stops being the right tool.

The mail carries totals only and a console link, not a presigned URL: the report names
recipients (personal data), and a presigned URL is a bearer token that anyone the mail is
forwarded to could use, signed with this Lambda's session credentials, which expire within
hours. The console link asks the reader to sign in, so S3 and KMS permissions decide who reads.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from functions.bounce_report.render import failures_csv, html_report, summary_csv, summary_text
from functions.bounce_report.report import Report
from functions.common.clock import Clock, SystemClock
from functions.common.log import log

ENVIRONMENT_VARIABLES = (
    "ENVIRONMENT", "STATUS_TABLE", "BUCKET", "KMS_KEY_ARN", "PERIOD_DAYS", "TOP_DOMAINS",
    "SCAN_SEGMENTS", "EXCLUDE_RECIPIENTS", "MAIL_FROM", "MAIL_TO",
)  # fmt: skip
DAY = dt.timedelta(days=1)


@dataclass(frozen=True, kw_only=True)
class ReportConfig:
    """What the bounce_report construct sets (a test keeps the two in step).

    Attributes:
        environment / region: named in the report's title.
        status_table: the event pipeline's status table.
        bucket / kms_key_arn: where the files go, encrypted with this key.
        period_days: days per report. Default 7.
        top_domains: rows of the "most bounces" table. Default 10.
        scan_segments: parallel Scan segments, 1-16. Default 4.
        exclude_recipients: addresses not counted (shadow-copy archives). Default none.
        mail_from / mail_to: the summary mail; no mail when ``mail_to`` is empty. Default none.
        max_failures: failure rows kept in memory (totals count all). Default 100 000.
    """

    environment: str
    region: str
    status_table: str
    bucket: str
    kms_key_arn: str
    period_days: int = 7
    top_domains: int = 10
    scan_segments: int = 4
    exclude_recipients: frozenset[str] = frozenset()
    mail_from: str = ""
    mail_to: tuple[str, ...] = ()
    max_failures: int = 100_000

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReportConfig:
        def items(name: str) -> list[str]:
            return [v.strip() for v in env.get(name, "").split(",") if v.strip()]

        return cls(
            environment=env["ENVIRONMENT"],
            region=env.get("AWS_REGION", ""),
            status_table=env["STATUS_TABLE"],
            bucket=env["BUCKET"],
            kms_key_arn=env["KMS_KEY_ARN"],
            period_days=int(env.get("PERIOD_DAYS") or 7),
            top_domains=int(env.get("TOP_DOMAINS") or 10),
            scan_segments=max(1, min(16, int(env.get("SCAN_SEGMENTS") or 4))),
            exclude_recipients=frozenset(a.lower() for a in items("EXCLUDE_RECIPIENTS")),
            mail_from=env.get("MAIL_FROM", ""),
            mail_to=tuple(items("MAIL_TO")),
        )


def period(event: Mapping[str, Any], now: float, days: int) -> tuple[dt.date, dt.date]:
    """``[start, end)`` in UTC days: the ``days`` before today, or before ``period_end``."""
    given = event.get("period_end")
    if given is not None:
        try:
            end = dt.date.fromisoformat(str(given))
        except ValueError:
            raise ValueError(f"period_end: expected a date such as 2026-03-09, got {given!r}") from None
    else:
        end = dt.datetime.fromtimestamp(now, dt.UTC).date()
    return end - days * DAY, end


def scan_items(
    client: Any, table: str, start: dt.date, end: dt.date, segments: int
) -> Iterator[dict[str, Any]]:
    """Items with ``start <= sent_at < end``, from ``segments`` parallel Scans (one thread each).

    Pages pass through a bounded queue, so memory holds a few pages, not the table; the first
    segment error is raised here (the run fails and the schedule's retry or the next week redoes it).
    """
    pages: queue.Queue[list[dict[str, Any]] | BaseException | None] = queue.Queue(maxsize=4 * segments)

    def segment(number: int) -> None:
        kwargs: dict[str, Any] = {
            "TableName": table,
            "FilterExpression": "#sent >= :start AND #sent < :end",
            "ExpressionAttributeNames": {"#sent": "sent_at"},
            "ExpressionAttributeValues": {":start": {"S": start.isoformat()}, ":end": {"S": end.isoformat()}},
        }
        if segments > 1:
            kwargs.update(Segment=number, TotalSegments=segments)
        try:
            while True:
                page = client.scan(**kwargs)
                pages.put(page.get("Items", []))
                if not page.get("LastEvaluatedKey"):
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        except BaseException as exc:  # handed to the reader, which raises it
            pages.put(exc)
            return
        pages.put(None)

    for number in range(segments):
        threading.Thread(target=segment, args=(number,), daemon=True, name=f"scan-{number}").start()
    finished = 0
    while finished < segments:
        got = pages.get()
        if got is None:
            finished += 1
        elif isinstance(got, BaseException):
            raise got
        else:
            yield from got


def console_link(region: str, bucket: str, key: str) -> str:
    return (f"https://{region}.console.aws.amazon.com/s3/object/{bucket}?region={region}"
            f"&bucketType=general&prefix={quote(key, safe='')}")  # fmt: skip


def build(event: Mapping[str, Any], config: ReportConfig, *, dynamodb: Any, s3: Any, ses: Any,
          clock: Clock) -> dict[str, Any]:  # fmt: skip
    start, end = period(event, clock.now(), config.period_days)
    report = Report(
        period_start=start.isoformat(), period_end=end.isoformat(), environment=config.environment,
        region=config.region, exclude=config.exclude_recipients, max_failures=config.max_failures,
    )  # fmt: skip
    report.add_items(scan_items(dynamodb, config.status_table, start, end, config.scan_segments))
    generated = dt.datetime.fromtimestamp(clock.now(), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    prefix = f"reports/{start.isoformat()}_{end.isoformat()}/"
    files = {
        "report.html": (html_report(report, top_domains=config.top_domains, generated_at=generated),
                        "text/html; charset=utf-8"),
        "summary.csv": (summary_csv(report), "text/csv; charset=utf-8"),
        "failures.csv": (failures_csv(report), "text/csv; charset=utf-8"),
    }  # fmt: skip
    for name, (body, content_type) in files.items():
        s3.put_object(
            Bucket=config.bucket, Key=prefix + name, Body=body.encode("utf-8"), ContentType=content_type,
            ServerSideEncryption="aws:kms", SSEKMSKeyId=config.kms_key_arn, BucketKeyEnabled=True,
        )  # fmt: skip
    link = console_link(config.region, config.bucket, prefix + "report.html")
    mailed = False
    if config.mail_to and config.mail_from:
        ses.send_email(
            FromEmailAddress=config.mail_from,
            Destination={"ToAddresses": list(config.mail_to)},
            Content={"Simple": {
                "Subject": {"Data": f"SES bounce report {config.environment} {config.region}: "
                            f"{report.period_start} to {report.period_end}", "Charset": "UTF-8"},
                "Body": {"Text": {"Data": summary_text(report, link=link), "Charset": "UTF-8"}},
            }},
        )  # fmt: skip
        mailed = True
    t = report.totals
    result: dict[str, Any] = {
        "period_start": report.period_start, "period_end": report.period_end, "messages": report.messages,
        "sent": t.sent, "delivered": t.delivered, "bounced": t.bounced, "complained": t.complained,
        "bounce_rate": round(t.bounce_rate, 6), "complaint_rate": round(t.complaint_rate, 6),
        "failures": len(report.failures) + report.failures_dropped, "keys": [prefix + n for n in files],
        "link": link, "mailed": mailed,
    }  # fmt: skip
    log("bounce_report", **result)
    return result


_CLIENTS: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _CLIENTS:
        import boto3

        _CLIENTS[name] = boto3.client(name)
    return _CLIENTS[name]


def lambda_handler(event: dict[str, Any], context: Any,  # noqa: ARG001 - Lambda's signature
    *, clients: Callable[[str], Any] = _client,
                   clock: Clock | None = None) -> dict[str, Any]:  # fmt: skip
    config = ReportConfig.from_env(os.environ)
    return build(event or {}, config, dynamodb=clients("dynamodb"), s3=clients("s3"), ses=clients("sesv2"),
                 clock=clock or SystemClock())  # fmt: skip

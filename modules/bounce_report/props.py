"""Inputs of :class:`~modules.bounce_report.construct.BounceReport` (pure Python, no cdktn)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.naming import S3_BUCKET_LIMIT, fit
from modules.shared.validation import schedule_problem, timezone_problem

JOB = "bounce_report"
_ADDRESS = re.compile(r"[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}")


@dataclass(frozen=True, kw_only=True)
class BounceReportProps:
    """The weekly bounce report of one stack.

    Attributes:
        environment / account_id / region: the stack's.
        status_table_name / status_table_arn: the event pipeline's status table (the input).
        status_key_arn: the key the status table is encrypted with (a Scan decrypts with it).
        function_key_arn: key of the Lambda's environment, log group and schedule (the stack's
            sending key, whose policy lets CloudWatch Logs use it).
        schedule_expression: EventBridge Scheduler expression. Default ``cron(0 6 ? * MON *)``
            (Mondays 06:00 in ``timezone``).
        timezone: IANA time zone of the schedule. Default ``UTC``.
        retention_days: days a report is kept (lifecycle expiry), 1-3650. Default 400.
        period_days: days per report, 1-31. Default 7.
        top_domains: rows in "domains with the most bounces", 1-100. Default 10.
        mail_from: address the summary mail is sent from; its domain must be ``mail_identity_arn``.
            Default - no mail.
        mail_to: who gets the summary mail. Default - nobody (no mail).
        mail_identity_arn: the SES identity ``mail_from`` sends as. Required with ``mail_to``.
        exclude_recipients: addresses not counted (the slices' shadow-copy archives). Default none.
        alarm_topic_arn: where the Lambda's error alarm goes. Default - an alarm without actions.
        log_retention_days: the Lambda's log retention. Default 365.
        tags: merged over the provider's default tags. Default - none.
    """

    environment: str
    account_id: str
    region: str
    status_table_name: str
    status_table_arn: str
    status_key_arn: str
    function_key_arn: str
    schedule_expression: str = "cron(0 6 ? * MON *)"
    timezone: str = "UTC"
    retention_days: int = 400
    period_days: int = 7
    top_domains: int = 10
    mail_from: str | None = None
    mail_to: Sequence[str] = ()
    mail_identity_arn: str | None = None
    exclude_recipients: Sequence[str] = ()
    alarm_topic_arn: str | None = None
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone_problem = timezone_problem(self.timezone)
        if zone_problem:
            raise ValueError(f"timezone: {zone_problem}, got {self.timezone!r}")
        problem = schedule_problem(self.schedule_expression)
        if problem:
            raise ValueError(f"schedule_expression: {problem}, got {self.schedule_expression!r}")
        for name, value, low, high in (("retention_days", self.retention_days, 1, 3650),
                                       ("period_days", self.period_days, 1, 31),
                                       ("top_domains", self.top_domains, 1, 100)):  # fmt: skip
            if not low <= value <= high:
                raise ValueError(f"{name} must be {low}-{high}, got {value}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )
        for address in (*self.mail_to, *([self.mail_from] if self.mail_from else [])):
            if not _ADDRESS.fullmatch(address):
                raise ValueError(f"mail address {address!r} is not local@domain")
        if self.mail_to and (not self.mail_from or not self.mail_identity_arn):
            raise ValueError("mail_to needs mail_from and mail_identity_arn (the SES identity it sends as)")

    @property
    def name(self) -> str:
        return f"{self.environment}-ses-bounce-report"

    @property
    def bucket_name(self) -> str:
        """Globally unique: environment, account and region (≤ 63 characters)."""
        tail = f"-{self.account_id}-{self.region}"  # kept whole when the env name is long
        return fit(f"{self.environment}-ses-bounce-reports{tail}", S3_BUCKET_LIMIT, keep_end=len(tail))

"""Inputs of :class:`~modules.suppression_cleanup.construct.SuppressionCleanup` (pure Python, no
cdktn)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import schedule_problem, timezone_problem

JOB = "suppression"
REASONS = ("BOUNCE", "COMPLAINT")
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")
# SES answers about 1 request/s on the suppression list: a 15-minute run deletes ≈ 850 addresses.
MAX_TIMEOUT_SECONDS = 900


def cleanup_schedule_problem(expression: str) -> str | None:
    """What is wrong with a recurring cleanup's schedule, if anything: at most hourly, since every
    run reads the whole (filtered) list again, at 1 request/s (the env's block is checked by this
    same rule)."""
    return schedule_problem(
        expression,
        hourly_at_most="each run reads the list again at 1 request/s",
        one_off="for a one-off cleanup use ses-ops suppression clean",
    )


@dataclass(frozen=True, kw_only=True)
class SuppressionCleanupProps:
    """The scheduled cleanup of one account-region's suppression list.

    Attributes:
        environment / account_id / region: the stack's.
        key_arn: customer-managed key for the Lambda's environment and log group and for the
            schedule (the stack's sending key, whose policy lets CloudWatch Logs use it).
        recipient_domains: recipient domains (and their subdomains). Default - any domain.
        reasons: ``BOUNCE`` and/or ``COMPLAINT``. Default - both.
        older_than_days: only entries last updated more than this many days before the run.
            Default - no bound.
        newer_than_days: only entries last updated at most this many days before the run.
            Default - no bound.
        pattern: regular expression searched in the address, case-insensitive. Default - none.
        delete: remove what matches; false only logs it (``suppression_would_remove``), and the
            role then has no ``ses:DeleteSuppressedDestination``. Default false.
        schedule_expression: EventBridge Scheduler expression. Default ``cron(0 5 ? * MON *)``.
        timezone: IANA time zone of the schedule. Default ``UTC``.
        timeout_seconds: the Lambda's timeout, 60-900; a run stops 15 s before it and the next
            run goes on. Default 900 (≈ 850 deletions per run at 1 request/s).
        alarm_topic_arn: where the error alarm goes. Default - an alarm without actions.
        log_retention_days: the Lambda's log retention (the removed addresses are logged).
            Default 365.
        tags: merged over the provider's default tags. Default - none.
    """

    environment: str
    account_id: str
    region: str
    key_arn: str
    recipient_domains: Sequence[str] = ()
    reasons: Sequence[str] = ()
    older_than_days: int | None = None
    newer_than_days: int | None = None
    pattern: str | None = None
    delete: bool = False
    schedule_expression: str = "cron(0 5 ? * MON *)"
    timezone: str = "UTC"
    timeout_seconds: int = MAX_TIMEOUT_SECONDS
    alarm_topic_arn: str | None = None
    log_retention_days: int = 365
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        zone_problem = timezone_problem(self.timezone)
        if zone_problem:
            raise ValueError(f"timezone: {zone_problem}, got {self.timezone!r}")
        problem = cleanup_schedule_problem(self.schedule_expression)
        if problem:
            raise ValueError(f"schedule_expression: {problem}, got {self.schedule_expression!r}")
        self._check_filters()
        if not 60 <= self.timeout_seconds <= MAX_TIMEOUT_SECONDS:
            raise ValueError(f"timeout_seconds must be 60-{MAX_TIMEOUT_SECONDS}, got {self.timeout_seconds}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )

    def _check_filters(self) -> None:
        for reason in self.reasons:
            if reason not in REASONS:
                raise ValueError(f"reasons must be BOUNCE or COMPLAINT, got {reason!r}")
        for domain in self.recipient_domains:
            if not _DOMAIN.fullmatch(domain):
                raise ValueError(f"recipient_domains must be lower-case domain names, got {domain!r}")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
        for name, days in (
            ("older_than_days", self.older_than_days),
            ("newer_than_days", self.newer_than_days),
        ):
            if days is not None and not 1 <= days <= 3650:
                raise ValueError(f"{name} must be 1-3650, got {days}")
        if self.older_than_days and self.newer_than_days and self.newer_than_days <= self.older_than_days:
            raise ValueError("newer_than_days must be more than older_than_days")
        if self.delete and not (self.recipient_domains or self.pattern or self.older_than_days):
            raise ValueError(
                "delete=True needs recipient_domains, pattern or older_than_days: "
                "otherwise every run empties the suppression list"
            )

    @property
    def name(self) -> str:
        return f"{self.environment}-ses-suppression-cleanup"

    def filters_json(self) -> str:
        """The Lambda's ``FILTERS`` (``functions/suppression/handler.py``)."""
        return json.dumps(
            {
                "domains": list(self.recipient_domains),
                "reasons": list(self.reasons),
                "pattern": self.pattern,
                "older_than_days": self.older_than_days,
                "newer_than_days": self.newer_than_days,
            },
            separators=(",", ":"),
        )

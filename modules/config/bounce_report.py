"""``bounce_report { ... }``: the weekly bounce report, one block per environment (optional).

Every stack with a status table (an account-region with a configuration set whose events go to
SNS) gets the report of its own mail: the status table is per account-region, and so are the
report's Lambda and bucket. One block keeps the schedule, retention and readers the same
everywhere, which is what a weekly report for people wants.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from modules.config.hcl import Invalid, Node
from modules.config.shapes import ConfigurationSetShape, DomainShape
from modules.shared.validation import schedule_problem, timezone_problem

DEFAULT_SCHEDULE = "cron(0 6 ? * MON *)"
_ADDRESS = r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+"


@dataclass(frozen=True, kw_only=True)
class BounceReport:
    """The weekly bounce report of every stack with a status table.

    Attributes:
        source: the file that declared it, for messages.
        schedule: EventBridge Scheduler expression. Default ``cron(0 6 ? * MON *)``.
        timezone: IANA time zone of ``schedule``. Default ``UTC``.
        retention_days: days reports are kept (S3 lifecycle), 1-3650. Default 400.
        period_days: days per report, 1-31. Default 7.
        top_domains: rows of the "most bounces" table, 1-100. Default 10.
        mail_from: sender of the summary mail; its domain must be a domain identity in every
            account-region that gets a report. Default - no mail.
        mail_to: recipients of the summary mail (a ``mail { from, to }`` block). Default - none.
    """

    source: str
    schedule: str = DEFAULT_SCHEDULE
    timezone: str = "UTC"
    retention_days: int = 400
    period_days: int = 7
    top_domains: int = 10
    mail_from: str | None = None
    mail_to: tuple[str, ...] = ()


def parse_bounce_report(node: Node) -> BounceReport:
    """``node`` is the ``bounce_report`` block's body."""
    sender, recipients = _mail(node)
    report = BounceReport(
        source=node.file,
        schedule=node.text("schedule", default=DEFAULT_SCHEDULE, check=schedule_problem) or DEFAULT_SCHEDULE,
        timezone=node.text("timezone", default="UTC", check=timezone_problem) or "UTC",
        retention_days=node.integer("retention_days", default=400, minimum=1, maximum=3650),
        period_days=node.integer("period_days", default=7, minimum=1, maximum=31),
        top_domains=node.integer("top_domains", default=10, minimum=1, maximum=100),
        mail_from=sender,
        mail_to=recipients,
    )
    node.finish()
    return report


def _mail(node: Node) -> tuple[str | None, tuple[str, ...]]:
    mail = node.block("mail")
    if mail is None:
        return None, ()
    sender = mail.req_text("from", pattern=_ADDRESS, hint="an address such as reports@news.example.at")
    recipients = mail.text_list("to")
    if not recipients:
        raise mail.fail("to", "expected at least one address to send the summary to")
    for i, address in enumerate(recipients):
        if not re.fullmatch(_ADDRESS, address):
            raise mail.fail(f"to[{i}]", f'expected an address such as postmaster@example.at, got "{address}"')
    mail.finish()
    return sender, recipients


def report_regions(configuration_sets: Sequence[ConfigurationSetShape]) -> set[tuple[str, str]]:
    """(account, region) pairs with a status table: a managed set whose events go to SNS."""
    return {
        (c.account, c.region)
        for c in configuration_sets
        if not c.external and any(d.type == "sns" for d in c.destinations)
    }


def resolve_bounce_report(
    report: BounceReport,
    *,
    domains: Sequence[DomainShape],
    configuration_sets: Sequence[ConfigurationSetShape],
) -> None:
    """The summary mail's domain must be an identity wherever a report is built."""
    if report.mail_from is None:
        return
    domain = report.mail_from.rpartition("@")[2]
    for account, region in sorted(report_regions(configuration_sets)):
        here = [d.name for d in domains if d.account == account and region in d.regions]
        if domain not in here:
            raise Invalid(
                f'{report.source}: bounce_report.mail.from: "{domain}" is not a domain of '
                f'account "{account}" '
                f"in {region}, which gets a report (domains there: {', '.join(here) or 'none'})"
            )

"""Builds a stack's housekeeping: the weekly bounce report, the scheduled suppression-list
cleanup and (per slice) the shadow-copy archive. Kept out of stack.py so that file stays a list
of parts. Each builder is handed what it reads (the target, the parts it needs, the stack's
foundation as the stack hands it out), not the stack: the data flows one way, and this module
does not import the stack that imports it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from constructs import Construct

from modules.bounce_report.construct import BounceReport
from modules.bounce_report.props import BounceReportProps
from modules.config.model import StackTarget
from modules.event_pipeline.construct import EventPipeline
from modules.identity.construct import DomainIdentity
from modules.shadow_archive.construct import ShadowArchive
from modules.shadow_archive.props import ArchiveRule, ShadowArchiveProps
from modules.shared.foundation import StackFoundation
from modules.suppression_cleanup.construct import SuppressionCleanup
from modules.suppression_cleanup.props import SuppressionCleanupProps


def build_bounce_report(
    scope: Construct,
    target: StackTarget,
    *,
    pipeline: EventPipeline | None,
    identities: Sequence[DomainIdentity],
    foundation: Callable[[], StackFoundation],
) -> BounceReport | None:
    """The env's ``bounce_report`` for this stack, where it has a status table to read."""
    settings = target.bounce_report
    if settings is None or pipeline is None:
        return None
    keys = foundation()
    identity_arn = None
    if settings.mail_from:
        domain = settings.mail_from.rpartition("@")[2]
        identity_arn = next(i.identity_arn for i in identities if i.props.domain == domain)
    archives = [s.archive.address for s in target.slices if s.archive is not None]
    return BounceReport(
        scope,
        "bounce_report",
        BounceReportProps(
            environment=target.environment,
            account_id=target.account.id,
            region=target.region.name,
            status_table_name=pipeline.status_table_name,
            status_table_arn=pipeline.status_table_arn,
            status_key_arn=pipeline.key_arn,
            function_key_arn=keys.key_arn,
            schedule_expression=settings.schedule,
            timezone=settings.timezone,
            retention_days=settings.retention_days,
            period_days=settings.period_days,
            top_domains=settings.top_domains,
            mail_from=settings.mail_from,
            mail_to=settings.mail_to,
            mail_identity_arn=identity_arn,
            exclude_recipients=archives,
            alarm_topic_arn=keys.alarm_topic_arn,
        ),
    )


def build_shadow_archive(scope: Construct, target: StackTarget) -> ShadowArchive | None:
    """The receiving side of the stack's slices' shadow-copy archives (one rule set, one bucket)."""
    archiving = [s for s in target.slices if s.archive is not None]
    if not archiving:
        return None
    zones = {d.name: d.hosted_zone_id for d in target.domains}
    first = archiving[0].archive
    assert first is not None  # noqa: S101 - filtered above; the config layer made the settings agree
    return ShadowArchive(
        scope,
        "shadow_archive",
        ShadowArchiveProps(
            environment=target.environment,
            account_id=target.account.id,
            region=target.region.name,
            rules=[
                ArchiveRule(
                    slice=s.name, address=s.archive.address, hosted_zone_id=zones.get(s.archive.domain)
                )
                for s in archiving
                if s.archive is not None
            ],
            activate_receipt_rule_set=first.activate_receipt_rule_set,
            retention_days=first.retention_days,
        ),
    )


def build_suppression_cleanup(
    scope: Construct, target: StackTarget, *, foundation: Callable[[], StackFoundation]
) -> SuppressionCleanup | None:
    """The env's ``suppression_cleanup`` where it applies to this stack (the list is per
    account-region), with the stack's key and alarm topic."""
    settings = target.suppression_cleanup
    if settings is None:
        return None
    keys = foundation()
    return SuppressionCleanup(
        scope,
        "suppression_cleanup",
        SuppressionCleanupProps(
            environment=target.environment,
            account_id=target.account.id,
            region=target.region.name,
            key_arn=keys.key_arn,
            alarm_topic_arn=keys.alarm_topic_arn,
            recipient_domains=settings.recipient_domains,
            reasons=settings.reasons,
            older_than_days=settings.older_than_days,
            newer_than_days=settings.newer_than_days,
            pattern=settings.pattern,
            delete=settings.delete,
            schedule_expression=settings.schedule,
            timezone=settings.timezone,
        ),
    )

"""``events { ... }`` inside a region block: how the account-region's event pipeline keeps what
it learns (the pipeline itself comes with its configuration sets' SNS destinations)."""

from __future__ import annotations

from modules.config.hcl import Node
from modules.config.model import EventSettings
from modules.lambda_asset.props import LOG_RETENTION_DAYS


def parse_events(region: Node) -> EventSettings:
    node = region.block("events")
    if node is None:
        return EventSettings()
    retention = node.integer("log_retention_days", default=365, minimum=1, maximum=3653)
    if retention not in LOG_RETENTION_DAYS:
        accepted = ", ".join(str(d) for d in LOG_RETENTION_DAYS)
        raise node.fail("log_retention_days", f"CloudWatch accepts only {accepted}; got {retention}")
    settings = EventSettings(
        declared=True,
        status_queue=node.flag("status_queue", default=False),
        status_ttl_days=node.integer("status_ttl_days", default=30, minimum=1, maximum=3650),
        history_limit=node.integer("history_limit", default=10, minimum=1, maximum=50),
        log_retention_days=retention,
    )
    node.finish()
    return settings


def unused_events_blocks(
    regions: list[tuple[str, str, EventSettings]], with_sns_sets: set[tuple[str, str]], source: dict[str, str]
) -> list[str]:
    """An ``events`` block in an account-region without any configuration set publishing to SNS
    tunes nothing: say so rather than ignore it. ``regions``: (account, region, settings)."""
    return [
        f'{source.get(account, "?")}: account "{account}".region "{region}".events: no configuration set '
        f"of this account-region has an SNS event destination, so there is no event pipeline to tune"
        for account, region, settings in regions
        if settings.declared and (account, region) not in with_sns_sets
    ]

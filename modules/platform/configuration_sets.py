"""The configuration sets of one stack, built from the env's ``configuration_set`` blocks, and
their reputation alarms, dashboard and breaker."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from constructs import Construct

from modules.capacity_slice.construct import CapacitySlice
from modules.config.model import ConfigurationSet as ConfigurationSetConfig
from modules.config.model import Slice, StackTarget
from modules.configuration_set.construct import ConfigurationSet
from modules.configuration_set.props import ConfigurationSetProps
from modules.identity.construct import DomainIdentity
from modules.reputation.construct import ReputationMonitor
from modules.reputation.props import MonitoredSet, MonitoredSlice, ReputationProps
from modules.shared.foundation import StackFoundation


def configuration_set_props(item: ConfigurationSetConfig, target: StackTarget) -> ConfigurationSetProps:
    return ConfigurationSetProps(
        name=item.name,
        environment=target.environment,
        account_id=target.account.id,
        region=target.region.name,
        destinations=item.destinations,
        tls_policy=item.tls_policy,
        reputation_metrics=item.reputation_metrics,
        suppressed_reasons=item.suppressed_reasons,
        custom_redirect_domain=item.custom_redirect_domain,
        max_delivery_seconds=item.max_delivery_seconds,
        engagement_metrics=item.engagement_metrics,
        optimized_shared_delivery=item.optimized_shared_delivery,
        dedicated_ip_pool=item.dedicated_ip_pool,
        alarms=item.alarms,
        tags=dict(item.tags),
    )


def build_configuration_sets(
    scope: Construct, target: StackTarget, identities: Sequence[DomainIdentity]
) -> dict[str, ConfigurationSet]:
    """A :class:`ConfigurationSet` per managed (not ``external``) set of the stack; an identity whose
    default set is one of them waits for it (SES refuses a default set that does not exist yet)."""
    built = {
        item.name: ConfigurationSet(
            scope, f"configuration_set_{item.name}", configuration_set_props(item, target)
        )
        for item in target.configuration_sets
        if not item.external
    }
    for identity in identities:
        default = built.get(identity.props.configuration_set_name or "")
        if default is not None:
            identity.this.add_override("depends_on", [f"aws_sesv2_configuration_set.{default.props.slug}"])
    return built


def build_reputation(
    scope: Construct,
    target: StackTarget,
    sets: dict[str, ConfigurationSet],
    slices: Sequence[CapacitySlice],
    *,
    foundation: Callable[[], StackFoundation],
) -> ReputationMonitor | None:
    """Alarms, dashboard and breaker for the stack's managed sets; ``None`` without any.

    The breaker pauses, with a set, each slice that names it or whose from-domains default to it.
    ``foundation`` hands out the stack's (its alarm topic and key; the state table when there are
    slices), asked for only when there is a set to monitor.
    """
    if not sets:
        return None
    keys = foundation()
    defaults = {d.name: d.configuration_set for d in target.domains}

    def sends_with(item: Slice, name: str) -> bool:
        if item.configuration_set is not None:
            return item.configuration_set == name
        return any(defaults.get(domain) == name for domain in item.from_domains)

    monitored = [
        MonitoredSet(
            name=name,
            alarms=built.props.alarms,
            reputation_metrics=built.props.reputation_metrics,
            slices=tuple(s.name for s in target.slices if sends_with(s, name)),
        )
        for name, built in sets.items()
    ]
    return ReputationMonitor(
        scope,
        "reputation",
        ReputationProps(
            environment=target.environment,
            account_id=target.account.id,
            region=target.region.name,
            configuration_sets=monitored,
            max_send_rate=target.region.max_send_rate,
            alarm_topic_arn=keys.alarm_topic_arn,
            alarm_topic_key_arn=keys.key_arn,
            slices=[
                MonitoredSlice(
                    name=s.props.name,
                    rate_per_second=s.props.rate_per_second,
                    dlq_name=f"{s.props.prefix}-dlq",
                )
                for s in slices
            ],
            state_table_name=keys.table_name if slices else None,
            state_table_arn=keys.table_arn if slices else None,
        ),
    )

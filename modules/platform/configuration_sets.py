"""The configuration sets of one stack, built from the env's ``configuration_set`` blocks."""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from modules.config.model import ConfigurationSet as ConfigurationSetConfig
from modules.config.model import StackTarget
from modules.configuration_set.construct import ConfigurationSet
from modules.configuration_set.props import ConfigurationSetProps
from modules.identity.construct import DomainIdentity


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

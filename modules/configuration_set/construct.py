"""``ConfigurationSet``: an SES configuration set with secure defaults and its event destinations."""

from __future__ import annotations

from cdktn import TerraformOutput, TerraformResourceLifecycle
from cdktn_provider_aws import sesv2_configuration_set_event_destination as destination_types
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.sesv2_configuration_set import (
    Sesv2ConfigurationSet,
    Sesv2ConfigurationSetDeliveryOptions,
    Sesv2ConfigurationSetReputationOptions,
    Sesv2ConfigurationSetSendingOptions,
    Sesv2ConfigurationSetSuppressionOptions,
    Sesv2ConfigurationSetTrackingOptions,
    Sesv2ConfigurationSetVdmOptions,
    Sesv2ConfigurationSetVdmOptionsDashboardOptions,
    Sesv2ConfigurationSetVdmOptionsGuardianOptions,
)
from cdktn_provider_aws.sesv2_configuration_set_event_destination import (
    Sesv2ConfigurationSetEventDestination,
    Sesv2ConfigurationSetEventDestinationEventDestination,
    Sesv2ConfigurationSetEventDestinationEventDestinationCloudWatchDestination,
    Sesv2ConfigurationSetEventDestinationEventDestinationEventBridgeDestination,
    Sesv2ConfigurationSetEventDestinationEventDestinationKinesisFirehoseDestination,
    Sesv2ConfigurationSetEventDestinationEventDestinationSnsDestination,
)
from cdktn_provider_aws.sns_topic import SnsTopic
from cdktn_provider_aws.sns_topic_policy import SnsTopicPolicy
from constructs import Construct

from modules.configuration_set.policies import events_key_policy_json, events_topic_policy_json
from modules.configuration_set.props import ConfigurationSetProps, EventDestination

_Destination = Sesv2ConfigurationSetEventDestinationEventDestination
_Dimension = destination_types.Sesv2ConfigurationSetEventDestinationEventDestinationCloudWatchDestinationDimensionConfiguration  # noqa: E501


def _enabled(value: bool | None) -> str | None:
    return None if value is None else ("ENABLED" if value else "DISABLED")


class ConfigurationSet(Construct):
    """An SES configuration set and where its events go.

    Resources (``<s>`` = the set's name with ``-`` as ``_``):

    * ``aws_sesv2_configuration_set.<s>``: TLS required, reputation metrics on, sending enabled,
      suppression of BOUNCE and COMPLAINT; optional tracking domain (HTTPS required), maximum
      delivery time, VDM options and dedicated IP pool. Terraform ignores later changes to
      ``sending_options``: the reputation breaker (or an operator) pauses a set through the SES
      API, and a routine apply must not quietly resume it.
    * per destination ``aws_sesv2_configuration_set_event_destination.<s>_<name>``.
    * for an SNS destination: ``aws_kms_key.<s>_events`` (rotation on) + alias
      ``alias/<env>-ses-events-<name>``, ``aws_sns_topic.<s>_events`` (``<env>-ses-events-<name>``,
      encrypted with it) and a topic policy letting only SES of this account and this set publish.
    * outputs ``<s>_configuration_set_name`` and, with SNS, ``<s>_events_topic_arn``.

    Example::

        ConfigurationSet(stack, "transactional", ConfigurationSetProps(
            name="transactional", environment="prod", account_id="111111111111",
            region="eu-central-1", custom_redirect_domain="track.news.example.at",
            destinations=[EventDestination.sns(), EventDestination.event_bridge(event_types=["BOUNCE"])],
        ))
    """

    def __init__(self, scope: Construct, id_: str, props: ConfigurationSetProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        slug = props.slug
        tags = dict(props.tags) or None
        self.this = Sesv2ConfigurationSet(
            self,
            "this",
            configuration_set_name=props.name,
            delivery_options=Sesv2ConfigurationSetDeliveryOptions(
                tls_policy=props.tls_policy,
                max_delivery_seconds=props.max_delivery_seconds,
                sending_pool_name=props.dedicated_ip_pool,
            ),
            reputation_options=Sesv2ConfigurationSetReputationOptions(
                reputation_metrics_enabled=props.reputation_metrics
            ),
            sending_options=Sesv2ConfigurationSetSendingOptions(sending_enabled=True),
            suppression_options=Sesv2ConfigurationSetSuppressionOptions(
                suppressed_reasons=list(props.suppressed_reasons)
            ),
            tracking_options=Sesv2ConfigurationSetTrackingOptions(
                custom_redirect_domain=props.custom_redirect_domain, https_policy="REQUIRE"
            )
            if props.custom_redirect_domain
            else None,
            vdm_options=self._vdm_options(),
            lifecycle=TerraformResourceLifecycle(ignore_changes=["sending_options"]),
            tags=tags,
        )
        self.this.override_logical_id(slug)
        self.key: KmsKey | None = None
        self.topic: SnsTopic | None = None
        if any(d.type == "sns" for d in props.destinations):
            self._topic()
        self.destinations = {d.name: self._destination(d) for d in props.destinations}
        TerraformOutput(
            self,
            "name_output",
            value=self.this.configuration_set_name,
            description=f"SES configuration set {props.name}: name it in sends (or as an identity's default)",
        ).override_logical_id(f"{slug}_configuration_set_name")
        if self.topic is not None:
            TerraformOutput(
                self,
                "topic_output",
                value=self.topic.arn,
                description=f"KMS-encrypted SNS topic receiving configuration set {props.name}'s SES events",
            ).override_logical_id(f"{slug}_events_topic_arn")

    # --- read-only attributes ---------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.props.name

    @property
    def arn(self) -> str:
        return self.this.arn

    @property
    def topic_arn(self) -> str | None:
        """The SNS destination's topic, for subscribers (the event logger)."""
        return self.topic.arn if self.topic is not None else None

    @property
    def key_arn(self) -> str | None:
        """The key encrypting the SNS topic; subscribers reading it through SQS need it."""
        return self.key.arn if self.key is not None else None

    # --- parts ---------------------------------------------------------------------------------

    def _vdm_options(self) -> Sesv2ConfigurationSetVdmOptions | None:
        props = self.props
        if props.engagement_metrics is None and props.optimized_shared_delivery is None:
            return None
        return Sesv2ConfigurationSetVdmOptions(
            dashboard_options=Sesv2ConfigurationSetVdmOptionsDashboardOptions(
                engagement_metrics=_enabled(props.engagement_metrics)
            )
            if props.engagement_metrics is not None
            else None,
            guardian_options=Sesv2ConfigurationSetVdmOptionsGuardianOptions(
                optimized_shared_delivery=_enabled(props.optimized_shared_delivery)
            )
            if props.optimized_shared_delivery is not None
            else None,
        )

    def _topic(self) -> None:
        props, slug = self.props, self.props.slug
        tags = dict(props.tags) or None
        resource_name = f"{props.environment}-ses-events-{props.name}"
        self.key = KmsKey(
            self,
            "key",
            description=f"SES platform {props.environment}: events topic of configuration set {props.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=events_key_policy_json(props),
            tags=tags,
        )
        self.key.override_logical_id(f"{slug}_events")
        KmsAlias(
            self, "alias", name=f"alias/{resource_name}", target_key_id=self.key.key_id
        ).override_logical_id(f"{slug}_events")
        self.topic = SnsTopic(self, "topic", name=resource_name, kms_master_key_id=self.key.arn, tags=tags)
        self.topic.override_logical_id(f"{slug}_events")
        self.topic_policy = SnsTopicPolicy(
            self, "topic_policy", arn=self.topic.arn, policy=events_topic_policy_json(props, self.topic.arn)
        )
        self.topic_policy.override_logical_id(f"{slug}_events")

    def _destination(self, destination: EventDestination) -> Sesv2ConfigurationSetEventDestination:
        props = self.props
        spec: dict[str, object] = {}
        depends_on = []
        if destination.type == "sns" and self.topic is not None:
            spec["sns_destination"] = Sesv2ConfigurationSetEventDestinationEventDestinationSnsDestination(
                topic_arn=self.topic.arn
            )
            # SES test-publishes when the destination is created: the policy must be in place.
            depends_on = [self.topic_policy]
        elif destination.type == "event_bridge":
            default_bus = f"arn:{props.partition}:events:{props.region}:{props.account_id}:event-bus/default"
            spec["event_bridge_destination"] = (
                Sesv2ConfigurationSetEventDestinationEventDestinationEventBridgeDestination(
                    event_bus_arn=destination.event_bus_arn or default_bus
                )
            )
        elif destination.type == "cloud_watch":
            spec["cloud_watch_destination"] = (
                Sesv2ConfigurationSetEventDestinationEventDestinationCloudWatchDestination(
                    dimension_configuration=[
                        _Dimension(
                            dimension_name=d.name,
                            dimension_value_source=d.source,
                            default_dimension_value=d.default_value,
                        )
                        for d in destination.dimensions
                    ]
                )
            )
        elif destination.type == "firehose":
            spec["kinesis_firehose_destination"] = (
                Sesv2ConfigurationSetEventDestinationEventDestinationKinesisFirehoseDestination(
                    delivery_stream_arn=destination.delivery_stream_arn or "",
                    iam_role_arn=destination.iam_role_arn or "",
                )
            )
        resource = Sesv2ConfigurationSetEventDestination(
            self,
            f"destination_{destination.name}",
            configuration_set_name=self.this.configuration_set_name,
            event_destination_name=destination.name,
            event_destination=_Destination(
                matching_event_types=list(destination.event_types),
                enabled=True,
                **spec,  # type: ignore[arg-type]
            ),
            depends_on=depends_on or None,
        )
        resource.override_logical_id(f"{props.slug}_{destination.name.replace('-', '_')}")
        return resource

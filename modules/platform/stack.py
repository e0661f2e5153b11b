"""``SesStack``: everything one environment has in one account and region."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cdktn import LocalBackend, S3Backend, TerraformStack
from cdktn_provider_aws.provider import AwsProvider, AwsProviderAssumeRole, AwsProviderDefaultTags
from constructs import Construct

from modules.capacity_slice.construct import CapacitySlice
from modules.capacity_slice.props import CapacitySliceProps
from modules.config.model import Backend, StackTarget
from modules.config.model import SmtpUser as SmtpUserConfig
from modules.event_pipeline.construct import EventPipeline
from modules.event_pipeline.props import EventPipelineProps
from modules.heartbeat.construct import Heartbeat
from modules.heartbeat.props import HeartbeatProps, HeartbeatSlice
from modules.identity.construct import DomainIdentity, DomainIdentityProps
from modules.platform.configuration_sets import build_configuration_sets, build_reputation
from modules.platform.housekeeping import build_bounce_report, build_shadow_archive, build_suppression_cleanup
from modules.platform.pools import DedicatedIpPools, slice_routing
from modules.shared.foundation import FoundationProps, StackFoundation
from modules.smtp_user.construct import SmtpUser
from modules.smtp_user.props import SmtpUserProps

# Local state lives outside cdktf.out/ so `make clean` can never delete it.
LOCAL_STATE_DIR = ".terraform-state"


class SesStack(TerraformStack):
    """One Terraform stack per (environment, account, region): small state, small blast radius."""

    def __init__(
        self, scope: Construct, target: StackTarget, *, backend: Backend, tags: dict[str, str],
        state_dir: str,
    ) -> None:  # fmt: skip
        super().__init__(scope, target.name)
        self.target = target
        account, region = target.account, target.region.name
        AwsProvider(
            self,
            "aws",
            region=region,
            # A wrong profile or role must fail the plan, not write into another account.
            allowed_account_ids=[account.id],
            assume_role=[
                AwsProviderAssumeRole(
                    role_arn=account.role_arn,
                    external_id=account.external_id,
                    session_name=f"ses-platform-{target.environment}",
                )
            ]
            if account.role_arn
            else None,
            default_tags=[
                AwsProviderDefaultTags(
                    tags={**tags, "environment": target.environment, "managed_by": "ses-platform"}
                )
            ],
        )
        self._backend(backend, state_dir)
        self.identities = [
            DomainIdentity(
                self,
                "domain_" + re.sub(r"[^a-z0-9]+", "_", domain.name),
                DomainIdentityProps(
                    domain=domain.name,
                    region=region,
                    account_id=account.id,
                    home_region=domain.home_region,
                    dkim=domain.dkim,
                    mail_from=domain.mail_from,
                    dmarc=domain.dmarc,
                    hosted_zone_id=domain.hosted_zone_id,
                    configuration_set_name=domain.configuration_set,
                    dns_ttl_seconds=domain.dns_ttl_seconds,
                    tags=dict(domain.tags),
                ),
            )
            for domain in target.domains
        ]
        self.configuration_sets = build_configuration_sets(self, target, self.identities)
        self._foundation: StackFoundation | None = None  # stack_foundation() creates it
        self.slices: list[CapacitySlice] = []
        self.heartbeat: Heartbeat | None = None
        self.event_pipeline: EventPipeline | None = None  # add_event_pipeline(topic_arns)
        if target.slices:
            self._slices()
            if target.region.heartbeat.enabled:
                self._heartbeat()
        self.reputation = build_reputation(
            self, target, self.configuration_sets, self.slices, foundation=self.stack_foundation
        )
        # Every SES event of the stack's configuration sets with an SNS destination: logged,
        # status by message id, metrics (which the reputation alarms above read).
        topics = [c.topic_arn for c in self.configuration_sets.values() if c.topic_arn is not None]
        if topics:
            events = target.region.events
            self.add_event_pipeline(
                topics,
                status_queue=events.status_queue,
                status_ttl_days=events.status_ttl_days,
                history_limit=events.history_limit,
                log_retention_days=events.log_retention_days,
            )
        self.smtp_users = [self._smtp_user(user) for user in target.smtp_users]
        self.dedicated_ip_pools: DedicatedIpPools | None = None
        if target.dedicated_ip_pools:
            self.dedicated_ip_pools = DedicatedIpPools(
                self, "dedicated_ip_pools", target, foundation=self.stack_foundation(),
                configuration_sets=self.configuration_sets,
            )  # fmt: skip
        self._tenants_and_endpoints()
        # weekly, where there is a status table
        self.bounce_report = build_bounce_report(
            self, target, pipeline=self.event_pipeline, identities=self.identities,
            foundation=self.stack_foundation,
        )  # fmt: skip
        self.shadow_archive = build_shadow_archive(self, target)  # the slices' BCC copies, received by SES
        # the env's, on its schedule
        self.suppression_cleanup = build_suppression_cleanup(self, target, foundation=self.stack_foundation)

    def stack_foundation(self) -> StackFoundation:
        """The stack's one customer-managed key, state table and alarm topic.

        The stack owns them: created here on the first request, in one place, and handed to
        every part that asks (slices, heartbeat, reputation alarms, pools, housekeeping). A part
        never creates its own, so any mix of blocks in an account-region synthesizes.
        """
        if self._foundation is None:
            target = self.target
            self._foundation = StackFoundation(
                self,
                "sending",
                FoundationProps(
                    environment=target.environment, account_id=target.account.id, region=target.region.name
                ),
            )
        return self._foundation

    @property
    def foundation(self) -> StackFoundation | None:
        """The stack foundation if a part of the stack asked for it (else the stack has none)."""
        return self._foundation

    def _tenants_and_endpoints(self) -> None:
        """Tenants of this account-region; multi-region endpoints whose primary region this is.

        An endpoint spans two regions but is one SES resource, created in its primary region:
        that region's stack owns it (as the home region's stack owns a domain's DMARC record),
        so it has one state and one plan. The secondary region needs no resource of its own.
        """
        from modules.multi_region_endpoint.construct import MultiRegionEndpoint
        from modules.multi_region_endpoint.props import MultiRegionEndpointProps
        from modules.tenant.construct import Tenant
        from modules.tenant.props import TenantProps

        target = self.target
        identities = {identity.props.domain: identity for identity in self.identities}
        self.tenants = [
            Tenant(
                self,
                f"tenant_{tenant.name}",
                TenantProps(
                    tenant_name=tenant.name,
                    account_id=target.account.id,
                    region=target.region.name,
                    identity_arns=[identities[domain].identity_arn for domain in tenant.domains],
                    configuration_set_names=tenant.configuration_sets,
                ),
            )
            for tenant in target.tenants
        ]
        for built in self.tenants:  # an association of a set this stack creates waits for the set
            for name, association in built.configuration_set_associations.items():
                if name in self.configuration_sets:
                    slug = self.configuration_sets[name].props.slug
                    association.add_override("depends_on", [f"aws_sesv2_configuration_set.{slug}"])
        self.multi_region_endpoints = [
            MultiRegionEndpoint(
                self,
                f"multi_region_endpoint_{endpoint.name}",
                MultiRegionEndpointProps(
                    endpoint_name=endpoint.name,
                    primary_region=endpoint.regions[0],
                    secondary_region=endpoint.regions[1],
                ),
            )
            for endpoint in target.multi_region_endpoints
        ]

    def _slices(self) -> None:
        """A CapacitySlice per slice, on the stack's stack foundation."""
        target = self.target
        foundation = self.stack_foundation()
        identities = {identity.props.domain: identity for identity in self.identities}
        for item in target.slices:
            props = CapacitySliceProps(
                environment=target.environment,
                name=item.name,
                rate_per_second=item.rate_per_second,
                account_rate_per_second=target.region.max_send_rate * target.region.heartbeat.headroom,
                identities=[identities[domain] for domain in item.from_domains],
                configuration_set=item.configuration_set,
                max_receive_count=item.max_receive_count,
                sender_max_concurrency=item.sender_max_concurrency,
                batch_size=item.batch_size,
                log_retention_days=item.log_retention_days,
                dlq_alarm_threshold=item.dlq_alarm_threshold,
                oldest_message_alarm_seconds=item.oldest_message_alarm_seconds,
                archive_address=item.archive.address if item.archive else None,
            )
            props = replace(props, **slice_routing(target, item))  # a slice moving to a dedicated IP pool
            slice_id = "slice_" + item.name.replace("-", "_")
            self.slices.append(CapacitySlice(self, slice_id, props, foundation=foundation))

    def _heartbeat(self) -> None:
        """One heartbeat per stack with slices: shares the quota among them every second."""
        target = self.target
        self.heartbeat = Heartbeat(
            self,
            "heartbeat",
            HeartbeatProps(
                environment=target.environment,
                account_id=target.account.id,
                region=target.region.name,
                slices=[HeartbeatSlice.of(item) for item in self.slices],
                headroom=target.region.heartbeat.headroom,
            ),
            foundation=self.stack_foundation(),
        )

    def add_event_pipeline(self, topic_arns: Sequence[str], **options: Any) -> EventPipeline:
        """The seam for the configuration sets' event topics: the stack's event pipeline, its
        logger subscribed to ``topic_arns``. ``options`` are further ``EventPipelineProps`` fields
        (``status_queue``, ``status_ttl_days``, …); its alarms go to the stack's alarm topic."""
        target = self.target
        if self.event_pipeline is not None:
            raise ValueError(f"{target.name}: add_event_pipeline: the stack has its event pipeline already")
        alarm_topic = self.stack_foundation().alarm_topic_arn
        self.event_pipeline = EventPipeline(
            self,
            "events",
            EventPipelineProps(
                environment=target.environment,
                account_id=target.account.id,
                region=target.region.name,
                topic_arns=tuple(topic_arns),
                **{"alarm_topic_arn": alarm_topic, **options},
            ),
        )
        return self.event_pipeline

    def _smtp_user(self, user: SmtpUserConfig) -> SmtpUser:
        """An SMTP user whose credentials Secrets Manager rotates (no access key in Terraform)."""
        target = self.target
        identities = {identity.props.domain: identity for identity in self.identities}
        props = SmtpUserProps(
            environment=target.environment,
            name=user.name,
            account_id=target.account.id,
            region=target.region.name,
            identities=[identities[domain] for domain in user.identities],
            from_addresses=user.from_addresses,
            configuration_set=user.configuration_set,
            rotation_days=user.rotation_days,
            replica_regions=user.replica_regions,
            readers=user.readers,
            previous_key_grace_hours=user.previous_key_grace_hours,
            test_smtp_login=user.test_smtp_login,
            log_retention_days=user.log_retention_days,
        )
        return SmtpUser(self, "smtp_" + user.name.replace("-", "_"), props)

    def _backend(self, backend: Backend, state_dir: str) -> None:
        name = self.target.name
        if backend.type == "local":
            # Relative to the stack folder terraform runs in, so the JSON is machine-independent.
            LocalBackend(self, path=f"{state_dir}/{name}.tfstate")
            return
        key = f"{backend.key_prefix}/{name}.tfstate" if backend.key_prefix else f"{name}.tfstate"
        S3Backend(
            self,
            bucket=backend.bucket or "",
            key=key,
            region=backend.region,
            encrypt=True,
            kms_key_id=backend.kms_key_id,
            use_lockfile=backend.use_lockfile,
            dynamodb_table=backend.dynamodb_table,
            assume_role={"role_arn": backend.role_arn} if backend.role_arn else None,
        )

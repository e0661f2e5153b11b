"""``Tenant``: an SES tenant and its resource associations (identities, configuration sets)."""

from __future__ import annotations

from cdktn import TerraformOutput
from cdktn_provider_aws.sesv2_tenant import Sesv2Tenant
from cdktn_provider_aws.sesv2_tenant_resource_association import Sesv2TenantResourceAssociation
from constructs import Construct

from modules.tenant.props import TenantProps


class Tenant(Construct):
    """One ``aws_sesv2_tenant`` (address ``tenant_<name>``) plus one
    ``aws_sesv2_tenant_resource_association`` per identity and configuration set
    (``tenant_<name>_identity_<i>``, ``tenant_<name>_configuration_set_<name>``).

    SES keeps a tenant's reputation and sending status apart from the account's: a customer
    whose mail bounces can be paused without pausing everyone. Outputs ``tenant_<name>_arn`` and
    ``tenant_<name>_id``.

    Example::

        Tenant(stack, "tenant_acme", TenantProps(
            tenant_name="acme", account_id="111111111111", region="eu-central-1",
            identity_arns=[identity.identity_arn], configuration_set_names=["transactional"],
        ))
    """

    def __init__(self, scope: Construct, id_: str, props: TenantProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        slug = props.slug
        self.this = Sesv2Tenant(self, "this", tenant_name=props.tenant_name, tags=dict(props.tags) or None)
        self.this.override_logical_id(slug)
        # tenant_name from the resource (not the plain string): each association waits for the tenant.
        for i, arn in enumerate(props.identity_arns):
            Sesv2TenantResourceAssociation(
                self, f"identity_{i}", tenant_name=self.this.tenant_name, resource_arn=arn
            ).override_logical_id(f"{slug}_identity_{i}")
        # by set name: a stack that creates the set makes its association wait for it
        self.configuration_set_associations: dict[str, Sesv2TenantResourceAssociation] = {}
        for name in props.configuration_set_names:
            key = name.lower().replace("-", "_")
            association = Sesv2TenantResourceAssociation(
                self,
                f"configuration_set_{key}",
                tenant_name=self.this.tenant_name,
                resource_arn=props.configuration_set_arn(name),
            )
            association.override_logical_id(f"{slug}_configuration_set_{key}")
            self.configuration_set_associations[name] = association
        TerraformOutput(
            self, "arn", value=self.this.tenant_arn,
            description=f"ARN of the SES tenant {props.tenant_name} in {props.region}",
        ).override_logical_id(f"{slug}_arn")  # fmt: skip
        TerraformOutput(
            self, "id", value=self.this.tenant_id,
            description=f"Id of the SES tenant {props.tenant_name} (pass TenantName when sending)",
        ).override_logical_id(f"{slug}_id")  # fmt: skip

    @property
    def tenant_arn(self) -> str:
        return self.this.tenant_arn

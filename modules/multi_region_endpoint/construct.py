"""``MultiRegionEndpoint``: ``aws_sesv2_multi_region_endpoint`` created in the primary region."""

from __future__ import annotations

from cdktn import TerraformOutput
from cdktn_provider_aws.sesv2_multi_region_endpoint import (
    Sesv2MultiRegionEndpoint,
    Sesv2MultiRegionEndpointDetails,
    Sesv2MultiRegionEndpointDetailsRoutesDetails,
)
from constructs import Construct

from modules.multi_region_endpoint.props import MultiRegionEndpointProps


class MultiRegionEndpoint(Construct):
    """A global endpoint: applications send with its ``EndpointId`` and SES spreads the mail over
    the primary region (where it is created) and the secondary one, failing over between them.

    SES takes exactly one route, the secondary region. Sending through it needs the identity
    verified in both regions. Outputs ``multi_region_endpoint_<name>_id`` and ``..._arn``.

    Example::

        MultiRegionEndpoint(stack, "mre_global", MultiRegionEndpointProps(
            endpoint_name="global", primary_region="eu-central-1", secondary_region="eu-west-1",
        ))
    """

    def __init__(self, scope: Construct, id_: str, props: MultiRegionEndpointProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.this = Sesv2MultiRegionEndpoint(
            self,
            "this",
            endpoint_name=props.endpoint_name,
            details=[
                Sesv2MultiRegionEndpointDetails(
                    routes_details=[
                        Sesv2MultiRegionEndpointDetailsRoutesDetails(region=props.secondary_region)
                    ]
                )
            ],
            tags=dict(props.tags) or None,
        )
        self.this.override_logical_id(props.slug)
        regions = f"{props.primary_region} + {props.secondary_region}"
        TerraformOutput(
            self, "id", value=self.this.endpoint_id,
            description=f"EndpointId of the SES multi-region endpoint {props.endpoint_name} ({regions}): "
            "pass it to SendEmail",
        ).override_logical_id(f"{props.slug}_id")  # fmt: skip
        TerraformOutput(
            self, "arn", value=self.this.arn,
            description=f"ARN of the SES multi-region endpoint {props.endpoint_name} ({regions})",
        ).override_logical_id(f"{props.slug}_arn")  # fmt: skip

    @property
    def endpoint_id(self) -> str:
        return self.this.endpoint_id

"""``DedicatedIpPool``: one ``aws_sesv2_dedicated_ip_pool`` and its outputs."""

from __future__ import annotations

import re

from cdktn import TerraformOutput
from cdktn_provider_aws.sesv2_dedicated_ip_pool import Sesv2DedicatedIpPool
from constructs import Construct

from modules.dedicated_ip_pool.props import DedicatedIpPoolProps


class DedicatedIpPool(Construct):
    """A dedicated IP pool: where the configuration sets bound to it send from.

    Resources: ``aws_sesv2_dedicated_ip_pool.<pool>`` (``<pool>`` = the name with ``-`` as ``_``).
    Outputs: ``<pool>_dedicated_ip_pool_arn``.

    A STANDARD pool starts empty: lease dedicated IPs (SES console or support) and move them into
    it (``aws_sesv2_dedicated_ip_assignment``, or SES ``PutDedicatedIpInPool``); a MANAGED pool
    is sized by SES. A configuration set sends through the pool when its delivery options name it.

    Example::

        pool = DedicatedIpPool(stack, "pool_at", DedicatedIpPoolProps(name="at-pool"))
        pool.pool_name  # for a configuration set's delivery options
    """

    def __init__(self, scope: Construct, id_: str, props: DedicatedIpPoolProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.slug = slug = re.sub(r"[^A-Za-z0-9_]", "_", props.name)  # its Terraform address's name
        self.pool = Sesv2DedicatedIpPool(
            self,
            "this",
            pool_name=props.name,
            scaling_mode=props.scaling_mode,
            tags={**props.tags, "dedicated_ip_pool": props.name},
        )
        self.pool.override_logical_id(slug)
        TerraformOutput(
            self,
            "arn",
            value=self.pool.arn,
            description=f"ARN of the SES dedicated IP pool {props.name} ({props.scaling_mode})",
        ).override_logical_id(f"{slug}_dedicated_ip_pool_arn")

    @property
    def pool_name(self) -> str:
        return self.pool.pool_name

    @property
    def arn(self) -> str:
        return self.pool.arn

"""Inputs of :class:`~modules.tenant.construct.Tenant`. Pure Python, no cdktn import."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modules.shared.validation import SES_NAME, check_account_id, partition


@dataclass(frozen=True, kw_only=True)
class TenantProps:
    """Inputs of :class:`Tenant`.

    Attributes:
        tenant_name: the SES tenant name, 1-64 letters, digits, ``_`` and ``-``.
        account_id: the stack's account id (configuration set ARNs are built from it).
        region: the stack's region.
        identity_arns: ARNs of email identities to associate (e.g. ``DomainIdentity.identity_arn``).
            Default - none.
        configuration_set_names: configuration sets of this account-region to associate.
            Default - none.
        tags: tags on the tenant, merged over the provider's default tags. Default - none.
    """

    tenant_name: str
    account_id: str
    region: str
    identity_arns: Sequence[str] = ()
    configuration_set_names: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not SES_NAME.fullmatch(self.tenant_name):
            raise ValueError(f"tenant_name must be 1-64 letters, digits, _ and -, got {self.tenant_name!r}")
        check_account_id(self.account_id)
        for name in self.configuration_set_names:
            if not SES_NAME.fullmatch(name):
                raise ValueError(
                    f"configuration set name must be 1-64 letters, digits, _ and -, got {name!r}"
                )
        if len(set(self.configuration_set_names)) != len(self.configuration_set_names):
            raise ValueError("configuration_set_names lists a name twice")

    def configuration_set_arn(self, name: str) -> str:
        return f"arn:{partition(self.region)}:ses:{self.region}:{self.account_id}:configuration-set/{name}"

    @property
    def slug(self) -> str:
        """Terraform-address form of the name: ``tenant_<name>`` in lower case, ``-`` → ``_``."""
        return "tenant_" + re.sub(r"[^a-z0-9_]", "_", self.tenant_name.lower())

"""Inputs of :class:`~modules.multi_region_endpoint.construct.MultiRegionEndpoint`. No cdktn import."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from modules.shared.validation import SES_NAME


@dataclass(frozen=True, kw_only=True)
class MultiRegionEndpointProps:
    """Inputs of :class:`MultiRegionEndpoint`.

    Attributes:
        endpoint_name: 1-64 letters, digits, ``_`` and ``-``.
        primary_region: the region of the stack that creates it.
        secondary_region: the other region SES routes to (its one route); must differ from
            ``primary_region``.
        tags: tags on the endpoint, merged over the provider's default tags. Default - none.
    """

    endpoint_name: str
    primary_region: str
    secondary_region: str
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not SES_NAME.fullmatch(self.endpoint_name):
            raise ValueError(
                f"endpoint_name must be 1-64 letters, digits, _ and -, got {self.endpoint_name!r}"
            )
        if self.primary_region == self.secondary_region:
            raise ValueError(f"secondary_region must differ from primary_region, got {self.secondary_region}")

    @property
    def slug(self) -> str:
        return "multi_region_endpoint_" + re.sub(r"[^a-z0-9_]", "_", self.endpoint_name.lower())

"""Inputs of :class:`ConfigurationSet`: the set's options, its event destinations and reputation
alarms. Pure Python (no cdktn import), so the config layer shares the constants."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from modules.shared.validation import (
    SES_NAME,
    check_account_id,
    check_name,
    check_range,
    partition,
    validate_domain_name,
)

CONFIGURATION_SET_NAME = SES_NAME
# SES's event types in the words of aws_sesv2_configuration_set_event_destination.
EVENT_TYPES = (
    "SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY", "OPEN", "CLICK",
    "RENDERING_FAILURE", "SUBSCRIPTION",
)  # fmt: skip
TLS_POLICIES = ("REQUIRE", "OPTIONAL")
SUPPRESSED_REASONS = ("BOUNCE", "COMPLAINT")
DIMENSION_SOURCES = ("MESSAGE_TAG", "EMAIL_HEADER", "LINK_TAG")
DESTINATION_TYPES = ("sns", "event_bridge", "cloud_watch", "firehose")
# SES: a message may wait for delivery from 5 minutes to 14 hours (MaxDeliverySeconds).
MAX_DELIVERY_SECONDS = (300, 50400)
# SES puts an account under review at a 5 % bounce rate or a 0.1 % complaint rate.
SES_REVIEW_BOUNCE_PERCENT = 5.0
SES_REVIEW_COMPLAINT_PERCENT = 0.1
_DESTINATION_NAME = SES_NAME
_DIMENSION = re.compile(r"[A-Za-z0-9_:-]{1,256}")
_ARN = re.compile(r"arn:aws(?:-cn|-us-gov)?:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+")


@dataclass(frozen=True, kw_only=True)
class CloudWatchDimension:
    """One CloudWatch dimension of a ``cloud_watch`` destination.

    Attributes:
        name: the dimension's name, e.g. ``slice`` (the sender tags every send with it) or
            SES's auto tag ``ses:configuration-set``.
        source: where SES reads the value: ``MESSAGE_TAG`` (default), ``EMAIL_HEADER`` or ``LINK_TAG``.
        default_value: published when a message lacks the value. Default ``none``.
    """

    name: str
    source: str = "MESSAGE_TAG"
    default_value: str = "none"

    def __post_init__(self) -> None:
        if not _DIMENSION.fullmatch(self.name):
            raise ValueError(f"dimension name must be 1-256 letters, digits, _ - :, got {self.name!r}")
        if self.source not in DIMENSION_SOURCES:
            raise ValueError(
                f"dimension source must be one of {', '.join(DIMENSION_SOURCES)}, got {self.source!r}"
            )
        if not _DIMENSION.fullmatch(self.default_value):
            raise ValueError(
                f"dimension default_value must be 1-256 letters, digits, _ - :, got {self.default_value!r}"
            )


@dataclass(frozen=True, kw_only=True)
class EventDestination:
    """Where SES publishes the set's events. Build one with a factory:
    ``EventDestination.sns()`` (default: a KMS-encrypted topic the construct creates),
    ``.event_bridge()``, ``.cloud_watch(dimensions)`` or ``.firehose(stream_arn, role_arn)``.

    Attributes:
        type: ``sns``, ``event_bridge``, ``cloud_watch`` or ``firehose``.
        name: the destination's name in SES. Default - the type with ``_`` as ``-``.
        event_types: SES event types published. Default - all ten (``EVENT_TYPES``).
        dimensions: ``cloud_watch`` only: at least one.
        event_bus_arn: ``event_bridge`` only. Default - the account-region's default bus.
        delivery_stream_arn / iam_role_arn: ``firehose`` only: the stream and the role SES assumes.
    """

    type: Literal["sns", "event_bridge", "cloud_watch", "firehose"]
    name: str = ""
    event_types: tuple[str, ...] = EVENT_TYPES
    dimensions: tuple[CloudWatchDimension, ...] = ()
    event_bus_arn: str | None = None
    delivery_stream_arn: str | None = None
    iam_role_arn: str | None = None

    def __post_init__(self) -> None:
        if self.type not in DESTINATION_TYPES:
            raise ValueError(f"type must be one of {', '.join(DESTINATION_TYPES)}, got {self.type!r}")
        if not self.name:
            object.__setattr__(self, "name", self.type.replace("_", "-"))
        if not _DESTINATION_NAME.fullmatch(self.name):
            raise ValueError(f"name must be 1-64 letters, digits, _ or -, got {self.name!r}")
        unknown = ", ".join(t for t in self.event_types if t not in EVENT_TYPES)
        if unknown or not self.event_types:
            expected = ", ".join(EVENT_TYPES)
            raise ValueError(f"event_types must be one or more of {expected}, got {unknown or 'none'}")
        if len(set(self.event_types)) != len(self.event_types):
            raise ValueError("event_types lists an event type twice")
        if (self.type == "cloud_watch") != bool(self.dimensions):
            raise ValueError("dimensions are required by a cloud_watch destination and only there")
        if (self.type == "firehose") != bool(self.delivery_stream_arn and self.iam_role_arn):
            raise ValueError("delivery_stream_arn and iam_role_arn are required by firehose and only there")
        if self.event_bus_arn is not None and self.type != "event_bridge":
            raise ValueError("event_bus_arn is for an event_bridge destination only")
        for key in ("event_bus_arn", "delivery_stream_arn", "iam_role_arn"):
            value = getattr(self, key)
            if value is not None and not _ARN.fullmatch(value):
                raise ValueError(f"{key} must be an ARN, got {value!r}")

    @classmethod
    def sns(cls, *, event_types: Sequence[str] = EVENT_TYPES, name: str = "") -> EventDestination:
        """A KMS-encrypted SNS topic of the set; only SES of this account and set may publish."""
        return cls(type="sns", name=name, event_types=tuple(event_types))

    @classmethod
    def event_bridge(
        cls, *, event_bus_arn: str | None = None, event_types: Sequence[str] = EVENT_TYPES, name: str = ""
    ) -> EventDestination:
        """EventBridge; SES publishes only to the default bus of its account-region."""
        return cls(
            type="event_bridge", name=name, event_types=tuple(event_types), event_bus_arn=event_bus_arn
        )

    @classmethod
    def cloud_watch(
        cls,
        dimensions: Sequence[CloudWatchDimension] | Mapping[str, str],
        *,
        event_types: Sequence[str] = EVENT_TYPES,
        name: str = "",
    ) -> EventDestination:
        """CloudWatch metrics in ``AWS/SES`` per event type; a mapping is name → message tag default."""
        dims = (
            tuple(CloudWatchDimension(name=k, default_value=v) for k, v in dimensions.items())
            if isinstance(dimensions, Mapping)
            else tuple(dimensions)
        )
        return cls(type="cloud_watch", name=name, event_types=tuple(event_types), dimensions=dims)

    @classmethod
    def firehose(
        cls, delivery_stream_arn: str, iam_role_arn: str, *, event_types: Sequence[str] = EVENT_TYPES,
        name: str = "",
    ) -> EventDestination:  # fmt: skip
        """A Kinesis Data Firehose stream you own (e.g. to S3); SES assumes ``iam_role_arn``."""
        return cls(
            type="firehose",
            name=name,
            event_types=tuple(event_types),
            delivery_stream_arn=delivery_stream_arn,
            iam_role_arn=iam_role_arn,
        )


@dataclass(frozen=True, kw_only=True)
class ReputationAlarms:
    """Bounce and complaint rate levels that raise alarms, below SES's review thresholds
    (bounce 5 %, complaint 0.1 %). Rates are percentages of sends over ``period_seconds``.

    Attributes:
        bounce_warning_percent: Default 2.
        bounce_critical_percent: Default 4; above the warning, below 5.
        complaint_warning_percent: Default 0.05.
        complaint_critical_percent: Default 0.08; above the warning, below 0.1.
        minimum_sends: sends in a period below which the rate is not judged (one bounce out of
            ten sends is not a 10 % problem). Default 100.
        period_seconds: the window the rates are computed over, 300-86400 and a multiple of 60.
            Default 3600.
        breaker: a critical alarm pauses the set's sending and its slices (the reputation
            breaker); resuming is an operator's decision. Default true.
    """

    bounce_warning_percent: float = 2.0
    bounce_critical_percent: float = 4.0
    complaint_warning_percent: float = 0.05
    complaint_critical_percent: float = 0.08
    minimum_sends: int = 100
    period_seconds: int = 3600
    breaker: bool = True

    def __post_init__(self) -> None:
        for kind, ceiling in (
            ("bounce", SES_REVIEW_BOUNCE_PERCENT),
            ("complaint", SES_REVIEW_COMPLAINT_PERCENT),
        ):
            warning = getattr(self, f"{kind}_warning_percent")
            critical = getattr(self, f"{kind}_critical_percent")
            if not 0 < warning < critical < ceiling:
                raise ValueError(
                    f"{kind}_critical_percent must be above {kind}_warning_percent (> 0) and below SES's "
                    f"review threshold {ceiling:g} %, got warning {warning:g}, critical {critical:g}"
                )
        check_range("minimum_sends", self.minimum_sends, 1)
        check_range("period_seconds", self.period_seconds, 300, 86400)
        if self.period_seconds % 60:
            raise ValueError(f"period_seconds must be a multiple of 60, got {self.period_seconds}")


@dataclass(frozen=True, kw_only=True)
class ConfigurationSetProps:
    """Inputs of :class:`ConfigurationSet`.

    Attributes:
        name: the configuration set's name in SES (letters, digits, ``_``, ``-``; 1-64).
        environment: prefixes the names of the topic, key alias and alarms.
        account_id: the stack's account (topic and key policies).
        region: the stack's region.
        destinations: event destinations. Default - one ``EventDestination.sns()`` with every
            event type. At most 10; names must be unique.
        tls_policy: ``REQUIRE`` (default: SES delivers only over TLS) or ``OPTIONAL``.
        reputation_metrics: publish ``Reputation.BounceRate`` / ``ComplaintRate`` for the set.
            Default true.
        suppressed_reasons: SES's suppression list reasons. Default ``BOUNCE`` and ``COMPLAINT``.
        custom_redirect_domain: open/click tracking domain (HTTPS required). Default - SES's own.
        max_delivery_seconds: how long SES keeps trying a message, 300-50400. Default - SES's
            (14 hours).
        engagement_metrics: VDM engagement tracking for the set. Default - the account's setting.
        optimized_shared_delivery: VDM Guardian optimized delivery. Default - the account's setting.
        dedicated_ip_pool: a dedicated IP pool name to send from (``delivery_options.sending_pool_name``).
            Default - the shared pool.
        alarms: reputation alarm levels (read by the platform's alarms and breaker).
            Default ``ReputationAlarms()``.
        tags: tags on every resource, merged over the provider's default tags. Default - none.
    """

    name: str
    environment: str
    account_id: str
    region: str
    destinations: Sequence[EventDestination] = (EventDestination.sns(),)
    tls_policy: str = "REQUIRE"
    reputation_metrics: bool = True
    suppressed_reasons: tuple[str, ...] = SUPPRESSED_REASONS
    custom_redirect_domain: str | None = None
    max_delivery_seconds: int | None = None
    engagement_metrics: bool | None = None
    optimized_shared_delivery: bool | None = None
    dedicated_ip_pool: str | None = None
    alarms: ReputationAlarms = field(default_factory=ReputationAlarms)
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not CONFIGURATION_SET_NAME.fullmatch(self.name):
            raise ValueError(f"name must be 1-64 letters, digits, _ or -, got {self.name!r}")
        check_name("environment", self.environment)
        check_account_id(self.account_id)
        if self.tls_policy not in TLS_POLICIES:
            raise ValueError(f"tls_policy must be REQUIRE or OPTIONAL, got {self.tls_policy!r}")
        bad = [r for r in self.suppressed_reasons if r not in SUPPRESSED_REASONS]
        if bad:
            raise ValueError(f"suppressed_reasons may hold BOUNCE and COMPLAINT, got {', '.join(bad)}")
        if self.max_delivery_seconds is not None:
            low, high = MAX_DELIVERY_SECONDS
            check_range("max_delivery_seconds", self.max_delivery_seconds, low, high)
        if self.custom_redirect_domain is not None:
            validate_domain_name(self.custom_redirect_domain)
        if self.dedicated_ip_pool is not None and not CONFIGURATION_SET_NAME.fullmatch(
            self.dedicated_ip_pool
        ):
            raise ValueError(f"dedicated_ip_pool must be a pool name, got {self.dedicated_ip_pool!r}")
        names = [d.name for d in self.destinations]
        if len(set(names)) != len(names):
            raise ValueError(f"event destination names must be unique, got {', '.join(names)}")
        if len(self.destinations) > 10:
            raise ValueError(f"SES allows 10 event destinations per set, got {len(self.destinations)}")

    @property
    def partition(self) -> str:
        return partition(self.region)

    @property
    def arn(self) -> str:
        """The set's ARN (SES names it ``configuration-set/<name>``)."""
        return f"arn:{self.partition}:ses:{self.region}:{self.account_id}:configuration-set/{self.name}"

    @property
    def slug(self) -> str:
        """The set's part of Terraform addresses."""
        return self.name.replace("-", "_")

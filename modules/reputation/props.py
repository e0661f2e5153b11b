"""Inputs of :class:`ReputationMonitor`, and the metric names it reads. Pure Python, no cdktn."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modules.configuration_set.props import CONFIGURATION_SET_NAME, ReputationAlarms
from modules.shared.validation import check_account_id, check_name, check_range, partition

# The event logger's EMF metrics (functions/event_logger/metrics.py):
# ``Events`` and ``Recipients`` by [ConfigurationSet, EventType] and [Slice, EventType], EventType
# in SES's words ("Send", "Bounce", "Complaint", "Delivery").
EVENTS_NAMESPACE = "SesPlatform/Events"
# The sender's EMF metrics (functions/sender/handler.py): ``Recipients``, ``Throttled``, … by Slice.
SENDER_NAMESPACE = "SesPlatform"
SES_NAMESPACE = "AWS/SES"  # SES's own Reputation.BounceRate / Reputation.ComplaintRate (fractions)


@dataclass(frozen=True, kw_only=True)
class MonitoredSet:
    """A configuration set whose rates are watched.

    Attributes:
        name: the configuration set's name.
        alarms: the levels. Default ``ReputationAlarms()``.
        slices: the slices that send with it; the breaker pauses them with the set. Default - none.
        reputation_metrics: SES publishes ``Reputation.*`` for the set (alarms on them too).
            Default true.
    """

    name: str
    alarms: ReputationAlarms = field(default_factory=ReputationAlarms)
    slices: tuple[str, ...] = ()
    reputation_metrics: bool = True

    def __post_init__(self) -> None:
        if not CONFIGURATION_SET_NAME.fullmatch(self.name):
            raise ValueError(f"name must be a configuration set name, got {self.name!r}")

    @property
    def slug(self) -> str:
        return self.name.replace("-", "_")


@dataclass(frozen=True, kw_only=True)
class MonitoredSlice:
    """A capacity slice on the dashboard (its sends, rate used and DLQ depth) with a throttle alarm.

    Attributes:
        name: the slice name.
        rate_per_second: its guaranteed recipients per second.
        dlq_name: its DLQ's name.
    """

    name: str
    rate_per_second: float
    dlq_name: str


@dataclass(frozen=True, kw_only=True)
class ReputationProps:
    """Inputs of :class:`ReputationMonitor` (one per stack).

    Attributes:
        environment, account_id, region: the stack's.
        configuration_sets: the sets to watch (at least one).
        max_send_rate: the account-region's SES quota, recipients/s (a line on the dashboard).
        alarm_topic_arn: where every alarm notifies; also the breaker's dead-letter target.
        alarm_topic_key_arn: the key encrypting the alarm topic (the breaker publishes to it).
        slices: the stack's slices. Default - none.
        state_table_name / state_table_arn: the table with the account's send ledger; required
            with slices. Default - none.
        event_log_group: the event logger's log group (top bouncing domains). Default
            ``/aws/lambda/<env>-ses-event-logger``.
        throttle_alarm_threshold: SES throttles of a slice in 5 minutes that raise its alarm.
            Default 10 (the limiter keeps them rare; a few come from other senders in the account).
        tags: Default - none.
    """

    environment: str
    account_id: str
    region: str
    configuration_sets: Sequence[MonitoredSet]
    max_send_rate: float
    alarm_topic_arn: str
    alarm_topic_key_arn: str
    slices: Sequence[MonitoredSlice] = ()
    state_table_name: str | None = None
    state_table_arn: str | None = None
    event_log_group: str = ""
    throttle_alarm_threshold: int = 10
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_account_id(self.account_id)
        if not self.configuration_sets:
            raise ValueError("configuration_sets: at least one configuration set to watch is required")
        names = [s.name for s in self.configuration_sets]
        if len(set(names)) != len(names):
            raise ValueError(f"configuration_sets lists a set twice: {', '.join(names)}")
        if self.slices and not (self.state_table_name and self.state_table_arn):
            raise ValueError("state_table_name and state_table_arn are required with slices")
        check_range("throttle_alarm_threshold", self.throttle_alarm_threshold, 1)
        if not self.event_log_group:
            object.__setattr__(self, "event_log_group", f"/aws/lambda/{self.environment}-ses-event-logger")

    @property
    def partition(self) -> str:
        return partition(self.region)

    @property
    def breaker_name(self) -> str:
        """Function and IAM role name; IAM names are account-wide, so the region is in it."""
        return f"{self.environment}-ses-breaker-{self.region}"

    def alarm_name(self, monitored: MonitoredSet, part: str) -> str:
        return f"{self.environment}-{monitored.name}-{part}"

    def alarm_arn(self, name: str) -> str:
        return f"arn:{self.partition}:cloudwatch:{self.region}:{self.account_id}:alarm:{name}"

    def breaker_targets(self) -> dict[str, dict[str, object]]:
        """Critical alarm name → the set and slices it pauses (sets whose breaker is on)."""
        return {
            self.alarm_name(s, part): {"configuration_set": s.name, "slices": list(s.slices)}
            for s in self.configuration_sets
            if s.alarms.breaker
            for part in critical_parts(s)
        }


def critical_parts(monitored: MonitoredSet) -> tuple[str, ...]:
    """Alarm name suffixes at the critical level: our rates and, when published, SES's own."""
    ours = ("bounce-rate-critical", "complaint-rate-critical")
    return ours + (("ses-bounce-rate", "ses-complaint-rate") if monitored.reputation_metrics else ())

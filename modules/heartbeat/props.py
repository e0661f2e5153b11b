"""Inputs of :class:`~modules.heartbeat.construct.Heartbeat`. Pure Python, no cdktn import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import check_account_id, check_name, check_range

if TYPE_CHECKING:
    from modules.capacity_slice.construct import CapacitySlice

HEARTBEAT_JOB = "heartbeat"  # functions/heartbeat/handler.py
LOG_LEVELS = ("ERROR", "FATAL", "ALL")
# Express workflows run at most five minutes; the next run starts a minute after this one.
MAX_DURATION_SECONDS = 300


@dataclass(frozen=True, kw_only=True)
class HeartbeatSlice:
    """What the heartbeat needs to know about one capacity slice of its stack.

    Attributes:
        name: the slice name; its cap goes into the account's ledger (``cap:<name>``).
        rate_per_second: the slice's guaranteed recipients per second (> 0).
        queue_urls: the URLs of its lanes (transactional, bulk): the heartbeat reads their depth.
        queue_arns: the ARNs of the same lanes, for the IAM policy (``sqs:GetQueueAttributes``).
    """

    name: str
    rate_per_second: float
    queue_urls: Sequence[str]
    queue_arns: Sequence[str]

    def __post_init__(self) -> None:
        check_name("slice name", self.name)
        if isinstance(self.rate_per_second, bool) or not self.rate_per_second > 0:
            raise ValueError(f"slice {self.name!r}: rate_per_second must be > 0, got {self.rate_per_second}")
        if not self.queue_urls or len(self.queue_urls) != len(self.queue_arns):
            raise ValueError(f"slice {self.name!r}: give each lane's URL and ARN, in the same order")

    @classmethod
    def of(cls, capacity_slice: CapacitySlice) -> HeartbeatSlice:
        """The heartbeat's view of a :class:`CapacitySlice` of the same stack."""
        lanes = list(capacity_slice.lanes)
        return cls(
            name=capacity_slice.props.name,
            rate_per_second=capacity_slice.props.rate_per_second,
            queue_urls=[capacity_slice.queue_urls[lane] for lane in lanes],
            queue_arns=[capacity_slice.queue_arns[lane] for lane in lanes],
        )


@dataclass(frozen=True, kw_only=True)
class HeartbeatProps:
    """Inputs of :class:`Heartbeat`: one per stack (account-region) that has slices.

    Attributes:
        environment: the environment name; resources are named ``<environment>-ses-heartbeat…``.
        account_id: the stack's AWS account id (the scheduler role's confused-deputy condition).
        region: the stack's region.
        slices: the stack's capacity slices (at least one), in declaration order.
        headroom: share of the account's SES quota handed out each second, 0 < headroom ≤ 1.
            Default 1.0.
        tick_seconds: seconds between ticks, aligned to whole seconds. Default 1.
        duration_seconds: how long one execution ticks; the schedule starts one every minute, so
            60 leaves neither a gap nor an overlap. 10-300. Default 60.
        timeout_seconds: the Lambda's timeout (and the Task's), 1-10. Default 5.
        memory_mb: the Lambda's memory. Default 128.
        reserved_concurrency: reserved concurrent executions of the Lambda: one tick at a time,
            plus the last tick of one execution overlapping the first of the next. Default 2.
        max_failed_ticks: failed ticks after which an execution gives up and fails (and the
            ``ExecutionsFailed`` alarm fires); fewer are skipped, the next second ticks again.
            Default 10.
        log_retention_days: retention of the Lambda's and the state machine's log groups.
            Default 365.
        log_level: the state machine's log level: ``ERROR`` (failed ticks and executions only),
            ``FATAL`` or ``ALL`` (every state transition, about 180 events a minute). Default
            ``ERROR``.
        tags: tags on every resource that takes them, merged over the provider's default tags.
            Default - none.
    """

    environment: str
    account_id: str
    region: str
    slices: Sequence[HeartbeatSlice]
    headroom: float = 1.0
    tick_seconds: int = 1
    duration_seconds: int = 60
    timeout_seconds: int = 5
    memory_mb: int = 128
    reserved_concurrency: int = 2
    max_failed_ticks: int = 10
    log_retention_days: int = 365
    log_level: str = "ERROR"
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_account_id(self.account_id)
        if not self.slices:
            raise ValueError("a heartbeat needs at least one slice to allocate to")
        names = [s.name for s in self.slices]
        if len(set(names)) != len(names):
            raise ValueError(f"slice names must be unique, got {', '.join(names)}")
        if isinstance(self.headroom, bool) or not 0 < self.headroom <= 1:
            raise ValueError(f"headroom must be 0 < headroom ≤ 1, got {self.headroom}")
        check_range("tick_seconds", self.tick_seconds, 1, 60)
        check_range("duration_seconds", self.duration_seconds, 10, MAX_DURATION_SECONDS)
        check_range("timeout_seconds", self.timeout_seconds, 1, 10)
        check_range("reserved_concurrency", self.reserved_concurrency, 1, 10)
        check_range("max_failed_ticks", self.max_failed_ticks, 1, 3600)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )
        if self.log_level not in LOG_LEVELS:
            raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {self.log_level!r}")

    @property
    def name(self) -> str:
        """``<env>-ses-heartbeat``: the Lambda, the state machine and the schedule."""
        return f"{self.environment}-ses-heartbeat"

    @property
    def state_machine_log_group(self) -> str:
        # Under /aws/lambda/<env>-: the stack key's policy lets CloudWatch Logs use the key for
        # exactly those log groups (see modules/heartbeat/README.md, "Decisions").
        return f"/aws/lambda/{self.name}-states"

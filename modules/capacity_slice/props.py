"""Inputs of :class:`CapacitySlice`. Pure Python, no cdktn import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import SES_NAME, check_name, check_range

if TYPE_CHECKING:
    from modules.identity.construct import DomainIdentity

LANES = ("transactional", "bulk")  # one SQS queue each; applications pick the lane per message
_CONFIGURATION_SET = SES_NAME


@dataclass(frozen=True, kw_only=True)
class CapacitySliceProps:
    """Inputs of :class:`CapacitySlice`.

    Attributes:
        environment: the environment name; resources are named ``<environment>-<name>-...``.
        name: the slice name: lower-case letters, digits and hyphens.
        rate_per_second: guaranteed recipients per second (> 0), handed to the sender.
        account_rate_per_second: the recipients per second every slice of the account-region may
            book together in its send ledger: the SES quota (``max_send_rate``) x the heartbeat's
            headroom. The heartbeat, where there is one, replaces it with the quota it reads.
            Default - ``rate_per_second`` (safe, but the slice can never borrow beyond it).
        identities: the ``DomainIdentity`` constructs of the slice's from_domains (same stack);
            the sender may send as these only.
        configuration_set: configuration set named in every send. Default - none.
        warmup_pool: a dedicated IP pool this slice's mail is moving to. Up to the day's warm-up
            allowance goes through ``dedicated_configuration_set``, the rest through
            ``configuration_set`` (the shared pool). Default - none.
        dedicated_configuration_set: the configuration set bound to ``warmup_pool`` (required with
            it). Default - none.
        max_receive_count: receives before a message moves to the DLQ, 1-1000. Default 5.
        sender_max_concurrency: maximum concurrency of each lane's event source mapping, 2-1000.
            The function reserves this times the number of lanes. Default 5.
        batch_size: messages per invocation, 1-10. Default 10.
        max_batching_window_seconds: how long a lane gathers a batch, 0-300. Default 1.
        log_retention_days: the sender's log retention, a value CloudWatch accepts. Default 365.
        dlq_alarm_threshold: visible DLQ messages that raise the alarm (≥ 1). Default 1.
        oldest_message_alarm_seconds: age of a lane's oldest message that raises the alarm.
            Default 300.
        sender_timeout_seconds: the sender's timeout; lane visibility timeout is six times this
            plus the batching window. Default 60.
        sender_memory_mb: the sender's memory. Default 256.
        tags: tags on every resource of the slice, merged over the provider's default tags; the
            slice adds ``slice = <name>``. Default - none.
        archive_address: the slice's shadow-copy archive: the sender adds it as a BCC to every mail
            and counts it as a recipient (rate, 50-recipient limit). Default - none.
    """

    environment: str
    name: str
    rate_per_second: float
    identities: Sequence[DomainIdentity]
    account_rate_per_second: float | None = None
    configuration_set: str | None = None
    warmup_pool: str | None = None
    dedicated_configuration_set: str | None = None
    max_receive_count: int = 5
    sender_max_concurrency: int = 5
    batch_size: int = 10
    max_batching_window_seconds: int = 1
    log_retention_days: int = 365
    dlq_alarm_threshold: int = 1
    oldest_message_alarm_seconds: int = 300
    sender_timeout_seconds: int = 60
    sender_memory_mb: int = 256
    tags: Mapping[str, str] = field(default_factory=dict)
    archive_address: str | None = None

    def __post_init__(self) -> None:
        check_name("slice name", self.name)
        if not self.rate_per_second > 0:
            raise ValueError(f"rate_per_second must be > 0, got {self.rate_per_second}")
        if self.account_rate_per_second is not None and not self.account_rate_per_second > 0:
            raise ValueError(f"account_rate_per_second must be > 0, got {self.account_rate_per_second}")
        if not self.identities:
            raise ValueError(f"slice {self.name!r}: at least one identity to send as is required")
        if self.configuration_set is not None and not _CONFIGURATION_SET.fullmatch(self.configuration_set):
            raise ValueError(
                f"configuration_set must be a configuration set name, got {self.configuration_set!r}"
            )
        if (self.warmup_pool is None) != (self.dedicated_configuration_set is None):
            raise ValueError(f"slice {self.name!r}: warmup_pool and dedicated_configuration_set go together")
        if self.dedicated_configuration_set is not None and (
            not _CONFIGURATION_SET.fullmatch(self.dedicated_configuration_set)
            or self.dedicated_configuration_set == self.configuration_set
        ):
            raise ValueError(
                f"slice {self.name!r}: dedicated_configuration_set must be a configuration set name other "
                f"than configuration_set, got {self.dedicated_configuration_set!r}"
            )
        check_range("max_receive_count", self.max_receive_count, 1, 1000)
        check_range("sender_max_concurrency", self.sender_max_concurrency, 2, 1000)
        check_range("batch_size", self.batch_size, 1, 10)
        check_range("max_batching_window_seconds", self.max_batching_window_seconds, 0, 300)
        check_range("dlq_alarm_threshold", self.dlq_alarm_threshold, 1, None)
        check_range("oldest_message_alarm_seconds", self.oldest_message_alarm_seconds, 60, 1209600)
        check_range("sender_timeout_seconds", self.sender_timeout_seconds, 1, 900)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )
        if len(self.function_name) > 64:
            raise ValueError(f"sender name {self.function_name!r} is longer than 64 characters")

    @property
    def prefix(self) -> str:
        return f"{self.environment}-{self.name}"

    @property
    def function_name(self) -> str:
        return f"{self.prefix}-sender"

    @property
    def visibility_timeout_seconds(self) -> int:
        # AWS: at least six times the function timeout (retries of throttled invocations), plus the
        # time a batch may wait to be gathered.
        return 6 * self.sender_timeout_seconds + self.max_batching_window_seconds

    @property
    def reserved_concurrency(self) -> int:
        # Every lane's mapping may run sender_max_concurrency at once: reserving less would throttle
        # invocations, and throttled batches come back and count towards max_receive_count.
        return self.sender_max_concurrency * len(LANES)

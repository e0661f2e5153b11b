"""Inputs of :class:`~modules.event_pipeline.construct.EventPipeline` (pure Python: no cdktn import)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modules.lambda_asset.props import LOG_RETENTION_DAYS
from modules.shared.validation import check_account_id, check_name, check_range, partition

EVENT_LOGGER_JOB = "event_logger"
METRICS_NAMESPACE = "SesPlatform/Events"  # functions/event_logger/metrics.py writes it
_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}")


@dataclass(frozen=True, kw_only=True)
class EventPipelineProps:
    """Inputs of the event pipeline of one stack (environment, account, region).

    Attributes:
        environment: the environment; names are ``<environment>-ses-event…``.
        account_id: the AWS account (12 digits).
        region: the AWS region.
        topic_arns: the SNS topics of the configuration sets' event destinations (ARNs or
            Terraform references); at least one. The logger subscribes to each.
        status_queue: create the application status queue ``<env>-ses-event-status``. Default False.
        status_ttl_days: days a message's status stays in the table after its latest event, 1-3650.
            Default 30.
        history_limit: events kept in each recipient's history, 1-50. Default 10.
        reserved_concurrency: the logger's reserved concurrency, 1-1000 (it bounds the table's
            write rate; SNS retries when throttled). Default 10.
        timeout_seconds: the logger's timeout, 3-300. Default 30.
        memory_mb: the logger's memory, 128-3008. Default 256.
        log_retention_days: a retention CloudWatch accepts. Default 365.
        alarm_topic_arn: SNS topic the alarms notify. Default - none (alarms without actions).
        malformed_alarm_threshold: malformed records in 5 minutes that raise the alarm, ≥ 1.
            Default 1.
        tags: tags on every resource. Default - none.
    """

    environment: str
    account_id: str
    region: str
    topic_arns: Sequence[str]
    status_queue: bool = False
    status_ttl_days: int = 30
    history_limit: int = 10
    reserved_concurrency: int = 10
    timeout_seconds: int = 30
    memory_mb: int = 256
    log_retention_days: int = 365
    alarm_topic_arn: str | None = None
    malformed_alarm_threshold: int = 1
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_name("environment", self.environment)
        check_account_id(self.account_id)
        if not self.topic_arns:
            raise ValueError(
                "topic_arns needs at least one SNS topic (a configuration set's event destination)"
            )
        for arn in self.topic_arns:
            # A Terraform reference resolves at apply time; a literal ARN is checked now.
            if "${" not in arn and not _TOPIC_ARN.fullmatch(arn):
                raise ValueError(f"topic_arns: not an SNS topic ARN: {arn!r}")
        if len(set(self.topic_arns)) != len(self.topic_arns):
            raise ValueError("topic_arns: a topic is listed twice (the logger would get each event twice)")
        check_range("status_ttl_days", self.status_ttl_days, 1, 3650)
        check_range("history_limit", self.history_limit, 1, 50)
        check_range("reserved_concurrency", self.reserved_concurrency, 1, 1000)
        check_range("timeout_seconds", self.timeout_seconds, 3, 300)
        check_range("memory_mb", self.memory_mb, 128, 3008)
        check_range("malformed_alarm_threshold", self.malformed_alarm_threshold, 1)
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"log_retention_days must be a value CloudWatch accepts, got {self.log_retention_days}"
            )

    @property
    def name(self) -> str:
        """``<env>-ses-event``: the prefix of every name."""
        return f"{self.environment}-ses-event"

    @property
    def function_name(self) -> str:
        return f"{self.name}-logger"

    @property
    def partition(self) -> str:
        return partition(self.region)

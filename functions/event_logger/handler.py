"""The event logger: SES events from SNS → a log line each, the status table, the status queue,
CloudWatch metrics.

For each record of the batch (SNS invokes Lambda with one record; the code takes any number):

1. :func:`~functions.event_logger.events.parse_record`; malformed input (no ``Sns``, no
   ``Message``, not JSON, an unknown ``eventType``, no ``mail.messageId``, a bad field) is logged
   as ``malformed_event`` (level ERROR, with the raw record), counted in ``MalformedEvents`` and
   dropped: retrying cannot mend it. The rest of the batch goes on.
2. the status table (:class:`~functions.event_logger.status.StatusStore`): idempotent, so SNS
   redelivering an event (or Lambda retrying an invocation) changes nothing;
3. the status queue, when configured: one JSON message per event, at least once (a stable
   ``event_id`` lets applications drop repeats);
4. one ``ses_event`` log line with what the event says and the status outcome.

A record whose status write or status message fails is logged (``event_error``), counted in
``EventErrors``, and after the whole batch the invocation fails, so Lambda retries it (twice,
then the function's dead-letter queue keeps the event). Metrics go out as EMF at the end.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from functions.common.clock import Clock, SystemClock
from functions.event_logger.events import NONE, MalformedEvent, SesEvent, parse_record
from functions.event_logger.metrics import METRICS_NAMESPACE, BatchMetrics
from functions.event_logger.status import Outcome, StatusStore

# What the event_pipeline construct sets and this module reads (a test keeps the two in step).
ENVIRONMENT_VARIABLES = (
    "STATUS_TABLE", "STATUS_QUEUE_URL", "STATUS_TTL_SECONDS", "HISTORY_LIMIT", "METRICS_NAMESPACE",
)  # fmt: skip
MAX_RAW_RECORD_CHARS = 100_000  # CloudWatch Logs takes 256 KB per event; keep the line well below
STATUS_MESSAGE_VERSION = 1


class EventBatchError(RuntimeError):
    """Some events of the batch were not recorded: fail the invocation so Lambda retries it."""


class SqsClient(Protocol):
    def send_message(self, **kwargs: Any) -> dict[str, Any]: ...


class StatusRecorder(Protocol):
    def record(self, event: SesEvent, now: float) -> Outcome: ...


@dataclass(frozen=True, kw_only=True)
class LoggerConfig:
    """Settings of the event logger; ``from_env`` reads what the construct sets.

    Attributes:
        status_table: the status table's name.
        status_queue_url: the application status queue. Default - none (no status messages).
        status_ttl_seconds: how long a message's status is kept after its latest event.
            Default 30 days.
        history_limit: events kept in each recipient's history. Default 10.
        metrics_namespace: the EMF namespace. Default ``SesPlatform/Events``.
    """

    status_table: str
    status_queue_url: str | None = None
    status_ttl_seconds: int = 30 * 86400
    history_limit: int = 10
    metrics_namespace: str = METRICS_NAMESPACE

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> LoggerConfig:
        return cls(
            status_table=env["STATUS_TABLE"],
            status_queue_url=env.get("STATUS_QUEUE_URL") or None,
            status_ttl_seconds=int(env.get("STATUS_TTL_SECONDS") or 30 * 86400),
            history_limit=int(env.get("HISTORY_LIMIT") or 10),
            metrics_namespace=env.get("METRICS_NAMESPACE") or METRICS_NAMESPACE,
        )


@dataclass
class LoggerDeps:
    store: StatusRecorder
    clock: Clock
    sqs: SqsClient | None = None
    stream: TextIO | None = field(default=None)  # log lines and EMF; default stdout


def event_id(event: SesEvent) -> str:
    """Stable across SNS redeliveries and SES re-publishing: the message, the event, its recipients."""
    text = "\n".join((event.message_id, event.history_line(), *event.recipients))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def log_fields(event: SesEvent) -> dict[str, Any]:
    """The ``ses_event`` log line's fields (without the status outcome)."""
    return {
        "event_type": event.event_type,
        "message_id": event.message_id,
        "timestamp": event.timestamp,
        "slice": event.slice_name,
        "configuration_set": event.configuration_set,
        "idempotency_key": event.idempotency_key,
        "recipients": list(event.recipients),
        "tags": event.custom_tags,
        **{k: v for k, v in event.log_fields().items() if v is not None},
        "sns_message_id": event.sns_message_id,
    }


def format_line(event: SesEvent, *, level: str = "INFO", **extra: Any) -> str:
    """One structured JSON log line for ``event`` (the shape of ``functions.common.log.log``)."""
    record = {"level": level, "event": "ses_event", **log_fields(event), **extra}
    return json.dumps(record, default=str, separators=(",", ":"))


def status_message(event: SesEvent) -> str:
    """The status queue's message body for ``event`` (README: "Status queue messages")."""
    return json.dumps(
        {
            "version": STATUS_MESSAGE_VERSION,
            "event_id": event_id(event),
            "event_type": event.event_type,
            "message_id": event.message_id,
            "idempotency_key": event.idempotency_key,
            "slice": event.slice_name,
            "configuration_set": event.configuration_set,
            "timestamp": event.timestamp,
            "recipients": {
                r: {"state": event.event_type, **event.status_fields(r)} for r in event.recipients
            },
        },
        separators=(",", ":"),
    )


def _print(line: str, stream: TextIO | None) -> None:
    print(line, file=stream or sys.stdout)


def _malformed(exc: MalformedEvent, record: Any, index: int, stream: TextIO | None) -> None:
    raw = json.dumps(record, default=str)
    if len(raw) > MAX_RAW_RECORD_CHARS:
        raw = raw[:MAX_RAW_RECORD_CHARS] + f"…(truncated, {len(raw)} characters)"
    line = {"level": "ERROR", "event": "malformed_event", "reason": exc.reason, "detail": exc.detail,
            "record_index": index, "record": raw}  # fmt: skip
    _print(json.dumps(line, default=str, separators=(",", ":")), stream)


def handle_batch(event: Mapping[str, Any], deps: LoggerDeps, config: LoggerConfig) -> dict[str, int]:
    """Process the SNS records of one invocation; returns counts (Lambda ignores them)."""
    metrics = BatchMetrics()
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list):
        records = [event]  # not a Lambda SNS event at all: malformed as a whole
    counts = {"events": 0, "duplicates": 0, "malformed": 0, "errors": 0}
    for index, record in enumerate(records):
        try:
            ses_event = parse_record(record)
        except MalformedEvent as exc:
            _malformed(exc, record, index, deps.stream)
            metrics.malformed[exc.reason] += 1
            counts["malformed"] += 1
            continue
        try:
            outcome = deps.store.record(ses_event, deps.clock.now())
            if deps.sqs is not None and config.status_queue_url:
                deps.sqs.send_message(QueueUrl=config.status_queue_url, MessageBody=status_message(ses_event))
        except Exception as exc:  # DynamoDB or SQS: the invocation fails after the batch, and retries
            _print(format_line(ses_event, level="ERROR", status="error", error=repr(exc)), deps.stream)
            metrics.errors += 1
            counts["errors"] += 1
            continue
        _print(format_line(ses_event, status=outcome.value), deps.stream)
        metrics.event(ses_event.configuration_set or NONE, ses_event.slice_name or NONE,
                      ses_event.event_type, len(ses_event.recipients))  # fmt: skip
        counts["events"] += 1
        counts["duplicates"] += outcome is Outcome.DUPLICATE
    metrics.flush(config.metrics_namespace, int(deps.clock.now() * 1000), deps.stream)
    if counts["errors"]:
        raise EventBatchError(f"{counts['errors']} event(s) not recorded; the invocation is retried")
    return counts


_DEPS: LoggerDeps | None = None
_CONFIG: LoggerConfig | None = None


def _default_deps() -> tuple[LoggerDeps, LoggerConfig]:
    import boto3
    from botocore.config import Config

    config = LoggerConfig.from_env(os.environ)
    retries = Config(retries={"mode": "standard", "max_attempts": 3})
    dynamodb = boto3.client("dynamodb", config=retries)
    store = StatusStore(dynamodb, config.status_table, ttl_seconds=config.status_ttl_seconds,
                        history_limit=config.history_limit)  # fmt: skip
    sqs = boto3.client("sqs", config=retries) if config.status_queue_url else None
    return LoggerDeps(store=store, clock=SystemClock(), sqs=sqs), config


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:  # noqa: ARG001
    global _DEPS, _CONFIG  # one set of clients per container, built on first use
    if _DEPS is None or _CONFIG is None:
        _DEPS, _CONFIG = _default_deps()
    return handle_batch(event, _DEPS, _CONFIG)

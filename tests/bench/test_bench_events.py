"""Event logger benchmark → bench-results/events.json (+ events.png).

``events_per_second``: SNS records through ``handle_batch`` (parse, typed wrapper, the status
write request built by ``fast_update``, the log line, EMF) with a status store that builds the
request and does no I/O, logs to a null stream; one process, one thread (one core). A mix of
all ten event types, records built up front as SNS delivers them. Median of ``BENCH_RUNS``.
``parse_format_events_per_second``: ``parse_record`` + ``format_line`` alone.

``dynamodb_writes_per_event``: the real ``StatusStore`` on moto DynamoDB behind a counting
client; the common path (each message's events in order, no redelivery) and a messy path
(events of a message shuffled, 10 % redelivered). Counts ``UpdateItem`` requests (a failed
condition is a request that wrote nothing) and writes.
"""

from __future__ import annotations

import io
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from functions.event_logger.events import SesEvent, parse_record
from functions.event_logger.handler import LoggerConfig, LoggerDeps, format_line, handle_batch
from functions.event_logger.status import HASH_KEY, Outcome, StatusStore, chunks, fast_update
from tests.support.ses_events import FIXTURES, batch, record, ses_event

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "bench-results"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
EVENTS = 20_000
MESSAGES = 300
GOAL_EVENTS_PER_SECOND = 5000
GOAL_WRITES_PER_EVENT = 1.0
# A message's life in order; each message has these (opens and clicks for some).
LIFE = ("Send", "Delivery", "Open", "Click")


class NullStream(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


class RequestOnlyStore:
    """Builds the fast path's UpdateItem request (the CPU part of a write), sends nothing."""

    def __init__(self) -> None:
        self.requests = 0

    def record(self, event: SesEvent, now: float) -> Outcome:
        for group in chunks(event.recipients):
            fast_update(event, group, table="t", expires_at=int(now) + 86400, history_limit=10)
            self.requests += 1
        return Outcome.APPLIED


class Clock:
    def now(self) -> float:
        return 1_772_366_400.0

    def sleep(self, seconds: float) -> None:
        pass


class CountingDynamoDb:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests = 0
        self.writes = 0

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        self.requests += 1
        result: dict[str, Any] = self.client.update_item(**kwargs)
        self.writes += 1
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def sns_records(count: int) -> list[dict[str, Any]]:
    types = sorted(FIXTURES)
    out = []
    for i in range(count):
        event = ses_event(types[i % len(types)], messageId=f"0102018f-bench-{i // len(types):08d}-000000")
        out.append(record(event, sns_message_id=f"sns-{i}"))
    return out


def throughput(records: list[dict[str, Any]]) -> tuple[float, float]:
    config = LoggerConfig(status_table="t")
    deps = LoggerDeps(store=RequestOnlyStore(), clock=Clock(), stream=NullStream())
    start = time.perf_counter()
    for item in records:  # SNS invokes with one record per invocation
        handle_batch({"Records": [item]}, deps, config)
    handler_s = time.perf_counter() - start
    start = time.perf_counter()
    for item in records:
        format_line(parse_record(item), status="applied")
    parse_format_s = time.perf_counter() - start
    return len(records) / handler_s, len(records) / parse_format_s


def life_events(message: int) -> list[dict[str, Any]]:
    message_id = f"0102018f-life-{message:08d}-000000"
    kinds = LIFE[: 2 + message % 3]  # Send, Delivery [, Open [, Click]]
    if message % 20 == 0:
        kinds = ("Send", "Bounce")
    return [ses_event(kind, messageId=message_id) for kind in kinds]


def writes_per_event(*, messy: bool) -> dict[str, float]:
    rng = random.Random(5)  # noqa: S311 - a reproducible shuffle, not a secret
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-central-1", aws_access_key_id="x",
                              aws_secret_access_key="x")  # fmt: skip
        client.create_table(
            TableName="status",
            KeySchema=[{"AttributeName": HASH_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": HASH_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        counting = CountingDynamoDb(client)
        store = StatusStore(counting, "status", ttl_seconds=86400, history_limit=10)
        deps = LoggerDeps(store=store, clock=Clock(), stream=NullStream())
        delivered = 0
        for message in range(MESSAGES):
            events = life_events(message)
            if messy:
                rng.shuffle(events)
                events += [e for e in events if rng.random() < 0.1]  # SNS redelivery
            for event in events:
                handle_batch(
                    batch(record(json.loads(json.dumps(event)))), deps, LoggerConfig(status_table="status")
                )
                delivered += 1
    return {
        "events": delivered,
        "update_item_requests_per_event": round(counting.requests / delivered, 3),
        "writes_per_event": round(counting.writes / delivered, 3),
    }


def test_event_logger_throughput_and_writes_per_event() -> None:
    records = sns_records(EVENTS)
    throughput(records[:1000])  # warm up
    runs = [throughput(records) for _ in range(RUNS)]
    handler_eps = statistics.median(r[0] for r in runs)
    parse_eps = statistics.median(r[1] for r in runs)
    common, messy = writes_per_event(messy=False), writes_per_event(messy=True)
    result = {
        "events_per_second": round(handler_eps),
        "parse_format_events_per_second": round(parse_eps),
        "goal_events_per_second": GOAL_EVENTS_PER_SECOND,
        "dynamodb_writes_per_event": common["writes_per_event"],
        "goal_dynamodb_writes_per_event": GOAL_WRITES_PER_EVENT,
        "common_path": common,
        "out_of_order_and_redelivered": messy,
        "events_per_run": EVENTS,
        "runs": RUNS,
        "handler_runs_events_per_second": [round(r[0]) for r in runs],
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (one used)",
        "command": "make bench",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "events.json").write_text(json.dumps(result, indent=2) + "\n")
    _plot(result)
    # No timed assertion; but a run that recorded nothing is no figure.
    assert common["events"] > 0
    assert common["writes_per_event"] > 0


def _plot(result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3))
    left.bar(
        ["handler", "parse + format"], [result["events_per_second"], result["parse_format_events_per_second"]]
    )
    left.axhline(
        GOAL_EVENTS_PER_SECOND, color="red", linestyle="--", label=f"goal {GOAL_EVENTS_PER_SECOND}/s"
    )
    left.set_ylabel("events per second, one core")
    left.legend(loc="lower right")
    paths = ["in order", "shuffled +\n10 % redelivered"]
    common, messy = result["common_path"], result["out_of_order_and_redelivered"]
    x = range(len(paths))
    right.bar(
        [i - 0.2 for i in x], [common["writes_per_event"], messy["writes_per_event"]], 0.4, label="writes"
    )
    requests = [common["update_item_requests_per_event"], messy["update_item_requests_per_event"]]
    right.bar([i + 0.2 for i in x], requests, 0.4, label="requests")
    right.axhline(GOAL_WRITES_PER_EVENT, color="red", linestyle="--", label="goal ≤ 1 write")
    right.set_xticks(list(x), paths)
    right.set_ylabel("DynamoDB per event")
    right.legend(loc="upper left", fontsize=8)
    fig.suptitle("SES event logger")
    fig.tight_layout()
    fig.savefig(RESULTS / "events.png", dpi=110)
    plt.close(fig)

"""A whole slice in virtual time: producer → lane queues → N real senders → SES model, plus the books.

``SenderFleet`` wires the real ``functions.sender.handler.handle_batch`` (with the in-memory
limiter and idempotency store) to :class:`~tests.support.sqs_model.SqsModel` lanes sharing one
DLQ, :class:`~tests.support.sqs_model.EventSourceMapping` pollers and a
:class:`~tests.support.ses_model.SesModel`, all on one :class:`~tests.support.virtual_time.VirtualClock`.
``ledger()`` then accounts for every enqueued message: sent once, duplicated, dead-lettered with a
reason, ambiguous, or lost.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from functions.sender.contract import SQS_MESSAGE_BYTES
from functions.sender.handler import SenderConfig, SenderDeps, handle_batch
from functions.sender.idempotency import InMemoryIdempotencyStore
from tests.support.ledger_table import in_memory_limiter
from tests.support.ses_model import SesModel
from tests.support.sqs_model import CrashingSes, CrashPlan, EventSourceMapping, Invocation, Queue, SqsModel
from tests.support.virtual_time import VirtualClock, VirtualSends

LANES = ("transactional", "bulk")


@dataclass(frozen=True)
class Arrival:
    """One message the application enqueues ``at`` seconds after the start."""

    at: float
    lane: str
    body: str
    key: str | None  # None for a malformed body
    recipients: int = 0


class LogTap:
    """Stands in for stdout while the fleet runs: counts the handler's JSON log events and keeps
    the lines that matter for explaining an anomaly (everything but ``sent``/metrics)."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._buffer = ""
        self._lock = threading.Lock()
        self.events: Counter[str] = Counter()
        self.kept: list[dict[str, Any]] = []

    def write(self, text: str) -> int:
        with self._lock:
            self._buffer += text
            while "\n" in self._buffer:
                line, self._buffer = self._buffer.split("\n", 1)
                self._line(line)
        return len(text)

    def flush(self) -> None:
        pass

    def _line(self, line: str) -> None:
        try:
            record = json.loads(line)
        except ValueError:
            return
        event = record.get("event") if isinstance(record, dict) else None
        if event is None:
            return  # an EMF metrics document
        self.events[event] += 1
        if event not in {"sent"}:
            record["t"] = self._clock.now()
            self.kept.append(record)


@dataclass
class Ledger:
    """Where every enqueued message ended up (keys are idempotency keys)."""

    expected: set[str]
    sent: Counter[str]
    dead_letters: dict[str, list[str]]  # key → reason codes of its DLQ copies
    malformed_reasons: list[str | None]  # reason code of each malformed body's DLQ copy
    ambiguous_in_store: set[str]
    lost: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    sent_and_dead: list[str] = field(default_factory=list)  # sent, yet in the DLQ not as ambiguous


class SenderFleet:
    def __init__(
        self,
        *,
        rate_per_second: float,
        ses: Mapping[str, Any] | None = None,
        concurrency: Mapping[str, int] | None = None,
        max_receive_count: int = 5,
        sender_timeout_seconds: float = 60.0,
        batch_size: int = 10,
        crash_after: Mapping[str, Mapping[int, int] | CrashPlan] | None = None,
        config: Mapping[str, Any] | None = None,
        slice_name: str = "at-de",
    ) -> None:
        self.clock = VirtualClock()
        self.rate_per_second = rate_per_second
        self.ses = SesModel(self.clock, **{"rate_per_second": rate_per_second, **(ses or {})})
        self.sqs = SqsModel(self.clock)
        visibility = 6 * sender_timeout_seconds + 1  # as the capacity_slice construct sets it
        # each queue holds what the construct's do (MaximumMessageSize)
        self.dlq = self.sqs.create_queue(
            f"{slice_name}-dlq", visibility_timeout=visibility, max_message_size=SQS_MESSAGE_BYTES
        )
        self.lanes: dict[str, Queue] = {
            lane: self.sqs.create_queue(
                f"{slice_name}-{lane}",
                visibility_timeout=visibility,
                dead_letter_queue=self.dlq,
                max_receive_count=max_receive_count,
                max_message_size=SQS_MESSAGE_BYTES,
            )
            for lane in LANES
        }
        self.limiter = in_memory_limiter(rate_per_second)
        self.store = InMemoryIdempotencyStore()
        self.config = SenderConfig(
            slice_name=slice_name,
            dlq_url=self.dlq.url,
            queue_urls={q.arn: q.url for q in self.lanes.values()},
            max_receive_count=max_receive_count,
            **(config or {}),
        )
        concurrency = concurrency or {"transactional": 4, "bulk": 8}
        self.esms = [
            EventSourceMapping(
                self.clock,
                self.sqs,
                self.lanes[lane],
                self._invoke,
                concurrency=n,
                batch_size=batch_size,
                function_timeout_seconds=sender_timeout_seconds,
                crash_after=(crash_after or {}).get(lane),
                name=f"sender-{lane}",
            )
            for lane, n in concurrency.items()
            if n
        ]
        self.arrivals: list[Arrival] = []
        self.enqueued_at: dict[str, float] = {}
        self.log = LogTap(self.clock)
        self.wall_seconds = 0.0
        self.finished = False

    # -- running -----------------------------------------------------------------------------------
    def _invoke(self, event: dict[str, Any], invocation: Invocation) -> Mapping[str, Any]:
        ses = CrashingSes(self.ses, invocation) if invocation.crash_after_sends else self.ses
        deps = SenderDeps(
            ses=ses, sqs=self.sqs, limiter=self.limiter, store=self.store, clock=self.clock,
            send_concurrently=VirtualSends(self.clock),  # as the Lambda: a batch's sends at once
        )  # fmt: skip
        return handle_batch(event, deps, self.config, remaining_seconds=invocation.remaining_seconds)

    def add(self, arrivals: Iterable[Arrival]) -> None:
        self.arrivals.extend(arrivals)

    def _produce(self) -> None:
        start = self.clock.start
        for arrival in sorted(self.arrivals, key=lambda a: a.at):
            wait = start + arrival.at - self.clock.now()
            if wait > 0:
                self.clock.sleep(wait)
            if arrival.key is not None:
                self.enqueued_at.setdefault(arrival.key, self.clock.now())
            self.sqs.send_message(QueueUrl=self.lanes[arrival.lane].url, MessageBody=arrival.body)
        self._produced = True

    def settled(self) -> bool:
        return getattr(self, "_produced", False) and not any(len(q) for q in self.lanes.values())

    def run(self, *, max_seconds: float = 100_000.0) -> bool:
        """Run until every lane queue is empty (all arrivals in), or ``max_seconds`` virtual."""
        started = time.perf_counter()
        with redirect_stdout(self.log):  # type: ignore[type-var]
            self.clock.spawn(self._produce, name="producer")
            for esm in self.esms:
                esm.start()
            self.clock.run(until=lambda: self.settled() or bool(self.clock.errors), max_seconds=max_seconds)
        self.finished = self.settled() and not self.clock.errors
        self.wall_seconds = time.perf_counter() - started
        return self.finished

    # -- the books ---------------------------------------------------------------------------------
    def ledger(self) -> Ledger:
        expected = {a.key for a in self.arrivals if a.key is not None}
        sent = self.ses.sends_by_key()
        dead: dict[str, list[str]] = defaultdict(list)
        malformed: list[str | None] = []
        for message in self.dlq.messages.values():
            key = message.attribute("idempotency_key")
            reason = message.attribute("reason_code") or (
                "REDRIVE_MAX_RECEIVES" if message.redriven_from else None
            )
            if key is None:
                key = _key_of(message.body)
            if key is not None and key in expected:
                dead[key].append(reason or "NO_REASON")
            else:
                malformed.append(reason)
        ambiguous = {k for k in expected if (r := self.store.get(k)) is not None and r.state == "AMBIGUOUS"}
        ledger = Ledger(expected, sent, dict(dead), malformed, ambiguous)
        ledger.lost = sorted(k for k in expected if not sent.get(k) and k not in dead)
        ledger.duplicates = {k: n for k, n in sent.items() if k is not None and n > 1}
        ledger.sent_and_dead = sorted(
            k for k, reasons in dead.items() if sent.get(k) and any(r != "AMBIGUOUS_OUTCOME" for r in reasons)
        )
        return ledger

    def latencies(self) -> list[float]:
        """Enqueue → SES answer, per sent key (first acceptance)."""
        first: dict[str, float] = {}
        for send in self.ses.accepted:
            key = send.idempotency_key
            if key is not None and key not in first:
                first[key] = send.answered_at if send.answered_at is not None else send.at
        return [first[k] - self.enqueued_at[k] for k in first if k in self.enqueued_at]

    def trail(self, key: str) -> list[str]:
        """Everything known about one key, in time order: for explaining a lost or duplicate."""
        rows: list[tuple[float, str]] = []
        for queue in [*self.lanes.values(), self.dlq]:
            for message in queue.all_messages:
                if _key_of(message.body) == key:
                    rows += [(t, f"{queue.name} {message.message_id}: {e}") for t, e in message.history]
        rows += [
            (a.at, f"SES {a.outcome} ({a.recipients} rcpt)")
            for a in self.ses.attempts
            if a.idempotency_key == key
        ]
        rows += [
            (float(r.get("t", 0)), json.dumps(r)) for r in self.log.kept if r.get("idempotency_key") == key
        ]
        return [f"{t - self.clock.start:10.3f} {text}" for t, text in sorted(rows, key=lambda r: r[0])]


def _key_of(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    key = data.get("idempotency_key") if isinstance(data, dict) else None
    return key if isinstance(key, str) else None

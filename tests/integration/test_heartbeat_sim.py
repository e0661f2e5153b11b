"""The heartbeat in virtual time: three slices share one account's SES quota, the real senders
(``handle_batch`` with ``DynamoDbLimiter`` over one in-memory ledger table) and the real heartbeat
``tick`` (over the same table and twins of SQS and SES GetAccount) against the strict SES model,
with bursty, shifting backlogs of 1-50-recipient mail (the sending benchmark's sizes) and the
heartbeat killed for 60 s in the middle.

``run_sim`` is shared with ``tests/bench/test_bench_heartbeat.py``.
"""

from __future__ import annotations

import random
from collections import defaultdict
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from typing import Any

from functions.common.ledger import read_ledger
from functions.heartbeat.handler import HeartbeatConfig, HeartbeatDeps, SliceConfig, tick
from functions.sender.handler import SenderConfig, SenderDeps, handle_batch
from functions.sender.idempotency import InMemoryIdempotencyStore
from functions.sender.limiter import DynamoDbLimiter
from tests.support.fleet import Arrival, LogTap
from tests.support.ledger_table import LedgerTable
from tests.support.scenarios import arrival, heavy_tail_recipients, valid_message
from tests.support.ses_model import SesModel
from tests.support.sqs_model import EventSourceMapping, Invocation, Queue, SqsModel
from tests.support.virtual_time import VirtualClock, VirtualSends

QUOTA = 100.0
GUARANTEED = {"a": 30.0, "b": 15.0, "c": 10.0}
LANES = ("transactional", "bulk")
SENDERS_PER_LANE = 5  # the capacity slice's default sender_max_concurrency


@dataclass(frozen=True)
class Phase:
    """``rate`` recipients/s arriving on slice ``name`` during [start, end); rate 0 + ``burst``:
    that many recipients at ``start``."""

    name: str
    start: float
    end: float
    rate: float = 0.0
    burst: int = 0


def workload(scale: float = 1.0) -> list[Phase]:
    """Bursty, shifting backlogs; ``scale`` stretches time (the test runs a shorter one)."""
    s = scale
    return [
        Phase("a", 0, 120 * s, rate=90),  # a busy stretch, silent, busy again
        Phase("a", 200 * s, 300 * s, rate=70),
        Phase("b", 30 * s, 31 * s, burst=int(2000 * s)),  # bursts
        Phase("b", 150 * s, 151 * s, burst=int(3000 * s)),
        Phase("c", 0, 300 * s, rate=12),  # a steady trickle above its guaranteed 10
    ]


class SqsAttributes:
    """``get_queue_attributes`` over the SQS model (what the heartbeat reads)."""

    def __init__(self, sqs: SqsModel) -> None:
        self.sqs = sqs

    def get_queue_attributes(self, **kwargs: Any) -> dict[str, Any]:
        queue = self.sqs.queue(kwargs["QueueUrl"])
        in_flight = queue.in_flight(self.sqs.clock.now())
        return {
            "Attributes": {
                "ApproximateNumberOfMessages": str(len(queue) - in_flight),
                "ApproximateNumberOfMessagesNotVisible": str(in_flight),
            }
        }


class Account:
    def get_account(self, **_: Any) -> dict[str, Any]:
        return {"SendQuota": {"MaxSendRate": QUOTA}}


@dataclass
class SimResult:
    clock: VirtualClock
    ses: SesModel
    finished: bool
    seconds: int
    outage: tuple[float, float]
    expected: dict[str, str]  # idempotency key -> slice
    dead_letters: int
    backlog: dict[str, list[int]]  # recipients waiting at each tick, per slice
    sent: dict[str, list[int]] = field(default_factory=dict)  # accepted recipients per second
    budgets: dict[str, list[float]] = field(default_factory=dict)
    wall_seconds: float = 0.0
    log: LogTap | None = None  # the handlers' decisions, to explain an anomaly


def run_sim(*, scale: float = 1.0, outage: tuple[float, float] = (100, 160), seed: int = 3) -> SimResult:
    import time

    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload
    clock = VirtualClock()
    ses = SesModel(clock, rate_per_second=QUOTA, seed=seed, validate=False)
    sqs = SqsModel(clock)
    table = LedgerTable()
    limiters: dict[str, DynamoDbLimiter] = {}
    lanes: dict[str, dict[str, Queue]] = {}
    esms: list[EventSourceMapping] = []
    dlqs: list[Queue] = []
    for name, g in GUARANTEED.items():
        limiters[name] = DynamoDbLimiter(table, "state", name, g, account_rate_per_second=QUOTA)
        dlq = sqs.create_queue(f"{name}-dlq", visibility_timeout=361)
        dlqs.append(dlq)
        lanes[name] = {
            lane: sqs.create_queue(
                f"{name}-{lane}", visibility_timeout=361, dead_letter_queue=dlq, max_receive_count=5
            )
            for lane in LANES
        }
        config = SenderConfig(
            slice_name=name,
            dlq_url=dlq.url,
            queue_urls={q.arn: q.url for q in lanes[name].values()},
            max_receive_count=5,
        )
        store = InMemoryIdempotencyStore()

        def invoke(
            event: dict[str, Any], inv: Invocation, lim: DynamoDbLimiter = limiters[name],
            st: InMemoryIdempotencyStore = store, cfg: SenderConfig = config,
        ) -> Any:  # fmt: skip
            deps = SenderDeps(
                ses=ses, sqs=sqs, limiter=lim, store=st, clock=clock, send_concurrently=VirtualSends(clock)
            )
            return handle_batch(event, deps, cfg, remaining_seconds=inv.remaining_seconds)

        for lane in LANES:  # as deployed: each lane's mapping runs sender_max_concurrency
            esms.append(
                EventSourceMapping(
                    clock, sqs, lanes[name][lane], invoke, concurrency=SENDERS_PER_LANE, name=f"{name}-{lane}"
                )
            )

    arrivals: list[tuple[str, Arrival]] = []
    index = 0
    for phase in workload(scale):
        total = phase.burst or int(phase.rate * (phase.end - phase.start))
        made = 0
        while made < total:
            n = min(heavy_tail_recipients(rng), total - made)
            lane = "transactional" if rng.random() < 0.3 else "bulk"
            at = phase.start if phase.burst else rng.uniform(phase.start, phase.end)
            message = valid_message(index, n, lane=lane, prefix=phase.name)
            arrivals.append((phase.name, arrival(at, message, n)))
            index, made = index + 1, made + n
    arrivals.sort(key=lambda x: x[1].at)
    expected = {a.key: name for name, a in arrivals if a.key}
    waiting: dict[str, int] = defaultdict(int)  # recipients enqueued, not yet accepted by SES
    recipients_of = {a.key: a.recipients for _, a in arrivals}
    produced = [False]

    def produce() -> None:
        for name, a in arrivals:
            wait = clock.start + a.at - clock.now()
            if wait > 0:
                clock.sleep(wait)
            sqs.send_message(QueueUrl=lanes[name][a.lane].url, MessageBody=a.body)
            waiting[name] += a.recipients
        produced[0] = True

    hb_config = HeartbeatConfig(
        state_table="state",
        slices=tuple(
            SliceConfig(n, g, tuple(q.url for q in lanes[n].values())) for n, g in GUARANTEED.items()
        ),
    )
    hb_deps = HeartbeatDeps(ses=Account(), sqs=SqsAttributes(sqs), dynamodb=table, clock=clock)
    backlog: dict[str, list[int]] = {n: [] for n in GUARANTEED}
    budgets: dict[str, list[float]] = {n: [] for n in GUARANTEED}
    counted = [0]

    def heartbeat() -> None:
        while True:
            # the books: recipients still waiting per slice at this tick
            for send in ses.accepted[counted[0] :]:
                key = send.idempotency_key
                if key in expected:
                    waiting[expected[key]] -= recipients_of[key]
            counted[0] = len(ses.accepted)
            elapsed = clock.elapsed()
            ledger = read_ledger(table, "state")
            fresh = ledger.caps_fresh(clock.now()) is not None
            for n, g in GUARANTEED.items():
                backlog[n].append(max(waiting[n], 0))
                budgets[n].append(ledger.cap(n, g, clock.now()) if fresh else float("nan"))
            if not outage[0] <= elapsed < outage[1]:
                tick(hb_deps, hb_config, clock.now())
            clock.sleep(1.0)

    tap = LogTap(clock)

    def settled() -> bool:
        return produced[0] and not any(len(q) for ls in lanes.values() for q in ls.values())

    with redirect_stdout(tap):  # type: ignore[type-var]
        clock.spawn(produce, name="producer")
        clock.spawn(heartbeat, name="heartbeat")
        for esm in esms:
            esm.start()
        finished = clock.run(until=lambda: settled() or bool(clock.errors), max_seconds=3600)
    clock.raise_errors()
    seconds = int(clock.elapsed()) + 1
    sent = {n: [0] * seconds for n in GUARANTEED}
    for send in ses.accepted:
        i = int(send.at - clock.start)
        if 0 <= i < seconds:
            sent[send.tags.get("slice", "?")][i] += len(send.recipients)
    return SimResult(
        clock=clock,
        ses=ses,
        finished=finished,
        seconds=seconds,
        outage=outage,
        expected=expected,
        dead_letters=sum(len(d.messages) for d in dlqs),
        backlog=backlog,
        sent=sent,
        budgets=budgets,
        wall_seconds=time.perf_counter() - started,
        log=tap,
    )


def over_quota_seconds(result: SimResult, start: float = 0, end: float = float("inf")) -> int:
    """Distinct whole seconds holding a call at which SES saw more than the quota in (t - 1, t]."""
    return len(
        {
            int(o.at - result.clock.start)
            for o in result.ses.over_rate(QUOTA)
            if start <= o.at - result.clock.start < end
        }
    )


def test_three_slices_share_the_quota_without_exceeding_it_through_an_outage() -> None:
    result = run_sim(scale=0.5, outage=(50, 110))
    assert result.finished
    assert over_quota_seconds(result) == 0
    assert result.ses.outcomes().get("throttled", 0) == 0
    sent = result.ses.sends_by_key()
    assert result.dead_letters == 0
    assert not [k for k in result.expected if sent.get(k, 0) == 0], "lost"
    assert not [k for k in result.expected if sent.get(k, 0) > 1], "duplicated"
    # during the outage the slices keep their guaranteed paces and borrow what is idle: each
    # slice with mail waiting throughout gets at least about its guaranteed rate
    for n, g in GUARANTEED.items():
        if all(b > 0 for b in result.backlog[n][52:110]):
            during = result.sent[n][52:110]
            assert sum(during) / len(during) >= 0.9 * g, n
    assert max(sum(result.sent[n][i] for n in GUARANTEED) for i in range(10, 40)) > 80

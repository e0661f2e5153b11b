"""The sending benchmark's workload and contenders, all in virtual time against the same SES model.

Workload (same for every contender, per rate R): messages of 1-50 recipients with a heavy tail
(``tests.support.scenarios.heavy_tail_recipients``: 70 % one, mean ≈ 2.34), a backlog of 10 s
worth at t = 0, then recipients arriving at 1.05 R per second for 300 s (a smooth fluid
arrival: message i arrives when the recipients before it are due). So a contender that could
keep up is backlogged during all of [0, 300) s, which is the utilization window.

Contenders:
- ``ours``: the real sender (``functions.sender.handler``) with the in-memory limiter and
  idempotency store, an SQS model and N concurrent senders (``SenderFleet``).
- ``tick_messages``: the AWS-blog "leaky bucket": every whole second take R *messages* from the
  queue and send them at once (R workers), ignoring their recipient counts; a throttled one goes
  back to the head of the queue for the next tick.
- ``one_recipient_concurrency``: R workers, each takes a message, sends it as single-recipient
  sends one after the other, as fast as SES answers; a throttled send is retried at once.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from tests.support.fleet import Arrival, SenderFleet
from tests.support.scenarios import FROM, arrival, heavy_tail_recipients, valid_message
from tests.support.ses_model import SesModel
from tests.support.virtual_time import VirtualClock

SECONDS = 300.0
LEAD_SECONDS = 10.0
OVERLOAD = 1.05
DRAIN_LIMIT_SECONDS = 3_600.0


@dataclass(frozen=True)
class Job:
    at: float
    key: str
    recipients: tuple[str, ...]


def workload(rate: float, *, seconds: float = SECONDS, seed: int = 11) -> list[Job]:
    rng = random.Random(seed * 1_000 + int(rate))  # noqa: S311 - a reproducible workload
    jobs: list[Job] = []
    cumulative = 0
    for index in itertools.count():
        at = max(0.0, (cumulative - LEAD_SECONDS * rate) / (OVERLOAD * rate))
        if at >= seconds:
            return jobs
        n = heavy_tail_recipients(rng)
        jobs.append(Job(at, f"m{index:06d}", tuple(f"u{index}-{j}@example.com" for j in range(n))))
        cumulative += n
    raise AssertionError("unreachable")


@dataclass
class Result:
    """What one contender did with one workload (times relative to the start)."""

    name: str
    rate: float
    senders: int
    ses: SesModel
    clock: VirtualClock
    enqueued: dict[str, float]
    done: dict[str, float]  # key → SES answer of its (last) send
    expected: set[str]
    wall_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def figures(self, seconds: float = SECONDS) -> dict[str, Any]:
        start = self.clock.start
        accepted_in_window = sum(len(s.recipients) for s in self.ses.accepted if s.at - start < seconds)
        over = self.ses.over_rate(self.rate)
        latencies = sorted(self.done[k] - self.enqueued[k] for k in self.done)
        sent = self.ses.sends_by_key()
        per_key = {k: n for k, n in sent.items() if k is not None}
        duplicates = sum(1 for k, n in per_key.items() if n > self.extra.get("sends_per_key", {}).get(k, 1))
        return {
            "senders": self.senders,
            "utilization": round(accepted_in_window / (self.rate * seconds), 4),
            "over_rate_seconds": len({int(o.at - start) for o in over}),
            "p50_latency_seconds": round(_quantile(latencies, 0.50), 3),
            "p99_latency_seconds": round(_quantile(latencies, 0.99), 3),
            "lost": len(self.expected - set(self.done)),
            "duplicates": duplicates,
            "ses_calls": len(self.ses.attempts),
            "throttled_calls": self.ses.outcomes().get("throttled", 0),
            "drained_at_seconds": round(max(self.done.values(), default=start) - start, 3),
            "wall_seconds": round(self.wall_seconds, 3),
        }

    def recipients_per_second(self, seconds: int) -> dict[str, list[int]]:
        accepted = [0] * seconds
        attempted = [0] * seconds
        start = self.clock.start
        for attempt in self.ses.attempts:
            i = int(attempt.at - start)
            if 0 <= i < seconds:
                attempted[i] += attempt.recipients
                if attempt.outcome in {"accepted", "timeout_after_accept"}:
                    accepted[i] += attempt.recipients
        return {"accepted": accepted, "attempted": attempted}


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(q * len(values)))]


# -- ours ------------------------------------------------------------------------------------------
def run_ours(
    rate: float, jobs: Sequence[Job], *, senders: int = 8, recipients_per_message: int | None = None
) -> Result:
    """The real sender. ``recipients_per_message`` splits each job like the producer would."""
    fleet = SenderFleet(rate_per_second=rate, ses={"seed": 5}, concurrency={"bulk": senders})
    arrivals: list[Arrival] = []
    parts: dict[str, list[str]] = {}
    for index, job in enumerate(jobs):
        size = recipients_per_message or len(job.recipients)
        for part, first in enumerate(range(0, len(job.recipients), size)):
            n = len(job.recipients[first : first + size])
            message = valid_message(
                index, n, lane="bulk", prefix=f"m{part}x" if recipients_per_message else "m"
            )
            arrivals.append(arrival(job.at, message, n))
            parts.setdefault(job.key, []).append(message["idempotency_key"])
    fleet.add(arrivals)
    fleet.run(max_seconds=SECONDS + DRAIN_LIMIT_SECONDS)
    fleet.clock.raise_errors()
    answered: dict[str, float] = {}
    for send in fleet.ses.accepted:
        if send.idempotency_key is not None:
            answered.setdefault(send.idempotency_key, send.answered_at or send.at)
    done = {
        job.key: max(answered[p] for p in parts[job.key])
        for job in jobs
        if all(p in answered for p in parts[job.key])
    }
    result = Result(
        "ours",
        rate,
        senders,
        fleet.ses,
        fleet.clock,
        {job.key: fleet.clock.start + job.at for job in jobs},
        done,
        {job.key for job in jobs},
        fleet.wall_seconds,
    )
    result.extra["ledger"] = fleet.ledger()
    return result


# -- the baselines ---------------------------------------------------------------------------------
def _kwargs(key: str, recipients: Sequence[str]) -> dict[str, Any]:
    return {
        "FromEmailAddress": FROM,
        "Destination": {"ToAddresses": list(recipients)},
        "Content": {"Simple": {"Subject": {"Data": "Your order"}, "Body": {"Text": {"Data": "Hello"}}}},
        "EmailTags": [{"Name": "idempotency_key", "Value": key}],
    }


def _throttled(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "TooManyRequestsException"


def _run_baseline(
    name: str, rate: float, jobs: Sequence[Job], worker: Callable[[Any], None], *, workers: int
) -> Result:
    import time

    clock = VirtualClock()
    ses = SesModel(clock, rate_per_second=rate, seed=5, validate=False)
    state = _Baseline(clock, ses, jobs)
    started = time.perf_counter()
    clock.spawn(state.produce, name="producer")
    for i in range(workers):
        clock.spawn(worker, state, name=f"{name}-{i}")
    clock.run(until=lambda: len(state.done) == len(jobs), max_seconds=SECONDS + DRAIN_LIMIT_SECONDS)
    clock.raise_errors()
    result = Result(
        name,
        rate,
        workers,
        ses,
        clock,
        {job.key: clock.start + job.at for job in jobs},
        state.done,
        {job.key for job in jobs},
        time.perf_counter() - started,
    )
    if name == "one_recipient_concurrency":
        result.extra["sends_per_key"] = {job.key: len(job.recipients) for job in jobs}
    return result


class _Baseline:
    def __init__(self, clock: VirtualClock, ses: SesModel, jobs: Sequence[Job]) -> None:
        self.clock = clock
        self.ses = ses
        self.jobs = jobs
        self.queue: deque[Job] = deque()
        self.done: dict[str, float] = {}

    def produce(self) -> None:
        for job in self.jobs:
            wait = self.clock.start + job.at - self.clock.now()
            if wait > 0:
                self.clock.sleep(wait)
            self.queue.append(job)
            self.clock.notify()


def _tick_worker(state: _Baseline) -> None:
    clock = state.clock
    while True:
        clock.sleep(int(clock.elapsed()) + 1 - clock.elapsed())  # to the next whole second
        if not state.queue:
            continue
        job = state.queue.popleft()
        try:
            state.ses.send_email(**_kwargs(job.key, job.recipients))
        except ClientError as exc:
            if not _throttled(exc):
                raise
            state.queue.appendleft(job)  # next tick
            continue
        state.done[job.key] = clock.now()


def _one_recipient_worker(state: _Baseline) -> None:
    clock = state.clock
    while True:
        if not state.queue:
            clock.wait_for(lambda: bool(state.queue))
            continue
        job = state.queue.popleft()
        for recipient in job.recipients:
            while True:
                try:
                    state.ses.send_email(**_kwargs(job.key, [recipient]))
                    break
                except ClientError as exc:
                    if not _throttled(exc):
                        raise
        state.done[job.key] = clock.now()


def run_tick_messages(rate: float, jobs: Sequence[Job]) -> Result:
    return _run_baseline("tick_messages", rate, jobs, _tick_worker, workers=int(rate))


def run_one_recipient_concurrency(rate: float, jobs: Sequence[Job]) -> Result:
    return _run_baseline("one_recipient_concurrency", rate, jobs, _one_recipient_worker, workers=int(rate))

"""The sender: SQS batch → SES ``SendEmail``, within the slice's share of the account's rate, exactly once.

Each record ends in exactly one of these outcomes (and one log line saying which):

- ``sent``: SES accepted it; the idempotency record holds the SES message id.
- ``duplicate``: a redelivery of a key already sent; acknowledged, not sent again.
- ``dead_lettered``: invalid, or refused by SES for good; copied to the DLQ with a reason code.
- ``ambiguous``: the request may have reached SES (read timeout); flagged in the idempotency
  record and copied to the DLQ as ``AMBIGUOUS_OUTCOME``; SES has no idempotency token, so it is
  never resent blind.
- ``retry``: nothing was sent (throttled, no room yet, 5xx): handed back as a batch item failure
  with a backoff visibility timeout.
- ``held``: nothing was sent and nothing will be for minutes (daily quota, SendingPaused):
  re-enqueued with a delay and acknowledged, so waiting never burns the DLQ's receive count.

Dependencies (SES, SQS, limiter, idempotency store, clock) are injected, so tests and the
benchmark run this code unchanged in virtual time.
"""

from __future__ import annotations

import enum
import functools
import json
import math
import os
import threading
import zlib
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from functions.common.clock import Clock, SystemClock
from functions.common.ledger import GUARD_MS
from functions.common.log import log
from functions.common.metrics import emit
from functions.sender.contract import (
    MAX_RECIPIENTS,
    SQS_MESSAGE_BYTES,
    Address,
    EmailMessage,
    InvalidMessage,
    ascii_domain,
    parse_message,
    send_email_kwargs,
)
from functions.sender.errors import Action, Failure, classify
from functions.sender.ports import (
    ClaimStatus,
    IdempotencyStore,
    RateLimiter,
    Reservation,
    SesClient,
    SqsClient,
)
from functions.sender.routing import ROUTING_VARIABLES, Route, WarmupRouter

# What the capacity_slice construct sets and this module reads (a test keeps the two in step).
ENVIRONMENT_VARIABLES = (
    "SLICE_NAME", "RATE_PER_SECOND", "ACCOUNT_RATE_PER_SECOND", "STATE_TABLE", "DLQ_URL", "QUEUE_URLS",
    "CONFIGURATION_SET", "ALLOWED_FROM_DOMAINS", "METRICS_NAMESPACE", "MAX_RECEIVE_COUNT", *ROUTING_VARIABLES,
    "ARCHIVE_ADDRESS",
)  # fmt: skip
MAX_SQS_DELAY_SECONDS = 900
REQUEUES_ATTRIBUTE = "requeues"
# Waiting for capacity may take any number of rounds; a fault that keeps recurring may not.
FAULTS = frozenset({"SES_SERVER_ERROR", "SES_UNREACHABLE", "SENDER_ERROR", "DLQ_UNAVAILABLE"})
DLQ_ATTRIBUTES_DROPPED_FIRST = ("reason", "source_message_id", "idempotency_key", "slice", "reason_code")
"""When a DLQ copy would not fit the queue (a body that came in larger than the contract allows),
attributes go in this order; the log line of the dead-lettering keeps them all."""
REASON_BYTES = 1000
MAX_VISIBILITY_SECONDS = 43200
# Reservations per message before it goes back to the queue: a tick is a second and the wait is
# at most max_wait_seconds, so a handful; the cap only stops a limiter that answers "now" forever.
MAX_ASKS = 50
# A message refused for longer than the sender may wait goes back to its queue for at most this
# long: its slice's pace may be far ahead, but idle room of the account can be borrowed sooner.
NO_BUDGET_RETRY_SECONDS = 2
# Missed slots one message may swap for later ones within the batch's wait (each swap is one
# ledger write that frees the missed slot); then it is booked again with the rest of the batch.
MAX_REBOOKS = 2
# A claimed message whose sleep to its slot ended later than this does not go: with the 20 ms the
# request itself may take to arrive (measured on the wire: departures up to 30 ms late and one
# arrival 40+ ms late under load), it would pass the ledger's guard and could land in a second
# the ledger did not book it in.
MAX_DEPARTURE_LATE_SECONDS = (GUARD_MS - 20) / 1000
# A send may leave this much after its booked slot; later, the booking is given back and made
# again. With network jitter it must stay within the ledger's guard (functions.common.ledger).
LATE_TOLERANCE_SECONDS = 0.010


class Lead:
    """A duration to plan with, estimated per container from what it took: a moving mean plus
    ``deviations`` mean deviations, and never less than the longest of the last ``recent``
    observations (how far ahead of now to book: the booking's own round trips; how early to claim
    a message before its slot: the claim; how far apart a batch's slots are when sent one after
    another: one send and its record). The recent maximum matters: a batch's claims go out
    together and queue behind each other, so the tail, not the mean, decides whether a slot is
    met, and a missed slot costs its recipients' room in the account's ledger until taken back."""

    def __init__(
        self, initial_seconds: float = 0.05, floor: float = 0.002, ceiling: float = 0.5,
        deviations: float = 4, recent: int = 32,
    ) -> None:  # fmt: skip
        self.mean, self.deviation = initial_seconds, initial_seconds / 2
        self.floor, self.ceiling, self.deviations = floor, ceiling, deviations
        self._recent: deque[float] = deque(maxlen=recent)
        self._lock = threading.Lock()  # a batch's sends observe from their own threads

    def observe(self, seconds: float) -> None:
        with self._lock:
            error = seconds - self.mean
            self.mean += 0.125 * error  # the weights of TCP's retransmission timer (RFC 6298)
            self.deviation += 0.25 * (abs(error) - self.deviation)
            self._recent.append(seconds)

    def seconds(self) -> float:
        estimate = max(self.mean + self.deviations * self.deviation, max(self._recent, default=0.0))
        return min(max(estimate, self.floor), self.ceiling)


@dataclass(frozen=True, kw_only=True)
class SenderConfig:
    """Settings of one slice's sender; ``from_env`` reads what the construct sets.

    Attributes:
        slice_name: the capacity slice; tags every send and names the metrics.
        dlq_url: where dead-lettered messages go, with their reason code.
        queue_urls: lane queue ARN → URL (for backoff and re-enqueue).
        configuration_set: default configuration set. Default - none.
        allowed_from_domains: domains this slice may send from. Default - any the role allows.
        max_receive_count: the queues' redrive limit; a retry never uses the last receive.
        lease_seconds: how long a claimed key stays ours while sending. Default 120.
        max_wait_seconds: longest in-invocation wait for a slot before handing back. Default 5.
        backoff_base_seconds / backoff_max_seconds: retry delay, doubling per receive.
        hold_seconds: delay of a held message (daily quota). Default 900 (SQS's maximum).
        pause_seconds: how long SendingPaused / AccountSuspended stops the slice. Default 900.
        safety_margin_seconds: no new send starts with less Lambda time than this. Default 5.
        max_fault_requeues: rounds of ``max_receive_count`` receives a message may spend on
            recurring faults (5xx, unreachable) before it is dead-lettered with that reason.
            Default 3. Capacity waits (throttling, no room, pauses) have no such limit.
        archive_address: the slice's shadow-copy archive: added as a BCC to every mail and
            counted as a recipient (rate, 50-recipient limit). Default - none.
    """

    slice_name: str
    dlq_url: str
    queue_urls: Mapping[str, str] = field(default_factory=dict)
    configuration_set: str | None = None
    allowed_from_domains: frozenset[str] = frozenset()
    max_receive_count: int = 5
    lease_seconds: float = 120.0
    max_wait_seconds: float = 5.0
    backoff_base_seconds: int = 2
    backoff_max_seconds: int = 300
    hold_seconds: int = 900
    pause_seconds: float = 900.0
    safety_margin_seconds: float = 5.0
    max_fault_requeues: int = 3
    metrics_namespace: str = "SesPlatform"
    archive_address: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SenderConfig:
        # Same form as EmailMessage.from_domain (lower-case, IDN as punycode) so the match is exact.
        listed = (d.strip() for d in env.get("ALLOWED_FROM_DOMAINS", "").split(","))
        domains = {ascii_domain(d) or d.lower() for d in listed if d}
        return cls(
            slice_name=env["SLICE_NAME"],
            dlq_url=env["DLQ_URL"],
            queue_urls=json.loads(env.get("QUEUE_URLS") or "{}"),
            configuration_set=env.get("CONFIGURATION_SET") or None,
            allowed_from_domains=frozenset(domains),
            max_receive_count=int(env.get("MAX_RECEIVE_COUNT", "5")),
            metrics_namespace=env.get("METRICS_NAMESPACE", "SesPlatform"),
            archive_address=env.get("ARCHIVE_ADDRESS") or None,
        )


@dataclass
class SenderDeps:
    ses: SesClient
    sqs: SqsClient
    limiter: RateLimiter
    store: IdempotencyStore
    clock: Clock
    router: WarmupRouter | None = None  # set while the slice warms up a dedicated IP pool
    # cautious until measured: a first batch booked too close to now misses every slot
    lead: Lead = field(default_factory=lambda: Lead(initial_seconds=0.1))
    paused_until: float | None = None  # a pause this container wrote (the batch's slots are booked)
    claim_time: Lead = field(default_factory=lambda: Lead(initial_seconds=0.05))  # the idempotency claim
    # How a batch's sends run: the Lambda runs them at once (ThreadedSends); None runs them one
    # after another (tests that drive one sender on one thread in virtual time, where a send
    # takes no time; in real time the later sends of a slot would leave late and be rebooked).
    send_concurrently: RunTasks | None = None
    # The SES client's hook that holds each request until its slot (Departures); None: the sender
    # sleeps to the slot before the call (fakes in virtual time, where a call costs no CPU).
    departures: Departures | None = None


Task = Callable[[], "Outcome | None"]
RunTasks = Callable[[Sequence[Task]], list["Outcome | None"]]


class ThreadedSends:
    """Runs a batch's sends at once, each in its own thread, each waiting for its own slot.

    Why: one after another, a send that took longer than planned made every later slot of the
    batch late (booked, charged and never used), and one sender could not send faster than one
    message per send time (about 10 a second, against SES's hundreds of recipients a second for
    mail of one or two recipients). The threads mostly sleep until their slots; boto3's
    low-level clients are thread-safe and pool ``max_pool_connections`` (10) connections, the
    size of the largest SQS batch."""

    def __init__(self, max_workers: int = 10) -> None:
        self.max_workers = max_workers
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="send")

    def __call__(self, tasks: Sequence[Task]) -> list[Outcome | None]:
        futures = [self._pool.submit(task) for task in tasks]
        return [future.result() for future in futures]


def warm_connections(client: Any, count: int) -> int:
    """Open ``count`` kept-alive connections to the client's endpoint before the first slot; how
    many answered. Why: a send on a connection still being opened arrives late, and SES counts
    by arrival, so the first batch of a cold container let a slot's sends land in the next
    slot's second (measured on the wire: 76 recipients in one second at a quota of 60). Each
    connection carries one unsigned ``GET /``, which SES answers with an error and which is no
    API call (nothing to authorise, nothing counted against any rate). All are in flight at
    once (a barrier), so each opens its own connection; boto3 then reuses them for the sends.
    Best effort: any failure leaves the connections to be opened by the sends, as before."""
    from botocore.awsrequest import AWSRequest

    session = getattr(getattr(client, "_endpoint", None), "http_session", None)
    if session is None or count < 1:
        return 0
    url = client.meta.endpoint_url.rstrip("/") + "/"
    barrier = threading.Barrier(count)

    def one() -> bool:
        try:
            barrier.wait(timeout=2)
            session.send(AWSRequest(method="GET", url=url).prepare())
        except Exception:  # best effort: the sends open what this could not
            return False
        return True

    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="warm") as pool:
        return sum(pool.map(lambda _: one(), range(count)))


class SlotMissed(Exception):  # noqa: N818 - a condition, not an error: the send is booked again
    """The request was ready, but its slot had passed by more than the guard allows: not sent."""


class Departures:
    """The SES client's ``before-send`` hook: each request is built and signed *before* its slot
    and leaves at the slot. Why: serialising and signing a call is most of its CPU (a few ms),
    and a batch's sends share a slot, so threads that slept until the slot queued for the
    interpreter lock to do that work: on the wire (2 cores, every stand-in on them) 260 of 305
    missed slots in a 40-s run were sleeps that ended 45 ms (median) after the slot, past the
    guard. Here the sleep ends just before the socket write. A request that would still leave
    too late raises :class:`SlotMissed` instead (nothing is sent; the message is booked again).
    Per thread: each of a batch's sends runs in its own."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._local = threading.local()

    def hold_until(self, at: float | None) -> None:
        """The next request of this thread leaves at ``at`` (``None``: at once)."""
        self._local.at, self._local.left = at, None

    def left_after_slot(self) -> float | None:
        """Seconds after its slot the last held request of this thread left."""
        return getattr(self._local, "left", None)

    def __call__(self, **_event: Any) -> None:
        at = getattr(self._local, "at", None)
        self._local.at = None  # once per request (SES gets no SDK retries)
        if at is None:
            return
        if (delay := at - self.clock.now()) > 0:
            self.clock.sleep(delay)
        left = self.clock.now() - at
        if left > MAX_DEPARTURE_LATE_SECONDS:
            raise SlotMissed(f"{left * 1000:.0f} ms after its slot")
        self._local.left = left


class Outcome(enum.Enum):
    SENT = "sent"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    AMBIGUOUS = "ambiguous"
    RETRY = "retry"
    HELD = "held"


def handle_batch(
    event: Mapping[str, Any],
    deps: SenderDeps,
    config: SenderConfig,
    *,
    remaining_seconds: Callable[[], float] = lambda: math.inf,
) -> dict[str, list[dict[str, str]]]:
    """Process an SQS batch; returns the partial batch response (records to hand back)."""
    jobs = [_Record(record, deps, config, remaining_seconds) for record in event.get("Records", [])]
    for position, job in enumerate(jobs):
        job.position = position
    outcomes: dict[int, Outcome] = {}
    ready: list[tuple[int, EmailMessage]] = []  # valid, to be claimed and sent on a booked slot
    for i, job in enumerate(jobs):
        prepared = _guarded(job, job.prepare)
        if isinstance(prepared, Outcome):
            outcomes[i] = prepared
        else:
            ready.append((i, prepared))
    for i, outcome in _send_claimed(
        deps, config, [(jobs[i], m) for i, m in ready], remaining_seconds
    ).items():
        outcomes[i] = outcome
    failures: list[dict[str, str]] = []
    counts: Counter[str] = Counter()
    for i, job in enumerate(jobs):
        counts.update(job.counts)  # each record counts its own: its send may run in a thread
        counts[outcomes[i].value] += 1
        if outcomes[i] is Outcome.RETRY:
            failures.append({"itemIdentifier": job.id})
    emit(
        config.metrics_namespace,
        {"Slice": config.slice_name},
        {_metric_name(k): float(v) for k, v in counts.items()},
        timestamp_ms=int(deps.clock.now() * 1000),
    )
    return {"batchItemFailures": failures}


def _guarded(job: _Record, step: Callable[[], Any]) -> Any:
    try:
        return step()
    except Exception as exc:  # a dependency failed (DynamoDB, SQS): hand back, never drop
        log("record_error", level="ERROR", slice=job.config.slice_name, message_id=job.id, error=repr(exc))
        return job.retry(_backoff(job, job.config), "SENDER_ERROR")


def _send_claimed(  # noqa: PLR0912 - one loop over a batch's rounds of booking and sending
    deps: SenderDeps,
    config: SenderConfig,
    claimed: list[tuple[_Record, EmailMessage]],
    remaining: Callable[[], float],
) -> dict[int, Outcome]:
    """Book the batch's claimed messages in the account's ledger together (one write for all:
    senders contend for the ledger a batch at a time, not a message at a time), send each on its
    slot, and book again together what did not fit or whose slot passed, within the wait the
    sender can afford. Within that wait messages are kept, not handed back: that costs SQS requests
    and returns them in a wave the slice cannot use at once."""
    clock, limiter = deps.clock, deps.limiter
    outcomes: dict[int, Outcome] = {}
    index = {id(job): i for i, (job, _) in enumerate(claimed)}
    deadline = clock.now() + min(config.max_wait_seconds, remaining() - config.safety_margin_seconds)
    pending, wait = list(claimed), 0.0
    late: list[Reservation] = []  # granted slots that passed unsent: taken back with the next booking
    for _attempt in range(MAX_ASKS):
        if not pending:
            break
        now = clock.now()
        sizes = [message.recipient_count for _, message in pending]
        # SES counts by arrival: no slot before the booking's own round trips and the message's
        # claim are over (slots booked sooner are missed: booked, charged, never sent)
        earliest = now + deps.lead.seconds() + deps.claim_time.seconds()
        try:
            grants = limiter.reserve_many(
                sizes, now, max(deadline - now, 0.0), earliest=earliest,
                returning=late,
            )  # fmt: skip
            late = []
        except Exception as exc:  # the ledger failed: hand the batch back, never drop it
            log("record_error", level="ERROR", slice=config.slice_name, error=repr(exc))
            for job, _message in pending:
                outcomes[index[id(job)]] = job.retry(_backoff(job, config), "SENDER_ERROR")
            return _in_order(outcomes, claimed)
        deps.lead.observe(clock.now() - now)
        tasks: list[Task] = [
            functools.partial(_guarded, job, functools.partial(job.send_on, message, grant, deadline))
            for (job, message), grant in zip(pending, grants, strict=True)
        ]
        results = deps.send_concurrently(tasks) if deps.send_concurrently else [task() for task in tasks]
        later: list[tuple[_Record, EmailMessage]] = []
        for (job, message), grant, outcome in zip(pending, grants, results, strict=True):
            if outcome is None:  # not sent yet: book again with the rest
                later.append((job, message))
                if job.unsent is not None:
                    late.append(job.unsent)
                    job.unsent = None
                if not grant.granted:
                    wait = grant.wait_seconds
            else:
                outcomes[index[id(job)]] = outcome
        pending = later
        if pending and clock.now() + wait > deadline:
            break
        if pending:
            clock.sleep(max(wait, 0.005))
    if late:
        _return_late(deps, config, late)
    for job, _message in pending:  # back soon, not when the pace allows: idle room may appear
        delay = min(max(1, math.ceil(wait)), NO_BUDGET_RETRY_SECONDS)
        outcomes[index[id(job)]] = job.retry(delay, "NO_BUDGET_YET")
    return _in_order(outcomes, claimed)


def _return_late(deps: SenderDeps, config: SenderConfig, late: list[Reservation]) -> None:
    """Take back slots that passed unsent when no booking follows to carry them (best effort:
    a failure costs only the slice's pace and the account's room in windows already past)."""
    try:
        deps.limiter.reserve_many([], deps.clock.now(), returning=late)
    except Exception as exc:
        log("limiter_release_failed", level="WARNING", slice=config.slice_name, error=repr(exc))


def _in_order(
    outcomes: dict[int, Outcome], claimed: list[tuple[_Record, EmailMessage]]
) -> dict[int, Outcome]:
    """Outcomes by the records' positions in the batch (``claimed`` carries each record's job)."""
    return {claimed[i][0].position: outcome for i, outcome in outcomes.items()}


class _Record:
    """One SQS record on its way to exactly one :class:`Outcome`."""

    def __init__(
        self,
        record: Mapping[str, Any],
        deps: SenderDeps,
        config: SenderConfig,
        remaining_seconds: Callable[[], float],
    ) -> None:
        self.record = record
        self.id = str(record.get("messageId", ""))
        self.body = str(record.get("body", ""))
        self.deps = deps
        self.config = config
        self.remaining = remaining_seconds
        self.counts: Counter[str] = Counter()
        self.key: str | None = None
        self.grant: Reservation | None = None
        self.unsent: Reservation | None = None  # a slot still booked for a send that did not happen
        self.left_ms: float | None = None
        self.position = 0  # in the batch
        attributes = record.get("attributes") or {}
        self.receive_count = int(attributes.get("ApproximateReceiveCount", "1"))
        self.queue_url = config.queue_urls.get(str(record.get("eventSourceARN", "")))
        requeues = (record.get("messageAttributes") or {}).get(REQUEUES_ATTRIBUTE) or {}
        self.requeues = int(requeues.get("stringValue") or 0)

    def prepare(self) -> Outcome | EmailMessage:
        """Parse and check: the outcome of a record that needs no send, else the message."""
        try:
            message = parse_message(self.body)
        except InvalidMessage as exc:
            return self.dead_letter(exc.reason_code, exc.detail)
        self.key = message.idempotency_key
        allowed = self.config.allowed_from_domains
        if allowed and message.from_domain not in allowed:
            return self.dead_letter(
                "FROM_DOMAIN_NOT_ALLOWED", f"{message.from_domain} is not a from-domain of this slice"
            )
        if self.config.archive_address:
            archived = with_archive_copy(message, self.config.archive_address)
            if archived is None:
                return self.dead_letter(
                    "TOO_MANY_RECIPIENTS",
                    f"to/cc/bcc: {message.recipient_count} recipients + the slice's archive copy > "
                    f"{MAX_RECIPIENTS}; send at most {MAX_RECIPIENTS - 1} per message to this slice",
                )
            message = archived
        if self.remaining() < self.config.safety_margin_seconds:
            return self.retry(0, "LAMBDA_TIME_LOW")
        return message

    def claim(self, message: EmailMessage) -> Outcome | None:
        """Take the message's key for sending (``None``), or the outcome of a key that needs no
        send. Done just before the send, so a sender that dies mid-batch leaves at most the one
        message it was sending with an expiring lease (later flagged ambiguous), never the rest."""
        store, key, now = self.deps.store, message.idempotency_key, self.deps.clock.now()
        claim = store.claim(key, now, self.config.lease_seconds)
        if claim.status is ClaimStatus.SENT:
            self.note("duplicate", ses_message_id=claim.ses_message_id)
            return Outcome.DUPLICATE
        if claim.status is ClaimStatus.IN_PROGRESS:
            return self.retry(_backoff(self, self.config), "IN_PROGRESS_ELSEWHERE")
        if claim.status is ClaimStatus.AMBIGUOUS:
            return self.dead_letter(
                "AMBIGUOUS_OUTCOME", claim.reason or "an earlier attempt may have been sent"
            )
        if claim.status is ClaimStatus.FAILED:
            self.note("already_dead_lettered", reason=claim.reason)
            return Outcome.DEAD_LETTERED
        return None

    def send_on(  # noqa: PLR0911, PLR0912 - one return per case
        self, message: EmailMessage, grant: Reservation, deadline: float
    ) -> Outcome | None:
        """Claim and send a message on the slot booked for it; ``None`` when it has no slot (not
        granted yet, or no slot within ``deadline``): it is booked again with the rest. A slot
        missed (the claim took longer than planned) is swapped at once for the next free one in
        one ledger write that also frees the missed one; :attr:`unsent` is a slot still booked
        for a send that did not happen (the caller takes it back)."""
        deps, clock, limiter = self.deps, self.deps.clock, self.deps.limiter
        now = clock.now()
        paused = grant.paused_until or deps.paused_until  # SendingPaused, the breaker
        if paused is not None and now < paused:
            if grant.granted:
                limiter.release(grant, now)
            return self.hold(paused - now, "SLICE_PAUSED")
        if not grant.granted or grant.at is None:
            return None
        claimed, rebooks = False, 0
        # what ran last, so what made the slot pass when one did: booking, claim, sleep, rebook
        step = "booking"
        while rebooks <= MAX_REBOOKS:
            now = clock.now()
            at = grant.at if grant.at is not None else now
            if now > at + LATE_TOLERANCE_SECONDS:
                self.late(now - at, step)
                if not claimed:  # the booking itself ran long: rebooked with the batch, one write
                    break
                rebooks += 1
                rebooked = self.rebook(message, grant, now, deadline, claimed=claimed)
                if rebooked is None:
                    if claimed:
                        deps.store.release(message.idempotency_key)
                    return None
                grant, step = rebooked, "rebook"
                continue
            if self.remaining() - (at - now) < self.config.safety_margin_seconds:
                limiter.release(grant, now)
                if claimed:
                    deps.store.release(message.idempotency_key)
                return self.retry(0, "LAMBDA_TIME_LOW")
            if not claimed:
                # Claimed at once, not just before the slot: claims of a batch queue behind each
                # other and behind every other write to the table, and a claim that ends after
                # the slot wastes it. The price: a sender that dies while waiting for its slots
                # (at most max_wait_seconds) leaves those claims to expire as AMBIGUOUS, and they
                # go to the DLQ unsent rather than risk a second send (see functions.sender.idempotency).
                started = clock.now()
                done = self.claim(message)
                deps.claim_time.observe(clock.now() - started)
                if done is not None:  # a redelivered key already sent, or leased elsewhere: no send
                    limiter.release(grant, clock.now())
                    return done
                claimed, step = True, "claim"
                continue  # the claim may have taken longer than planned
            if now < at and deps.departures is None:
                clock.sleep(at - now)
                if clock.now() > at + MAX_DEPARTURE_LATE_SECONDS:
                    step = "sleep"
                    continue  # the sleep ended far too late (a stalled host): swap the slot
            # A sleep that ends a little late is what the ledger's guard is for: judging it
            # strictly would swap slots (a write each) to avoid a rare 429.
            self.grant = grant
            sent = self.send(message)
            if sent is not None:
                return sent
            step = "sleep"  # the request was ready but left too late: nothing sent, swap the slot
        if claimed:
            deps.store.release(message.idempotency_key)
        self.unsent = grant
        return None

    def rebook(
        self, message: EmailMessage, missed: Reservation, now: float, deadline: float, *, claimed: bool
    ) -> Reservation | None:
        """The next free slot for a message whose slot passed, the missed one taken back in the
        same write; ``None`` when none is free before ``deadline`` (nothing is left booked)."""
        deps = self.deps
        lead = deps.lead.seconds() + (0.0 if claimed else deps.claim_time.seconds())
        (grant,) = deps.limiter.reserve_many(
            [message.recipient_count], now, max(deadline - now, 0.0), earliest=now + lead, returning=[missed]
        )
        return grant if grant.granted else None

    def late(self, seconds: float, phase: str) -> None:
        """The slot passed before the send could leave (nothing reached SES)."""
        self.counts["late_slots"] += 1
        self.note("late_slot", level="DEBUG", late_ms=round(seconds * 1000, 1), phase=phase)

    def give_back(self, *, throttled: bool = False) -> None:
        """SES did not accept the send: the slice gets the pace it paid back."""
        if self.grant is not None:
            self.deps.limiter.release(self.grant, self.deps.clock.now(), throttled=throttled)
            self.grant = None

    def send(self, message: EmailMessage) -> Outcome | None:
        """Send on the slot of :attr:`grant` (held there by :class:`Departures`, if the client has
        them); ``None``: the slot passed before the request could leave, nothing was sent."""
        deps, key = self.deps, message.idempotency_key
        route = deps.router.route(message.recipient_count, deps.clock.now()) if deps.router else None
        kwargs = send_email_kwargs(
            message,
            configuration_set=route.configuration_set if route else self.config.configuration_set,
            tags={"idempotency_key": key, "slice": self.config.slice_name, "lane": str(message.lane)},
        )
        slot = self.grant.at if self.grant else None
        started = deps.clock.now()
        if deps.departures is not None:
            deps.departures.hold_until(slot)
        try:
            response = deps.ses.send_email(**kwargs)
        except SlotMissed:
            if route is not None and deps.router:
                deps.router.release(route)
            return None
        except Exception as exc:
            failure = classify(exc)
            if route is not None and deps.router and failure.action is not Action.AMBIGUOUS:
                deps.router.release(route)  # not sent: the day's allowance gets it back
            return self.failed(failure)
        # how long after its slot the call left: what the ledger's guard must cover
        left = deps.departures.left_after_slot() if deps.departures is not None else None
        if left is None and slot is not None:
            left = started - slot
        self.left_ms = round(left * 1000, 1) if left is not None else None
        ses_message_id = str(response.get("MessageId", ""))
        try:
            deps.store.complete(key, ses_message_id, deps.clock.now())
        except Exception as exc:  # sent for sure: acknowledge; the log keeps the SES message id
            log("complete_failed", level="ERROR", slice=self.config.slice_name, idempotency_key=key,
                ses_message_id=ses_message_id, error=repr(exc))  # fmt: skip
        self.counts["recipients"] += message.recipient_count
        if route is not None and route.dedicated:
            self.counts["dedicated_recipients"] += message.recipient_count
        self.note(
            "sent", ses_message_id=ses_message_id, recipients=message.recipient_count,
            left_ms_after_slot=self.left_ms, **_routed(route),
        )  # fmt: skip
        return Outcome.SENT

    def failed(self, failure: Failure) -> Outcome:
        store, key, now = self.deps.store, self.key or "", self.deps.clock.now()
        if failure.throttled:
            self.counts["throttled"] += 1
        if failure.action in {Action.RETRY, Action.HOLD, Action.PAUSE}:  # SES took nothing
            self.give_back(throttled=failure.throttled)
        if failure.action is Action.AMBIGUOUS:
            store.mark_ambiguous(key, failure.detail, now)
            return self.dead_letter(failure.reason_code, failure.detail, outcome=Outcome.AMBIGUOUS)
        if failure.action is Action.DEAD_LETTER:
            # DLQ copy first: a failed key is acknowledged on redelivery, so it must be in the DLQ.
            outcome = self.dead_letter(failure.reason_code, failure.detail)
            if outcome is Outcome.DEAD_LETTERED:
                store.mark_failed(key, failure.reason_code, now)
            else:
                store.release(key)
            return outcome
        store.release(key)
        if failure.action is Action.RETRY:
            return self.retry(_backoff(self, self.config), failure.reason_code)
        seconds = self.config.hold_seconds
        if failure.action is Action.PAUSE:
            seconds = math.ceil(self.config.pause_seconds)
            self.counts["slice_paused"] += 1
        # Daily quota and SendingPaused are account-wide: stop the slice's other senders too.
        self.deps.limiter.pause(now + seconds, failure.reason_code)
        self.deps.paused_until = max(self.deps.paused_until or 0.0, now + seconds)
        return self.hold(seconds, failure.reason_code)

    def dead_letter(
        self, reason_code: str, detail: str, *, outcome: Outcome = Outcome.DEAD_LETTERED
    ) -> Outcome:
        body = self.body or "(empty body)"
        attributes = {
            "reason_code": reason_code,
            "reason": _truncated(detail, REASON_BYTES) or reason_code,
            "slice": self.config.slice_name,
            "source_message_id": self.id or "unknown",
        }
        if self.key:
            attributes["idempotency_key"] = self.key
        wanted = list(attributes)
        attributes = fitting_attributes(body, attributes)
        try:
            self.deps.sqs.send_message(
                QueueUrl=self.config.dlq_url,
                MessageBody=body,
                MessageAttributes={
                    k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
                },
            )
        except Exception as exc:  # the DLQ copy is the record of this message: keep the original
            log("dead_letter_failed", level="ERROR", slice=self.config.slice_name, message_id=self.id,
                reason_code=reason_code, error=repr(exc))  # fmt: skip
            return self.retry(_backoff(self, self.config), "DLQ_UNAVAILABLE")
        dropped = [name for name in wanted if name not in attributes]
        self.note(
            outcome.value, level="WARNING", reason_code=reason_code, reason=detail[:300],
            **({"attributes_dropped_to_fit": dropped} if dropped else {}),
        )  # fmt: skip
        return outcome

    def retry(self, delay_seconds: int, reason_code: str) -> Outcome:
        # The last receive before redrive would dead-letter a message that did nothing wrong:
        # re-enqueue it instead, which starts its receive count afresh - but not forever for a
        # fault that keeps recurring (an SES 5xx for this one message would loop endlessly).
        if self.receive_count >= self.config.max_receive_count - 1 and self.queue_url:
            if reason_code in FAULTS and self.requeues >= self.config.max_fault_requeues:
                if reason_code == "DLQ_UNAVAILABLE":
                    # No more copies: the queue's redrive policy moves the message to the DLQ at
                    # its next receive (SQS's copy carries no reason; the log lines above do).
                    return self.retry_without_hold(delay_seconds, reason_code)
                return self.dead_letter(
                    reason_code, f"still failing after {self.requeues + 1} rounds of receives"
                )
            return self.hold(max(delay_seconds, 1), reason_code)
        if self.queue_url and self.record.get("receiptHandle"):
            try:
                self.deps.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=self.record["receiptHandle"],
                    VisibilityTimeout=min(max(delay_seconds, 0), MAX_VISIBILITY_SECONDS),
                )
            except Exception as exc:  # the queue's own visibility timeout applies instead
                log("visibility_change_failed", level="WARNING", message_id=self.id, error=repr(exc))
        self.note("retry", reason_code=reason_code, delay_seconds=delay_seconds)
        return Outcome.RETRY

    def hold(self, seconds: float, reason_code: str) -> Outcome:
        if not self.queue_url:
            return self.retry_without_hold(seconds, reason_code)
        delay = min(max(math.ceil(seconds), 0), MAX_SQS_DELAY_SECONDS)
        counter = {"DataType": "Number", "StringValue": str(self.requeues + 1)}
        try:
            self.deps.sqs.send_message(
                QueueUrl=self.queue_url,
                MessageBody=self.body,
                DelaySeconds=delay,
                MessageAttributes={REQUEUES_ATTRIBUTE: counter},
            )
        except Exception as exc:
            log("hold_failed", level="ERROR", message_id=self.id, error=repr(exc))
            return self.retry_without_hold(seconds, reason_code)
        self.note("held", reason_code=reason_code, delay_seconds=delay)
        return Outcome.HELD

    def retry_without_hold(self, seconds: float, reason_code: str) -> Outcome:
        self.receive_count = 0  # so retry() does not try to hold again
        return self.retry(min(math.ceil(seconds), MAX_VISIBILITY_SECONDS), reason_code)

    def note(self, event: str, *, level: str = "INFO", **fields: Any) -> None:
        log(event, level=level, slice=self.config.slice_name, message_id=self.id,
            idempotency_key=self.key, **fields)  # fmt: skip


def sqs_message_bytes(body: str, attributes: Mapping[str, str]) -> int:
    """What SQS counts against a queue's MaximumMessageSize: the body and, per String attribute,
    its name, data type and value (UTF-8 bytes)."""
    return len(body.encode("utf-8")) + sum(
        len(name.encode("utf-8")) + len("String") + len(value.encode("utf-8"))
        for name, value in attributes.items()
    )


def fitting_attributes(body: str, attributes: Mapping[str, str]) -> dict[str, str]:
    """``attributes`` less the ones that would take the message over ``SQS_MESSAGE_BYTES``
    (dropped in ``DLQ_ATTRIBUTES_DROPPED_FIRST`` order). A valid body always keeps them all
    (bodies leave ``SENDER_ATTRIBUTE_BYTES`` free); a body that came in over the contract's limit
    still reaches the DLQ, with what fits beside it."""
    kept = dict(attributes)
    for name in DLQ_ATTRIBUTES_DROPPED_FIRST:
        if sqs_message_bytes(body, kept) <= SQS_MESSAGE_BYTES:
            break
        kept.pop(name, None)
    return kept


def _truncated(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` UTF-8 bytes, never inside a character."""
    return text.encode("utf-8")[:max_bytes].decode("utf-8", errors="ignore")


def with_archive_copy(message: EmailMessage, archive_address: str) -> EmailMessage | None:
    """``message`` with the archive address as one more BCC (so the limiter reserves it and SES
    counts it), unchanged when it already names that address; ``None`` when it would exceed SES's
    50 recipients per message."""
    archive = Address(email=archive_address)
    if any(a.mailbox == archive.mailbox for a in (*message.to, *message.cc, *message.bcc)):
        return message
    if message.recipient_count + 1 > MAX_RECIPIENTS:
        return None
    return replace(message, bcc=(*message.bcc, archive))


def _backoff(job: _Record, config: SenderConfig) -> int:
    """Exponential in the receive count, with jitter stable per message (no thundering herd)."""
    base = min(config.backoff_max_seconds, config.backoff_base_seconds * 2 ** max(job.receive_count - 1, 0))
    jitter = zlib.crc32(job.id.encode()) % (base // 2 + 1)
    return int(min(config.backoff_max_seconds, base + jitter))


def _routed(route: Route | None) -> dict[str, Any]:
    if route is None:
        return {}
    if route.dedicated:
        return {"ip_pool": route.pool, "configuration_set": route.configuration_set}
    return {"ip_pool": "shared", "configuration_set": route.configuration_set}


def _metric_name(outcome: str) -> str:
    return "".join(part.capitalize() for part in outcome.split("_"))


_DEPS: SenderDeps | None = None
_CONFIG: SenderConfig | None = None


def _default_deps() -> tuple[SenderDeps, SenderConfig]:
    """Clients once per container. SES gets no SDK retries: a retried timeout could send twice."""
    import boto3
    from botocore.config import Config

    from functions.common.warmup_counter import DynamoDbWarmupCounter
    from functions.sender.idempotency import DynamoDbIdempotencyStore
    from functions.sender.limiter import DynamoDbLimiter

    config = SenderConfig.from_env(os.environ)
    table = os.environ["STATE_TABLE"]
    dynamodb = boto3.client("dynamodb", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    ses = boto3.client(
        "sesv2", config=Config(retries={"total_max_attempts": 1}, connect_timeout=3, read_timeout=15)
    )
    sends = ThreadedSends()
    warm_connections(ses, sends.max_workers)  # a cold container's first sends must not arrive late
    clock = SystemClock()
    departures = Departures(clock)
    ses.meta.events.register("before-send.sesv2.SendEmail", departures)
    deps = SenderDeps(
        ses=ses,
        sqs=boto3.client("sqs"),
        limiter=DynamoDbLimiter(
            dynamodb,
            table,
            config.slice_name,
            float(os.environ["RATE_PER_SECOND"]),
            account_rate_per_second=float(
                os.environ.get("ACCOUNT_RATE_PER_SECOND") or os.environ["RATE_PER_SECOND"]
            ),
        ),
        store=DynamoDbIdempotencyStore(dynamodb, table, config.slice_name),
        clock=clock,
        router=WarmupRouter.from_env(
            os.environ, DynamoDbWarmupCounter(dynamodb, table), config.configuration_set
        ),
        send_concurrently=sends,
        departures=departures,
    )
    return deps, config


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, list[dict[str, str]]]:
    global _DEPS, _CONFIG  # one set of clients per container, built on first use
    if _DEPS is None or _CONFIG is None:
        _DEPS, _CONFIG = _default_deps()
    remaining: Callable[[], float] = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    return handle_batch(event, _DEPS, _CONFIG, remaining_seconds=remaining)

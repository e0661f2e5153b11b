"""The sender handler: every record ends sent once, in the DLQ with a reason, or handed back."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.common.clock import SystemClock
from functions.common.ledger import SLOT_MS, read_ledger, slot_start, to_ms, write_caps
from functions.sender.contract import MAX_MESSAGE_BYTES, SQS_MESSAGE_BYTES
from functions.sender.handler import (
    Departures,
    SenderConfig,
    SenderDeps,
    SlotMissed,
    ThreadedSends,
    fitting_attributes,
    handle_batch,
    sqs_message_bytes,
    warm_connections,
)
from functions.sender.idempotency import InMemoryIdempotencyStore
from functions.sender.ports import ClaimStatus, RateLimiter, Reservation
from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes, client_error
from tests.support.ledger_table import LedgerTable, in_memory_limiter

QUEUE_ARN = "arn:aws:sqs:eu-central-1:111111111111:example-at-de-transactional"
QUEUE_URL = "https://sqs.eu-central-1.amazonaws.com/111111111111/example-at-de-transactional"
DLQ_URL = "https://sqs.eu-central-1.amazonaws.com/111111111111/example-at-de-dlq"
T0 = 1_800_000_000_000 // SLOT_MS * SLOT_MS / 1000  # on the ledger's slot grid


class SlowLimiter:
    """A limiter whose booking round trips take ``seconds`` of the clock; counts give-backs."""

    def __init__(self, inner: RateLimiter, clock: ManualClock, seconds: float) -> None:
        self.inner, self.clock, self.seconds = inner, clock, seconds
        self.released = 0

    def reserve(self, recipients: int, now: float, max_wait_seconds: float = 0.0, **kw: Any) -> Reservation:
        grant = self.inner.reserve(recipients, now, max_wait_seconds, **kw)
        self.clock.sleep(self.seconds)
        return grant

    def reserve_many(
        self, sizes: list[int], now: float, max_wait_seconds: float = 0.0, **kw: Any
    ) -> list[Reservation]:
        grants = self.inner.reserve_many(sizes, now, max_wait_seconds, **kw)
        self.clock.sleep(self.seconds)
        return grants

    def release(self, reservation: Reservation, now: float, **kw: Any) -> None:
        self.released += 1
        self.inner.release(reservation, now, **kw)

    def pause(self, until: float, reason: str) -> None:
        self.inner.pause(until, reason)


class FakeSqs:
    def __init__(self, *, fail_dlq: bool = False) -> None:
        self.sent: list[dict[str, Any]] = []
        self.visibility: list[dict[str, Any]] = []
        self.fail_dlq = fail_dlq

    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        if self.fail_dlq and kwargs["QueueUrl"] == DLQ_URL:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}}, "SendMessage")
        # as SQS counts a message against the queues' MaximumMessageSize (256 KiB, set by the slice)
        size = len(kwargs["MessageBody"].encode()) + sum(
            len(name.encode()) + len(v["DataType"].encode()) + len(v["StringValue"].encode())
            for name, v in kwargs.get("MessageAttributes", {}).items()
        )
        if size > 262_144:
            raise ClientError(
                {
                    "Error": {
                        "Code": "InvalidParameterValue",
                        "Message": "Message must be shorter than 262144 bytes.",
                    }
                },
                "SendMessage",
            )
        self.sent.append(kwargs)
        return {"MessageId": f"sqs-{len(self.sent)}"}

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]:
        self.visibility.append(kwargs)
        return {}

    def dead_letters(self) -> list[dict[str, str]]:
        return [
            {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
            for m in self.sent
            if m["QueueUrl"] == DLQ_URL
        ]

    def requeued(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["QueueUrl"] == QUEUE_URL]


class Harness:
    def __init__(self, ses: FakeSes | None = None, *, rate: float = 100, **config: Any) -> None:
        self.clock = ManualClock(T0)
        self.ses = ses or FakeSes()
        self.ses.clock = self.clock
        self.sqs = FakeSqs(fail_dlq=config.pop("fail_dlq", False))
        self.limiter: Any = in_memory_limiter(rate)
        self.store = InMemoryIdempotencyStore()
        self.departures: Departures | None = None  # the SES client's hook, as in the Lambda
        self.config = SenderConfig(
            slice_name="at-de",
            dlq_url=DLQ_URL,
            queue_urls={QUEUE_ARN: QUEUE_URL},
            configuration_set="transactional",
            allowed_from_domains=frozenset({"news.example.at"}),
            **config,
        )

    def run(
        self, *bodies: str, receive_count: int = 1, remaining: float = 60.0, requeues: int = 0
    ) -> list[str]:
        records = [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"rh{i}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count)},
                "messageAttributes": {"requeues": {"stringValue": str(requeues), "dataType": "Number"}},
                "eventSourceARN": QUEUE_ARN,
            }
            for i, body in enumerate(bodies)
        ]
        deps = SenderDeps(
            ses=self.ses, sqs=self.sqs, limiter=self.limiter, store=self.store, clock=self.clock,
            departures=self.departures,
        )  # fmt: skip
        result = handle_batch({"Records": records}, deps, self.config, remaining_seconds=lambda: remaining)
        return [f["itemIdentifier"] for f in result["batchItemFailures"]]


def message(key: str = "order-1", recipients: int = 1, **fields: Any) -> str:
    body = {
        "version": 1,
        "idempotency_key": key,
        "from": "Shop <orders@news.example.at>",
        "to": [f"user{i}@example.com" for i in range(recipients)],
        "subject": "Your order",
        "text": "Thanks!",
    }
    body.update(fields)
    return json.dumps(body)


def test_a_valid_message_is_sent_once_tagged_with_its_idempotency_key() -> None:
    h = Harness()
    assert h.run(message()) == []
    (call,) = h.ses.calls
    assert {"Name": "idempotency_key", "Value": "order-1"} in call["EmailTags"]
    assert {"Name": "slice", "Value": "at-de"} in call["EmailTags"]
    assert call["ConfigurationSetName"] == "transactional"
    claim = h.store.claim("order-1", h.clock.now(), 60)
    assert (claim.status, claim.ses_message_id) == (ClaimStatus.SENT, "ses-1")


def test_a_redelivered_message_that_was_sent_is_acknowledged_not_sent_again() -> None:
    h = Harness()
    h.run(message())
    assert h.run(message(), receive_count=2) == []
    assert len(h.ses.calls) == 1


def test_invalid_json_goes_to_the_dlq_with_its_reason_and_is_never_sent() -> None:
    h = Harness()
    assert h.run("{not json") == []
    assert h.ses.calls == []
    (dead,) = h.sqs.dead_letters()
    assert dead["reason_code"] == "INVALID_JSON"
    assert dead["slice"] == "at-de"


def test_a_from_domain_outside_the_slice_is_dead_lettered() -> None:
    h = Harness()
    h.run(message(**{"from": "ceo@other.example.org"}))
    assert h.ses.calls == []
    assert h.sqs.dead_letters()[0]["reason_code"] == "FROM_DOMAIN_NOT_ALLOWED"


@pytest.mark.parametrize(
    "error",
    [
        client_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429),
        client_error("ThrottlingException", "Rate exceeded", 400),
    ],
)
def test_a_throttled_send_is_handed_back_with_backoff_and_sent_on_redelivery(error: ClientError) -> None:
    h = Harness(FakeSes(error))
    assert h.run(message()) == ["m0"]
    (change,) = h.sqs.visibility
    assert change["QueueUrl"] == QUEUE_URL
    assert change["VisibilityTimeout"] >= 2
    assert h.sqs.dead_letters() == []
    assert h.run(message(), receive_count=2) == []
    assert len(h.ses.calls) == 2


def test_daily_quota_holds_the_message_and_pauses_the_slice() -> None:
    h = Harness(FakeSes(client_error("TooManyRequestsException", "Daily message quota exceeded.", 429)))
    assert h.run(message()) == []  # re-enqueued, so acknowledged
    (requeued,) = h.sqs.requeued()
    assert requeued["DelaySeconds"] == 900
    assert json.loads(requeued["MessageBody"])["idempotency_key"] == "order-1"
    paused_until = h.limiter.reserve(1, h.clock.now()).paused_until
    assert paused_until is not None
    assert T0 + 900 < paused_until <= h.clock.now() + 900  # 900 s from the refused send
    assert h.store.claim("order-1", h.clock.now(), 60).status is ClaimStatus.NEW  # released


@pytest.mark.parametrize("code", ["SendingPausedException", "AccountSuspendedException"])
def test_sending_paused_stops_the_slice_and_publishes_a_metric(
    code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    h = Harness(FakeSes(client_error(code, "Sending is paused for this account.")))
    assert h.run(message(), message("order-2")) == []
    assert len(h.ses.calls) == 1  # the second message never reaches SES: the slice is paused
    assert len(h.sqs.requeued()) == 2
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert metrics[-1]["SlicePaused"] == 1.0
    assert metrics[-1]["Held"] == 2.0


@pytest.mark.parametrize(
    ("code", "reason_code"),
    [
        ("MessageRejected", "SES_MESSAGE_REJECTED"),
        ("MailFromDomainNotVerifiedException", "SES_MAIL_FROM_NOT_VERIFIED"),
        ("BadRequestException", "SES_BAD_REQUEST"),
        ("NotFoundException", "SES_NOT_FOUND"),
    ],
)
def test_a_permanent_ses_refusal_goes_to_the_dlq_without_retries(code: str, reason_code: str) -> None:
    h = Harness(FakeSes(client_error(code, "no")))
    assert h.run(message()) == []
    assert h.sqs.dead_letters()[0]["reason_code"] == reason_code
    assert h.sqs.dead_letters()[0]["idempotency_key"] == "order-1"
    assert h.run(message(), receive_count=2) == []  # a redelivered copy is not sent again
    assert len(h.ses.calls) == 1


def test_a_server_error_is_retried_because_ses_answered_that_it_did_not_send() -> None:
    h = Harness(FakeSes(client_error("InternalFailure", "oops", 500)))
    assert h.run(message()) == ["m0"]
    assert h.run(message(), receive_count=2) == []
    assert len(h.ses.calls) == 2


def test_a_read_timeout_is_ambiguous_flagged_and_never_resent() -> None:
    h = Harness(FakeSes(ReadTimeoutError(endpoint_url="https://email.eu-central-1.amazonaws.com")))
    assert h.run(message()) == []
    assert h.sqs.dead_letters()[0]["reason_code"] == "AMBIGUOUS_OUTCOME"
    assert h.store.claim("order-1", h.clock.now(), 60).status is ClaimStatus.AMBIGUOUS
    assert h.run(message(), receive_count=2) == []
    assert len(h.ses.calls) == 1
    assert [d["reason_code"] for d in h.sqs.dead_letters()] == ["AMBIGUOUS_OUTCOME"] * 2


def test_a_connect_timeout_is_retried_since_nothing_left_the_sender() -> None:
    h = Harness(FakeSes(ConnectTimeoutError(endpoint_url="https://email.eu-central-1.amazonaws.com")))
    assert h.run(message()) == ["m0"]
    assert h.store.claim("order-1", h.clock.now(), 60).status is ClaimStatus.NEW


def test_a_short_wait_for_room_sleeps_then_sends() -> None:
    h = Harness(rate=10)
    assert h.run(message("a", recipients=10), message("b", recipients=5)) == []
    first, second = h.ses.sent_at
    assert second - first == pytest.approx(SLOT_MS / 1000, abs=0.002)  # the next slot: a second and the guard


def test_no_budget_within_the_wait_limit_hands_the_message_back_unclaimed() -> None:
    h = Harness(rate=10, max_wait_seconds=1.5)
    assert h.run(message("a", recipients=10), message("b", recipients=5)) == ["m1"]
    # room for b two slots on (over the wait): back within NO_BUDGET_RETRY_SECONDS
    assert h.sqs.visibility[0]["VisibilityTimeout"] == 2
    assert h.store.claim("b", h.clock.now(), 60).status is ClaimStatus.NEW


def test_a_message_waiting_for_the_next_heartbeat_cap_is_kept_not_handed_back() -> None:
    h = Harness(rate=10)
    table = LedgerTable()
    h.limiter = in_memory_limiter(10, table=table)
    now = h.clock.now()
    write_caps(table, "state", {"at-de": 0}, capacity=10, until=now + 0.3)  # nothing until the next tick
    h.clock.at(now + 0.3, lambda: write_caps(table, "state", {"at-de": 10}, capacity=10, until=now + 1.3))
    assert h.run(message("a", recipients=10), message("b", recipients=5)) == []
    assert len(h.ses.calls) == 2  # both waited in hand across the tick: no visibility change
    assert h.sqs.visibility == []
    assert h.sqs.requeued() == []


def test_the_send_leaves_on_its_slot_measured_after_the_booking_round_trips() -> None:
    h = Harness(rate=10)
    slow = SlowLimiter(in_memory_limiter(10), h.clock, seconds=0.3)  # the booking itself takes 0.3 s
    h.limiter = slow
    assert h.run(message("a", recipients=10), message("b", recipients=10)) == []
    first, second = h.ses.sent_at
    assert second - first == pytest.approx(SLOT_MS / 1000, abs=0.002)  # one slot apart: not one slot + 0.3
    assert h.sqs.visibility == []  # a slot that passed while it was being written was booked again


def test_a_throttled_send_gives_its_pace_back_and_holds_the_slice_briefly() -> None:
    h = Harness(
        FakeSes(client_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429)), rate=1
    )
    h.limiter = in_memory_limiter(1, account_rate=100)  # 10 recipients are 10 s of this slice's pace
    assert h.run(message("a", recipients=10)) == ["m0"]
    now = h.clock.now()
    pace = read_ledger(h.limiter.client, "state").number("tat", "at-de")
    assert pace is not None
    assert pace <= to_ms(now)  # no 10-s debt for a send SES refused
    held = h.limiter.reserve(1, now, 5.0)
    assert held.at is not None
    assert held.at >= now + 0.25  # and a brief hold after the 429
    assert held.at == pytest.approx(slot_start(to_ms(now + 0.25)) / 1000, abs=1e-3)


def test_a_retry_on_the_last_receive_before_redrive_is_re_enqueued_instead() -> None:
    h = Harness(FakeSes(client_error("InternalFailure", "oops", 500)), max_receive_count=5)
    assert h.run(message(), receive_count=4) == []
    (requeued,) = h.sqs.requeued()
    assert requeued["DelaySeconds"] >= 1
    assert h.sqs.dead_letters() == []


def test_a_fault_that_keeps_recurring_is_dead_lettered_after_a_few_rounds() -> None:
    h = Harness(FakeSes(client_error("InternalFailure", "oops", 500)), max_receive_count=5)
    assert h.run(message(), receive_count=4, requeues=2) == []
    assert h.sqs.requeued()[0]["MessageAttributes"]["requeues"]["StringValue"] == "3"
    h.ses.errors.append(client_error("InternalFailure", "oops", 500))
    assert h.run(message(), receive_count=4, requeues=3) == []
    (dead,) = h.sqs.dead_letters()
    assert dead["reason_code"] == "SES_SERVER_ERROR"
    assert "4 rounds" in dead["reason"]


def test_capacity_waits_are_re_enqueued_however_often() -> None:
    h = Harness(FakeSes(client_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429)))
    assert h.run(message(), receive_count=4, requeues=50) == []
    assert len(h.sqs.requeued()) == 1
    assert h.sqs.dead_letters() == []


def test_when_the_dlq_is_unavailable_the_message_is_kept_not_acknowledged() -> None:
    h = Harness(fail_dlq=True)
    assert h.run("{not json") == ["m0"]


def padded(size: int, key: str = "order-1", **fields: Any) -> str:
    """A message body of exactly ``size`` UTF-8 bytes."""
    short = message(key, text="", **fields)
    return message(key, text="x" * (size - len(short.encode())), **fields)


def test_a_body_at_the_contracts_limit_reaches_the_dlq_with_every_attribute() -> None:
    key = "k" * 128  # the longest key the contract allows, and a reason of multi-byte characters
    h = Harness(FakeSes(client_error("MessageRejected", "ü" * 3000)))
    body = padded(MAX_MESSAGE_BYTES, key)
    assert h.run(body) == []
    (copy,) = [m for m in h.sqs.sent if m["QueueUrl"] == DLQ_URL]
    assert copy["MessageBody"] == body
    attributes = {k: v["StringValue"] for k, v in copy["MessageAttributes"].items()}
    assert set(attributes) == {"reason_code", "reason", "slice", "source_message_id", "idempotency_key"}
    reason = attributes["reason"].encode()  # cut to 1,000 bytes, not inside a character
    assert len(reason) <= 1000
    assert reason.decode().endswith("üüü")


def test_a_re_enqueued_copy_of_a_body_at_the_limit_fits_its_lane() -> None:
    h = Harness(FakeSes(client_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429)))
    body = padded(MAX_MESSAGE_BYTES)
    assert h.run(body, receive_count=4) == []  # the last receive before redrive: a copy goes back
    (copy,) = h.sqs.requeued()
    assert copy["MessageBody"] == body


@pytest.mark.parametrize(
    ("size", "kept"),
    [
        (MAX_MESSAGE_BYTES + 1, {"reason_code", "reason", "slice", "source_message_id"}),
        (SQS_MESSAGE_BYTES - 40, {"reason_code"}),
        (SQS_MESSAGE_BYTES, set()),
    ],
)
def test_a_body_larger_than_the_contract_allows_still_reaches_the_dlq(size: int, kept: set[str]) -> None:
    h = Harness()  # a client that skipped the producer filled a lane message to the brim
    body = padded(size)
    assert h.run(body) == []
    (copy,) = [m for m in h.sqs.sent if m["QueueUrl"] == DLQ_URL]
    assert copy["MessageBody"] == body  # whole, with what fits of the reason beside it
    assert h.ses.calls == []
    assert set(copy.get("MessageAttributes", {})) == kept  # the log line keeps them all


def test_a_refusing_dlq_gets_a_bounded_number_of_re_enqueued_copies_then_the_redrive() -> None:
    h = Harness(fail_dlq=True)
    last = h.config.max_receive_count - 1
    assert h.run("{not json", receive_count=last, requeues=0) == []  # a copy goes back, counted
    (copy,) = h.sqs.requeued()
    assert copy["MessageAttributes"]["requeues"]["StringValue"] == "1"
    h.sqs.sent.clear()
    rounds = h.config.max_fault_requeues
    assert h.run("{not json", receive_count=last, requeues=rounds) == ["m0"]
    assert h.sqs.sent == []  # no more copies: the lane's redrive policy takes it to the DLQ next
    assert h.sqs.visibility


@settings(max_examples=200, deadline=None)
@given(
    body_bytes=st.integers(min_value=1, max_value=SQS_MESSAGE_BYTES),
    reason=st.text(max_size=2000),
    key=st.from_regex(r"[A-Za-z0-9_-]{1,128}", fullmatch=True),
    slice_name=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
)
def test_dlq_attributes_always_fit_and_a_valid_body_keeps_them_all(
    body_bytes: int, reason: str, key: str, slice_name: str
) -> None:
    body = "x" * body_bytes
    wanted = {
        "reason_code": "SES_PERMANENT_FAILURE_MESSAGE_REJECTED",
        "reason": reason.encode()[:1000].decode(errors="ignore"),
        "slice": slice_name,
        "source_message_id": "0b6c0a4e-7bfd-4d2f-9d3e-2f1f7c1a9f10",
        "idempotency_key": key,
    }
    kept = fitting_attributes(body, wanted)
    assert sqs_message_bytes(body, kept) <= SQS_MESSAGE_BYTES
    assert kept.items() <= wanted.items()
    if body_bytes <= MAX_MESSAGE_BYTES:
        assert kept == wanted


def test_with_little_lambda_time_left_nothing_new_is_started() -> None:
    h = Harness()
    assert h.run(message(), remaining=2.0) == ["m0"]
    assert h.ses.calls == []


def test_a_key_leased_by_another_sender_is_retried_later() -> None:
    h = Harness()
    h.store.claim("order-1", h.clock.now(), 120)
    assert h.run(message()) == ["m0"]
    assert h.ses.calls == []


def test_a_paused_limiter_holds_messages_without_calling_ses() -> None:
    h = Harness()

    class Paused:
        def reserve(self, _recipients: int, now: float, *_: Any, **__: Any) -> Reservation:
            return Reservation(granted=False, wait_seconds=300, paused_until=now + 300)

        def reserve_many(self, sizes: list[int], now: float, *_: Any, **__: Any) -> list[Reservation]:
            return [self.reserve(n, now) for n in sizes]

        def release(self, *_: Any, **__: Any) -> None:
            raise AssertionError("not expected")

        def pause(self, until: float, reason: str) -> None:  # noqa: ARG002
            raise AssertionError("not expected")

    h.limiter = Paused()
    assert h.run(message()) == []
    assert h.sqs.requeued()[0]["DelaySeconds"] == 300
    assert h.ses.calls == []


def test_config_from_env_reads_what_the_construct_sets() -> None:
    config = SenderConfig.from_env(
        {
            "SLICE_NAME": "at-de",
            "DLQ_URL": DLQ_URL,
            "QUEUE_URLS": json.dumps({QUEUE_ARN: QUEUE_URL}),
            "CONFIGURATION_SET": "",
            "ALLOWED_FROM_DOMAINS": "news.example.at, Shop.Example.com",
            "MAX_RECEIVE_COUNT": "7",
        }
    )
    assert config.queue_urls == {QUEUE_ARN: QUEUE_URL}
    assert config.configuration_set is None
    assert config.allowed_from_domains == frozenset({"news.example.at", "shop.example.com"})
    assert config.max_receive_count == 7


def test_the_lambda_ses_client_never_retries_a_send_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.sender import handler

    for name, value in {
        "SLICE_NAME": "at-de",
        "DLQ_URL": DLQ_URL,
        "STATE_TABLE": "example-ses-sending-state",
        "RATE_PER_SECOND": "30",
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    deps, _ = handler._default_deps()
    # A retried read timeout could deliver the same mail twice: one attempt, then our own logic.
    assert deps.ses.meta.config.retries["total_max_attempts"] == 1  # type: ignore[attr-defined]


def test_a_batch_is_booked_in_the_ledger_with_one_write() -> None:
    h = Harness(rate=100)
    table = LedgerTable()
    h.limiter = in_memory_limiter(100, table=table)
    assert h.run(*(message(f"k{i}", recipients=3) for i in range(10))) == []
    assert len(h.ses.calls) == 10
    assert table.writes == 1


class SlowClaims(InMemoryIdempotencyStore):
    """An idempotency store whose first ``slow`` claims take ``seconds`` of the clock."""

    def __init__(self, clock: ManualClock, seconds: float, slow: int = 1) -> None:
        super().__init__()
        self.clock, self.seconds, self.slow = clock, seconds, slow

    def claim(self, key: str, now: float, lease_seconds: float) -> Any:
        claim = super().claim(key, now, lease_seconds)
        if self.slow > 0:
            self.slow -= 1
            self.clock.sleep(self.seconds)
        return claim


def test_a_slot_missed_behind_a_slow_claim_is_swapped_for_the_next_and_freed() -> None:
    h = Harness(rate=10)
    table = LedgerTable()
    h.limiter = in_memory_limiter(10, table=table)
    h.store = SlowClaims(h.clock, seconds=1.5)  # the claim comes back after its slot has passed
    assert h.run(message("a", recipients=10)) == []
    assert len(h.ses.calls) == 1  # sent once, on a later slot, still holding its claim
    (sent_at,) = h.ses.sent_at
    assert sent_at == pytest.approx(slot_start(to_ms(sent_at)) / 1000, abs=1e-3)  # on a slot
    log = read_ledger(table, "state").log
    assert [n for _, n in log if n > 0] == [10]  # the missed slot was freed in the same write
    assert h.store.claim("a", h.clock.now(), 60).status is ClaimStatus.SENT


def test_threaded_sends_run_a_batchs_sends_at_once_and_answer_in_order() -> None:
    # each task waits for all the others: only sends that run at once can pass the barrier (a
    # barrier with a timeout fails rather than hangs)
    barrier = threading.Barrier(10, timeout=30)

    def task(i: int) -> Any:
        def run() -> Any:
            barrier.wait()
            return i

        return run

    assert ThreadedSends()([task(i) for i in range(10)]) == list(range(10))


@contextlib.contextmanager
def ses_on_loopback(answer: Callable[[BaseHTTPRequestHandler], tuple[int, bytes]]) -> Iterator[Any]:
    """A boto3 ``sesv2`` client whose endpoint is a keep-alive HTTP server on 127.0.0.1; each
    request (GET or POST) is answered with ``answer(request) -> (status, body)``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as SES

        def do_GET(self) -> None:
            status, body = answer(self)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815 - the name http.server dispatches POST to

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield boto3.client(
            "sesv2", endpoint_url=f"http://127.0.0.1:{server.server_address[1]}", region_name="eu-west-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()


def test_a_cold_senders_connections_are_opened_before_its_first_send() -> None:
    # a send on a connection still being opened arrives late; warmed, the sends find them open
    seen: list[tuple[str, int]] = []

    def answer(request: BaseHTTPRequestHandler) -> tuple[int, bytes]:  # SES to an unsigned request
        seen.append((request.path, request.client_address[1]))
        time.sleep(0.05)  # all warm-ups are in flight at once: each on its own connection
        return 403, b'{"message":"Missing Authentication Token"}'

    with ses_on_loopback(answer) as client:
        assert warm_connections(client, 4) == 4
        assert [path for path, _ in seen] == ["/"] * 4  # unsigned GET /: no API call
        assert len({port for _, port in seen}) == 4  # four connections, now in boto3's pool
        assert warm_connections(client, 2) == 2
        assert {port for _, port in seen[4:]} <= {port for _, port in seen[:4]}  # reused, not new
    # nothing to warm (a stub without an HTTP session): no error, nothing opened
    assert warm_connections(object(), 4) == 0


class HeldSes(FakeSes):
    """A client with :class:`Departures` as its hook (as botocore runs it: inside the call, after
    the request is built); ``stall`` seconds of the clock pass between build and hook for the
    first ``stalls`` calls (a host too busy to wake the thread in time)."""

    def __init__(
        self, clock: ManualClock, departures: Departures, stall: float = 0.0, stalls: int = 0
    ) -> None:
        super().__init__(clock=clock)
        self.departures, self.stall, self.stalls = departures, stall, stalls
        self.missed = 0

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        at = getattr(self.departures._local, "at", None)
        if self.stalls > 0 and at is not None:
            self.stalls -= 1
            self.clock.t = max(self.clock.t, at) + self.stall  # type: ignore[union-attr]
        try:
            self.departures()
        except SlotMissed:
            self.missed += 1
            raise
        return super().send_email(**kwargs)


def test_a_request_held_to_its_slot_that_would_leave_too_late_is_booked_again_not_sent() -> None:
    h = Harness(rate=10)
    table = LedgerTable()
    h.limiter = in_memory_limiter(10, table=table)
    h.departures = departures = Departures(h.clock)
    h.ses = ses = HeldSes(h.clock, departures, stall=0.2, stalls=1)

    assert h.run(message("a", recipients=10)) == []
    assert ses.missed == 1  # the first request was ready but 200 ms past its slot: not sent
    assert len(h.ses.calls) == 1  # sent once, on a later slot
    (sent_at,) = h.ses.sent_at
    assert sent_at == pytest.approx(slot_start(to_ms(sent_at)) / 1000, abs=1e-3)  # on a slot
    assert [n for _, n in read_ledger(table, "state").log if n > 0] == [10]  # the missed slot freed
    assert h.store.claim("a", h.clock.now(), 60).status is ClaimStatus.SENT


def test_the_ses_request_is_built_before_its_slot_and_arrives_after_it() -> None:
    arrivals: list[tuple[str, float]] = []

    def answer(request: BaseHTTPRequestHandler) -> tuple[int, bytes]:
        arrivals.append((request.path, time.time()))
        request.rfile.read(int(request.headers.get("Content-Length") or 0))
        return 200, b'{"MessageId":"ses-1"}'

    with ses_on_loopback(answer) as client:
        departures = Departures(SystemClock())
        client.meta.events.register("before-send.sesv2.SendEmail", departures)
        email = {
            "FromEmailAddress": "a@news.example.at",
            "Destination": {"ToAddresses": ["b@example.com"]},
            "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
        }
        at = time.time() + 0.3
        departures.hold_until(at)
        assert client.send_email(**email)["MessageId"] == "ses-1"
        assert arrivals[-1][1] >= at  # held until its slot, not sent when the call began
        assert departures.left_after_slot() is not None
        departures.hold_until(time.time() - 0.5)  # its slot passed long ago
        with pytest.raises(SlotMissed):
            client.send_email(**email)
        assert len(arrivals) == 1  # nothing left for the missed slot
        client.send_email(**email)  # no hold: leaves at once (the hook holds one request only)
        assert len(arrivals) == 2

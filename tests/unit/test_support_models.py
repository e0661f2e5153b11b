"""The test doubles the fault simulation and the benchmark stand on: virtual clock, SES and SQS models."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError, ReadTimeoutError

from tests.support.ses_model import NO_LATENCY, Faults, SesModel
from tests.support.sqs_model import CrashingSes, CrashOnce, EventSourceMapping, SqsModel
from tests.support.virtual_time import ClockStopped, VirtualClock

FROM = "news@news.example.at"


def simple(*to: str, key: str = "k1", **extra: Any) -> dict[str, Any]:
    return {
        "FromEmailAddress": FROM,
        "Destination": {"ToAddresses": list(to)},
        "Content": {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}},
        "EmailTags": [{"Name": "idempotency_key", "Value": key}],
        **extra,
    }


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


# -- virtual clock ---------------------------------------------------------------------------------
def test_time_jumps_to_the_earliest_wake_up_only_when_every_participant_sleeps() -> None:
    clock = VirtualClock()
    seen: list[tuple[float, str]] = []

    def worker(name: str, period: float) -> None:
        for _ in range(3):
            clock.sleep(period)
            seen.append((round(clock.elapsed(), 6), name))

    clock.spawn(worker, "a", 0.5, name="a")
    clock.spawn(worker, "b", 0.7, name="b")
    assert clock.run(until=lambda: len(seen) == 6, max_seconds=10, step=0.1)
    clock.raise_errors()
    assert seen == [(0.5, "a"), (0.7, "b"), (1.0, "a"), (1.4, "b"), (1.5, "a"), (2.1, "b")]


def test_a_run_is_reproducible() -> None:
    def run() -> list[str]:
        clock, order = VirtualClock(), []

        def worker(name: str) -> None:
            for _ in range(50):
                clock.sleep(0.0)  # a pure yield: ties go first come, first served
                order.append(name)

        for name in "abcd":
            clock.spawn(worker, name, name=name)
        clock.run(until=lambda: len(order) == 200, max_seconds=1)
        return order

    assert run() == run()


def test_idle_waiters_wake_on_notify_without_time_passing() -> None:
    clock = VirtualClock()
    box: list[str] = []
    woke: list[float] = []

    def consumer() -> None:
        assert clock.wait_for(lambda: bool(box), timeout=100)
        woke.append(clock.elapsed())

    def producer() -> None:
        clock.sleep(3)
        box.append("x")
        clock.notify()

    clock.spawn(consumer, name="consumer")
    clock.spawn(producer, name="producer")
    clock.run(until=lambda: bool(woke), max_seconds=50, step=10)
    clock.raise_errors()
    assert woke == [3.0]


def test_stop_raises_clock_stopped_in_sleeping_participants() -> None:
    clock = VirtualClock()
    stopped: list[str] = []

    def sleeper() -> None:
        try:
            clock.sleep(1000)
        except ClockStopped:
            stopped.append("yes")
            raise

    clock.spawn(sleeper, name="sleeper")
    clock.run(until=lambda: clock.elapsed() >= 5, max_seconds=10)
    assert stopped == ["yes"]
    assert clock.errors == []


def test_all_idle_without_timeout_is_reported_as_a_deadlock() -> None:
    clock = VirtualClock()
    clock.spawn(lambda: clock.wait_for(lambda: False), name="forever")
    clock.register("main")
    with pytest.raises(ClockStopped):
        clock.wait_for(lambda: False)
    assert clock.stall is not None
    assert "deadlock" in clock.stall


# -- SES model -------------------------------------------------------------------------------------
def test_ses_counts_recipients_in_a_sliding_second_and_throttles_like_sesv2() -> None:
    clock = VirtualClock()
    ses = SesModel(clock, rate_per_second=3, latency=NO_LATENCY)
    ses.send_email(**simple("a@x.example", "b@x.example", key="k1"))
    clock.sleep(0.5)
    with pytest.raises(ClientError) as exc:
        ses.send_email(**simple("c@x.example", "d@x.example", key="k2"))
    assert code_of(exc) == ("TooManyRequestsException", "Maximum sending rate exceeded.", 429)
    assert type(exc.value).__name__ == "TooManyRequestsException"  # boto3's modeled class
    clock.sleep(0.5)  # the first send leaves the window (t - 1, t] exactly now
    ses.send_email(**simple("c@x.example", "d@x.example", key="k2"))
    assert [s.idempotency_key for s in ses.accepted] == ["k1", "k2"]
    assert ses.over_rate() != []  # k2's throttled attempt made SES see 4 > 3


def test_a_single_message_above_the_rate_passes_only_into_an_empty_window() -> None:
    clock = VirtualClock()
    ses = SesModel(clock, rate_per_second=2, latency=NO_LATENCY)
    ses.send_email(**simple("a@x.example", "b@x.example", "c@x.example"))
    with pytest.raises(ClientError):
        ses.send_email(**simple("d@x.example", key="k2"))
    assert ses.over_rate(accepted_only=True) == []


def test_burst_allows_more_than_the_rate() -> None:
    clock = VirtualClock()
    ses = SesModel(clock, rate_per_second=2, burst=1, latency=NO_LATENCY)
    ses.send_email(**simple("a@x.example", "b@x.example"))
    ses.send_email(**simple("c@x.example", key="k2"))
    with pytest.raises(ClientError):
        ses.send_email(**simple("d@x.example", key="k3"))


def test_rolling_daily_quota_frees_when_yesterdays_sends_age_out() -> None:
    clock = VirtualClock()
    yesterday = clock.now() - 86_400 + 10
    ses = SesModel(
        clock, rate_per_second=100, max_24_hour_send=10, prior_sends=[(yesterday, 9)], latency=NO_LATENCY
    )
    ses.send_email(**simple("a@x.example"))
    with pytest.raises(ClientError) as exc:
        ses.send_email(**simple("b@x.example", key="k2"))
    assert code_of(exc) == ("TooManyRequestsException", "Daily message quota exceeded.", 429)
    clock.sleep(10)
    ses.send_email(**simple("b@x.example", key="k2"))


def test_timeout_after_accept_records_the_send_then_raises_read_timeout() -> None:
    clock = VirtualClock()
    ses = SesModel(
        clock, rate_per_second=10, faults=Faults(timeout_after_accept_rate=1.0, read_timeout_seconds=5)
    )
    with pytest.raises(ReadTimeoutError):
        ses.send_email(**simple("a@x.example"))
    assert [(s.idempotency_key, s.answered_at) for s in ses.accepted] == [("k1", None)]
    assert clock.elapsed() == pytest.approx(5)


@pytest.mark.parametrize(
    ("faults", "code", "status"),
    [
        (Faults(sending_paused=[(0, 10)]), "SendingPausedException", 400),
        (Faults(account_suspended=[(0, 10)]), "AccountSuspendedException", 400),
        (Faults(rejected_addresses=frozenset({"a@x.example"})), "MessageRejected", 400),
        (Faults(server_error_rate=1.0), "InternalFailure", 500),
        (Faults(throttle_storms=[(0, 10)]), "TooManyRequestsException", 429),
    ],
)
def test_injected_faults_answer_as_sesv2(faults: Faults, code: str, status: int) -> None:
    ses = SesModel(VirtualClock(), rate_per_second=10, faults=faults)
    with pytest.raises(ClientError) as exc:
        ses.send_email(**simple("a@x.example"))
    assert (code_of(exc)[0], code_of(exc)[2]) == (code, status)
    assert ses.accepted == []


def test_requests_are_validated_like_the_real_client_and_ses() -> None:
    ses = SesModel(VirtualClock(), rate_per_second=10, verified_domains={"news.example.at"})
    with pytest.raises(ParamValidationError):
        ses.send_email(**simple("a@x.example", ConfigurationSetName=None))
    with pytest.raises(ClientError) as exc:
        ses.send_email(**simple("a@x.example", key="has space"))
    assert code_of(exc)[0] == "BadRequestException"
    with pytest.raises(ClientError) as exc:
        ses.send_email(**{**simple("a@x.example"), "FromEmailAddress": "x@elsewhere.example"})
    assert code_of(exc)[0] == "MessageRejected"


# -- SQS model and the event source mapping ---------------------------------------------------------
def test_visibility_receive_count_and_redrive_to_the_dlq() -> None:
    clock = VirtualClock()
    sqs = SqsModel(clock)
    dlq = sqs.create_queue("dlq")
    queue = sqs.create_queue("q", visibility_timeout=30, dead_letter_queue=dlq, max_receive_count=2)
    sqs.send_message(QueueUrl=queue.url, MessageBody="hello", DelaySeconds=5)
    assert sqs.receive(queue) == []
    clock.sleep(5)
    first = sqs.receive(queue)
    stale = first[0].receipt_handle
    assert [m.receive_count for m in first] == [1]
    assert sqs.receive(queue) == []  # in flight
    clock.sleep(30)
    handle = sqs.receive(queue)[0].receipt_handle
    sqs.delete_message(QueueUrl=queue.url, ReceiptHandle=stale)  # an older receive's handle: no-op
    assert sqs.stale_deletes == 1
    sqs.change_message_visibility(QueueUrl=queue.url, ReceiptHandle=handle, VisibilityTimeout=0)
    assert sqs.receive(queue) == []  # third receive > maxReceiveCount 2: moved instead
    assert [m.body for m in dlq.messages.values()] == ["hello"]
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=queue.url, MessageBody="x", DelaySeconds=901)


def test_mapping_deletes_all_but_the_failed_records_and_a_crash_deletes_nothing() -> None:
    clock = VirtualClock()
    sqs = SqsModel(clock)
    queue = sqs.create_queue("q", visibility_timeout=60)
    ses = SesModel(clock, rate_per_second=100)
    for i in range(6):
        sqs.send_message(QueueUrl=queue.url, MessageBody=f"m{i}")
    calls: list[list[str]] = []

    def invoke(event: dict[str, Any], invocation: Any) -> dict[str, Any]:
        client = CrashingSes(ses, invocation)
        bodies = [r["body"] for r in event["Records"]]
        calls.append(bodies)
        for body in bodies:
            client.send_email(**simple("a@x.example", key=body))
        fail = [r["messageId"] for r in event["Records"] if r["body"] == "m5"]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in fail]}

    esm = EventSourceMapping(
        clock,
        sqs,
        queue,
        invoke,
        concurrency=1,
        batch_size=3,
        crash_after=CrashOnce(after_seconds=0, after_sends=2),
    )
    esm.start()
    clock.run(until=lambda: esm.deleted >= 5, max_seconds=200)
    clock.raise_errors()
    assert esm.crashes == 1  # died after SES accepted m1: nothing deleted, m0-m2 come back at t=60
    assert calls[:3] == [["m0", "m1", "m2"], ["m3", "m4", "m5"], ["m0", "m1", "m2"]]
    assert esm.deleted == 5
    assert sorted(m.body for m in queue.messages.values()) == ["m5"]  # handed back each time

"""The real sender under fire, in virtual time: nothing lost, nothing sent twice, never over the rate.

One run (module fixture, ~10 s wall, ~2 200 virtual seconds) of ``tests.support.scenarios.fault_fleet``:
10 000 valid messages (+100 enqueued twice by the application, +36 malformed) through 12
concurrent senders running ``functions.sender.handler.handle_batch`` with the in-memory limiter
and idempotency store, against the strict SES model with throttle storms, 5xx, connect timeouts,
read timeouts after SES accepted, a sender crash mid-batch, the daily quota running out and a
SendingPaused episode. ``make bench`` writes the same run's figures to bench-results/faults.json.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.fleet import Ledger, SenderFleet
from tests.support.scenarios import REJECTED, fault_fleet, malformed_messages


@pytest.fixture(scope="module")
def fleet() -> SenderFleet:
    fleet = fault_fleet()
    fleet.run(max_seconds=20_000)
    fleet.clock.raise_errors()
    return fleet


@pytest.fixture(scope="module")
def ledger(fleet: SenderFleet) -> Ledger:
    return fleet.ledger()


def explain(fleet: SenderFleet, keys: list[str]) -> str:
    return "\n\n".join(f"{key}:\n" + "\n".join(fleet.trail(key)) for key in keys[:5])


def test_the_run_drains_every_queue_without_function_errors(fleet: SenderFleet) -> None:
    assert fleet.finished, f"queues left: { {n: len(q) for n, q in fleet.lanes.items()} }"
    for esm in fleet.esms:
        assert esm.function_errors == [], esm.function_errors[:3]
        assert (esm.timeouts, esm.invalid_responses) == (0, 0)
    assert fleet.sqs.stale_deletes == 0
    assert sum(q.redriven for q in fleet.lanes.values()) == 0  # retries never burn the last receive


def test_every_fault_was_exercised(fleet: SenderFleet) -> None:
    outcomes = fleet.ses.outcomes()
    for outcome in ("throttled", "server_error", "timeout_after_accept", "daily_quota", "paused", "rejected"):
        assert outcomes[outcome] > 0, outcome
    assert fleet.ses.connect_timeouts > 0
    assert sum(esm.crashes for esm in fleet.esms) == 1
    assert fleet.log.events["held"] > 0
    assert fleet.log.events["duplicate"] > 0


def test_nothing_is_lost(fleet: SenderFleet, ledger: Ledger) -> None:
    assert ledger.lost == [], explain(fleet, ledger.lost)


def test_nothing_is_sent_twice(fleet: SenderFleet, ledger: Ledger) -> None:
    assert ledger.duplicates == {}, explain(fleet, sorted(ledger.duplicates))


def test_each_message_is_sent_exactly_once_or_dead_lettered_with_a_reason(
    fleet: SenderFleet, ledger: Ledger
) -> None:
    wrong = []
    for key in sorted(ledger.expected):
        sent, reasons = ledger.sent.get(key, 0), set(ledger.dead_letters.get(key, []))
        ok = (sent == 1 and not reasons) or (reasons == {"AMBIGUOUS_OUTCOME"} and sent <= 1)
        ok = ok or (sent == 0 and len(reasons) == 1 and "NO_REASON" not in reasons)
        if not ok:
            wrong.append(key)
    assert wrong == [], explain(fleet, wrong)
    assert ledger.sent_and_dead == [], explain(fleet, ledger.sent_and_dead)


def test_sent_records_carry_the_ses_message_id(fleet: SenderFleet, ledger: Ledger) -> None:
    first_id = {}
    for send in fleet.ses.accepted:
        first_id.setdefault(send.idempotency_key, send.message_id)
    mismatched = []
    for key in ledger.expected:
        if not ledger.sent.get(key) or key in ledger.ambiguous_in_store:
            continue
        record = fleet.store.get(key)
        if record is None or record.state != "SENT" or record.ses_message_id != first_id[key]:
            mismatched.append(key)
    assert mismatched == [], explain(fleet, mismatched)


def test_ambiguous_outcomes_are_counted_and_flagged_in_the_dlq_and_the_store(
    fleet: SenderFleet, ledger: Ledger
) -> None:
    in_dlq = {k for k, reasons in ledger.dead_letters.items() if "AMBIGUOUS_OUTCOME" in reasons}
    assert in_dlq == ledger.ambiguous_in_store
    timed_out = {s.idempotency_key for s in fleet.ses.accepted if s.answered_at is None}
    assert timed_out <= in_dlq
    # the crashed invocation's batch: its last send (accepted, never settled) and the messages it
    # had claimed at booking and was still waiting to send (never reached SES): leases ran out
    crashed = in_dlq - timed_out
    assert 1 <= len(crashed) <= 10  # one batch
    assert all("lease expired" in (fleet.store.get(k).reason or "") for k in crashed)
    accepted = {s.idempotency_key for s in fleet.ses.accepted}
    assert len(crashed & accepted) == 1  # the send SES accepted as the sandbox died


def test_ses_refusals_go_to_the_dlq_once_and_are_not_retried(fleet: SenderFleet, ledger: Ledger) -> None:
    rejected_keys = {a.idempotency_key for a in fleet.ses.attempts if a.outcome == "rejected"}
    assert {k for k, r in ledger.dead_letters.items() if "SES_MESSAGE_REJECTED" in r} == rejected_keys
    assert len(rejected_keys) == len(REJECTED)
    attempts = Counter(a.idempotency_key for a in fleet.ses.attempts if a.idempotency_key in rejected_keys)
    assert set(attempts.values()) == {1}
    assert {fleet.store.get(k).state for k in rejected_keys} == {"FAILED"}


def test_each_malformed_message_is_in_the_dlq_with_its_own_reason_code(fleet: SenderFleet) -> None:
    expected = {body: code for _, body, code in malformed_messages()}
    found: dict[str, list[str | None]] = {}
    for message in fleet.dlq.messages.values():
        if message.body in expected:
            found.setdefault(message.body, []).append(message.attribute("reason_code"))
    assert found == {body: [code] for body, code in expected.items()}
    assert len(expected) >= 30


def test_ses_never_saw_more_recipients_than_the_rate_in_any_second(fleet: SenderFleet) -> None:
    over = fleet.ses.over_rate(fleet.rate_per_second)
    assert over == [], over[:5]

"""Idempotency records: every state transition, as a behaviour suite (``IdempotencyBehaviour``)
run here against the in-memory store and in tests/integration/test_dynamodb_stores.py against
DynamoDB (moto)."""

from __future__ import annotations

import math
from typing import Protocol

import pytest

from functions.sender.idempotency import (
    AMBIGUOUS,
    DEFAULT_TTL_SECONDS,
    FAILED,
    LEASE_EXPIRED,
    RELEASED,
    SENDING,
    SENT,
    IdempotencyRecord,
    InMemoryIdempotencyStore,
)
from functions.sender.ports import Claim, ClaimStatus, IdempotencyStore
from tests.support.threads import run_threads

T0 = 1_700_000_000.25
LEASE = 120.0


class InspectableStore(IdempotencyStore, Protocol):
    def get(self, key: str) -> IdempotencyRecord | None: ...


class IdempotencyBehaviour:
    """Run by a ``Test...`` subclass that provides a ``store`` fixture with the default TTL."""

    def record(self, store: InspectableStore, key: str) -> IdempotencyRecord:
        record = store.get(key)
        assert record is not None
        return record

    # --- claim -----------------------------------------------------------------------------

    def test_a_new_key_is_claimed_with_a_lease(self, store: InspectableStore) -> None:
        assert store.claim("k", T0, LEASE) == Claim(ClaimStatus.NEW)
        record = self.record(store, "k")
        assert (record.state, record.attempts) == (SENDING, 1)
        assert record.lease_until == pytest.approx(T0 + LEASE, abs=1e-3)
        assert record.expires_at == math.ceil(T0) + DEFAULT_TTL_SECONDS

    def test_a_live_lease_answers_in_progress(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        assert store.claim("k", T0 + LEASE - 0.001, LEASE) == Claim(ClaimStatus.IN_PROGRESS)
        assert self.record(store, "k").state == SENDING

    def test_a_lease_expired_while_sending_becomes_ambiguous(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        expected = Claim(ClaimStatus.AMBIGUOUS, reason=LEASE_EXPIRED)
        assert store.claim("k", T0 + LEASE, LEASE) == expected  # lease_until itself is expired
        assert store.claim("k", T0 + 3 * LEASE, LEASE) == expected  # and it stays so
        record = self.record(store, "k")
        assert (record.state, record.reason) == (AMBIGUOUS, LEASE_EXPIRED)

    # --- complete --------------------------------------------------------------------------

    def test_complete_records_the_ses_message_id(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.complete("k", "ses-1", T0 + 1)
        assert store.claim("k", T0 + 2, LEASE) == Claim(ClaimStatus.SENT, ses_message_id="ses-1")
        record = self.record(store, "k")
        assert (record.state, record.ses_message_id, record.lease_until) == (SENT, "ses-1", None)
        assert record.sent_at == pytest.approx(T0 + 1, abs=1e-3)
        assert record.expires_at == math.ceil(T0 + 1) + DEFAULT_TTL_SECONDS

    def test_a_sent_key_answers_sent_even_after_its_lease(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.complete("k", "ses-1", T0 + 1)
        assert store.claim("k", T0 + 10 * LEASE, LEASE).status is ClaimStatus.SENT

    def test_completing_twice_with_the_same_id_changes_nothing(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.complete("k", "ses-1", T0 + 1)
        store.complete("k", "ses-1", T0 + 2)
        record = self.record(store, "k")
        assert (record.ses_message_id, record.duplicate_ses_message_ids) == ("ses-1", frozenset())

    def test_a_second_send_keeps_the_first_id_and_records_the_duplicate(
        self, store: InspectableStore
    ) -> None:
        store.claim("k", T0, LEASE)
        store.complete("k", "ses-1", T0 + 1)
        store.complete("k", "ses-2", T0 + 2)
        record = self.record(store, "k")
        assert (record.state, record.ses_message_id) == (SENT, "ses-1")
        assert record.duplicate_ses_message_ids == frozenset({"ses-2"})

    def test_a_late_complete_resolves_an_ambiguous_record(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        assert store.claim("k", T0 + LEASE + 1, LEASE).status is ClaimStatus.AMBIGUOUS
        store.complete("k", "ses-1", T0 + LEASE + 2)  # the holder was slow, not dead
        assert store.claim("k", T0 + LEASE + 3, LEASE) == Claim(ClaimStatus.SENT, ses_message_id="ses-1")

    def test_complete_never_loses_the_id_of_a_missing_record(self, store: InspectableStore) -> None:
        store.complete("k", "ses-1", T0)
        assert store.claim("k", T0 + 1, LEASE) == Claim(ClaimStatus.SENT, ses_message_id="ses-1")

    # --- release ---------------------------------------------------------------------------

    def test_a_released_key_can_be_claimed_again(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.release("k")
        assert self.record(store, "k").state == RELEASED
        assert self.record(store, "k").lease_until is None
        assert store.claim("k", T0 + 5, LEASE) == Claim(ClaimStatus.NEW)
        record = self.record(store, "k")
        assert (record.state, record.attempts) == (SENDING, 2)
        assert record.lease_until == pytest.approx(T0 + 5 + LEASE, abs=1e-3)
        assert record.expires_at == math.ceil(T0 + 5) + DEFAULT_TTL_SECONDS
        assert store.claim("k", T0 + 6, LEASE).status is ClaimStatus.IN_PROGRESS

    @pytest.mark.parametrize("settle", ["complete", "mark_ambiguous", "mark_failed"])
    def test_release_leaves_a_settled_record_alone(self, store: InspectableStore, settle: str) -> None:
        store.claim("k", T0, LEASE)
        if settle == "complete":
            store.complete("k", "ses-1", T0 + 1)
        else:
            getattr(store, settle)("k", "why", T0 + 1)
        before = self.record(store, "k")
        store.release("k")
        assert self.record(store, "k") == before

    def test_releasing_an_unknown_key_does_nothing(self, store: InspectableStore) -> None:
        store.release("nobody")
        assert store.get("nobody") is None
        assert store.claim("nobody", T0, LEASE).status is ClaimStatus.NEW

    # --- mark_ambiguous / mark_failed ------------------------------------------------------

    def test_mark_ambiguous_blocks_resending(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.mark_ambiguous("k", "read timeout after the request left", T0 + 15)
        expected = Claim(ClaimStatus.AMBIGUOUS, reason="read timeout after the request left")
        assert store.claim("k", T0 + 16, LEASE) == expected
        record = self.record(store, "k")
        assert (record.state, record.lease_until) == (AMBIGUOUS, None)
        assert record.expires_at == math.ceil(T0 + 15) + DEFAULT_TTL_SECONDS

    def test_mark_failed_is_final(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.mark_failed("k", "MESSAGE_REJECTED", T0 + 1)
        assert store.claim("k", T0 + 2, LEASE) == Claim(ClaimStatus.FAILED, reason="MESSAGE_REJECTED")
        assert store.claim("k", T0 + 10 * LEASE, LEASE).status is ClaimStatus.FAILED
        assert self.record(store, "k").state == FAILED

    def test_the_holder_may_turn_an_expired_lease_into_failed(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.claim("k", T0 + LEASE, LEASE)  # -> AMBIGUOUS
        store.mark_failed("k", "MESSAGE_REJECTED", T0 + LEASE + 1)  # the holder knows better
        assert store.claim("k", T0 + LEASE + 2, LEASE).status is ClaimStatus.FAILED

    @pytest.mark.parametrize("mark", ["mark_ambiguous", "mark_failed"])
    def test_nothing_overrides_sent(self, store: InspectableStore, mark: str) -> None:
        store.claim("k", T0, LEASE)
        store.complete("k", "ses-1", T0 + 1)
        getattr(store, mark)("k", "late news", T0 + 2)
        assert store.claim("k", T0 + 3, LEASE) == Claim(ClaimStatus.SENT, ses_message_id="ses-1")

    @pytest.mark.parametrize(
        ("mark", "status"),
        [("mark_ambiguous", ClaimStatus.AMBIGUOUS), ("mark_failed", ClaimStatus.FAILED)],
    )
    def test_marking_a_missing_record_creates_it(
        self, store: InspectableStore, mark: str, status: ClaimStatus
    ) -> None:
        getattr(store, mark)("k", "why", T0)
        assert store.claim("k", T0 + 1, LEASE) == Claim(status, reason="why")

    # --- concurrency -----------------------------------------------------------------------

    def test_concurrent_claims_give_each_key_to_exactly_one_sender(self, store: InspectableStore) -> None:
        keys = [f"key-{i}" for i in range(20)]
        results: list[list[ClaimStatus]] = [[] for _ in range(8)]

        def sender(i: int) -> None:
            for key in keys[i % 2 :] + keys[: i % 2]:  # different orders: real collisions
                results[i].append(store.claim(key, T0, LEASE).status)

        run_threads(8, sender)
        statuses = [status for per_thread in results for status in per_thread]
        assert statuses.count(ClaimStatus.NEW) == len(keys)
        assert statuses.count(ClaimStatus.IN_PROGRESS) == 7 * len(keys)

    def test_concurrent_reclaims_of_a_released_key_give_it_to_one(self, store: InspectableStore) -> None:
        store.claim("k", T0, LEASE)
        store.release("k")
        results: list[ClaimStatus] = []
        run_threads(8, lambda _: results.append(store.claim("k", T0 + 1, LEASE).status))
        assert sorted(s.value for s in results) == ["in_progress"] * 7 + ["new"]

    def test_concurrent_claims_after_an_expired_lease_all_see_ambiguous(
        self, store: InspectableStore
    ) -> None:
        store.claim("k", T0, LEASE)
        results: list[Claim] = []
        run_threads(8, lambda _: results.append(store.claim("k", T0 + LEASE + 1, LEASE)))
        assert results == [Claim(ClaimStatus.AMBIGUOUS, reason=LEASE_EXPIRED)] * 8


class TestInMemoryIdempotencyStore(IdempotencyBehaviour):
    @pytest.fixture
    def store(self) -> InspectableStore:
        return InMemoryIdempotencyStore()


def test_the_ttl_is_configurable() -> None:
    store = InMemoryIdempotencyStore(ttl_seconds=3600)
    store.claim("k", T0, LEASE)
    record = store.get("k")
    assert record is not None
    assert record.expires_at == math.ceil(T0) + 3600

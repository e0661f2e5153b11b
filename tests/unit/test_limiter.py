"""The sliding-window limiter: the pure decision, the in-memory twin, and the behaviour suite
(``LimiterBehaviour``) that tests/integration/test_dynamodb_stores.py runs against DynamoDB too.

Time is always passed in (virtual); nothing here sleeps. Times sit at a realistic epoch so
float rounding at 1.7e9 seconds is exercised.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.common.limiter_item import booked_ahead
from functions.sender.limiter import (
    SKEW_TOLERANCE_MS,
    WINDOW_MS,
    Entry,
    HeartbeatBudget,
    InMemoryLimiter,
    booking_horizon,
    budget_in_force,
    decide,
    decode_log,
    encode_log,
    to_ms,
)
from functions.sender.ports import RateLimiter
from tests.support.threads import run_threads

T0 = 1_700_000_000.0
T0_MS = 1_700_000_000_000


# --- an independent, brute-force oracle ------------------------------------------------------


def violations(grants: Sequence[Entry], budget: float) -> list[tuple[int, int]]:
    """Windows (t - 1 s, t], t at every grant time, holding more than ``budget`` recipients
    from more than one grant (a single oversize grant alone in its window is allowed)."""
    bad = []
    for t, _ in grants:
        inside = [n for u, n in grants if t - WINDOW_MS < u <= t]
        if sum(inside) > budget and len(inside) > 1:
            bad.append((t, sum(inside)))
    return bad


def would_fit(grants: Sequence[Entry], at: int, recipients: int, budget: float) -> bool:
    """Adding (at, recipients) keeps every window that contains ``at`` within the budget, or
    finds it empty (an oversize grant). Only those windows change; others may already be over
    the budget by an oversize grant's debt, which only delays later grants."""
    ends = [at, *(t for t, _ in grants if at < t < at + WINDOW_MS)]
    for end in ends:
        used = sum(n for t, n in grants if end - WINDOW_MS < t <= end)
        if used > 0 and used + recipients > budget:
            return False
    return True


class VirtualClock:
    """Shared by all threads: every call hands out a later time, so arrival order at the limiter
    differs from `now` order exactly as with real concurrent senders."""

    def __init__(self, start: float, step: float) -> None:
        self._lock = threading.Lock()
        self._ms = to_ms(start)
        self._step_ms = to_ms(step)

    def now(self) -> float:
        with self._lock:
            self._ms += self._step_ms
            return self._ms / 1000


# --- the pure decision ------------------------------------------------------------------------


def test_to_ms_rounds_to_the_nearest_millisecond_at_epoch_scale() -> None:
    assert to_ms(T0 + 0.29) == T0_MS + 290  # 0.29 * 1000 is 289.99999999999997 in floats
    assert to_ms(T0 + 0.0004) == T0_MS
    assert to_ms(T0 + 0.0006) == T0_MS + 1


@given(st.integers(min_value=0, max_value=4_000_000_000_000))
def test_millisecond_grid_times_survive_the_float_round_trip(ms: int) -> None:
    assert to_ms(ms / 1000) == ms


def test_an_entry_leaves_the_window_exactly_one_second_later() -> None:
    log = [(T0_MS, 2)]
    assert decide(log, T0_MS + 999, 1, 2).granted is False
    assert decide(log, T0_MS + 999, 1, 2).wait_ms == 1
    assert decide(log, T0_MS + 1000, 1, 2).granted is True


def test_the_budget_fills_exactly() -> None:
    log: tuple[Entry, ...] = ()
    for _ in range(3):
        decision = decide(log, T0_MS, 1, 3)
        assert decision.granted
        log = decision.log
    # A horizon marker first (nothing pruned before now - 2 s), then one merged entry.
    assert log == ((T0_MS - WINDOW_MS - SKEW_TOLERANCE_MS, 0), (T0_MS, 3))
    assert decide(log, T0_MS, 1, 3).granted is False


def test_the_wait_is_until_enough_old_entries_have_left() -> None:
    log = [(T0_MS, 2), (T0_MS + 300, 1), (T0_MS + 600, 2)]
    # 5 used, 3 wanted, budget 5: both the 2 at +0 and the 1 at +300 must leave -> +1300.
    decision = decide(log, T0_MS + 700, 3, 5)
    assert (decision.granted, decision.wait_ms, decision.wait_seconds) == (False, 600, 0.6)
    assert decide(log, T0_MS + 1299, 3, 5).granted is False
    assert decide(log, T0_MS + 1300, 3, 5).granted is True


def test_a_message_larger_than_the_budget_goes_only_into_an_empty_window() -> None:
    assert decide([(T0_MS, 1)], T0_MS + 500, 8, 5).wait_ms == 500
    decision = decide([(T0_MS, 1)], T0_MS + 1000, 8, 5)
    assert decision.granted
    after = decide(decision.log, T0_MS + 1500, 1, 5)
    assert (after.granted, after.wait_ms) == (False, 500)  # the 8 fills its window alone
    # ...and books its excess of 3 in the next window, so only 2 more fit there.
    assert decision.log[-1] == (T0_MS + 2000, 3)
    assert decide(decision.log, T0_MS + 2000, 2, 5).granted
    assert not decide(decision.log, T0_MS + 2000, 3, 5).granted


def test_a_booking_ahead_takes_the_earliest_slot_and_later_callers_fit_around_it() -> None:
    full = [(T0_MS, 5)]
    booked = decide(full, T0_MS + 200, 4, 5, max_wait_ms=1000)
    assert (booked.granted, booked.wait_ms) == (True, 800)  # the 5 leaves at +1000
    # A small message arriving later cannot take the booked room.
    assert not decide(booked.log, T0_MS + 1000, 2, 5).granted
    assert decide(booked.log, T0_MS + 1000, 1, 5).granted
    # Beyond the affordable wait nothing is booked and the log is unchanged.
    refused = decide(full, T0_MS + 200, 4, 5, max_wait_ms=700)
    assert (refused.granted, refused.wait_ms, refused.log) == (False, 800, tuple(full))


def test_an_out_of_order_caller_is_judged_against_later_grants_too() -> None:
    log = [(T0_MS + 500, 2)]  # granted to a sender whose clock runs ahead
    assert decide(log, T0_MS, 1, 2).granted is False  # (t-1, t] for t = +500 holds both
    assert decide(log, T0_MS, 1, 2).wait_ms == 1500  # from +1500 no window holds both
    assert decide(log, T0_MS - 500, 1, 2).granted is True  # ≥ 1 s apart: no common window
    assert decide(log, T0_MS, 8, 5).granted is False  # oversize: the later window is not empty


def test_a_caller_lagging_more_than_the_tolerance_waits_for_its_clock() -> None:
    log = decide([], T0_MS, 1, 100).log  # pruned up to T0 - 2 s from now on
    decision = decide(log, T0_MS - SKEW_TOLERANCE_MS - 40, 1, 100)
    assert (decision.granted, decision.wait_ms) == (False, 40)
    assert decide(log, T0_MS - SKEW_TOLERANCE_MS, 1, 100).granted


def test_the_log_is_pruned_to_what_a_later_caller_can_need() -> None:
    log = [(T0_MS, 1), (T0_MS + 100, 1), (T0_MS + 1200, 1)]
    decision = decide(log, T0_MS + 2100, 1, 10)
    assert decision.log == ((T0_MS + 100, 0), (T0_MS + 1200, 1), (T0_MS + 2100, 1))


def test_no_budget_grants_nothing() -> None:
    assert decide([], T0_MS, 1, 0).granted is False
    assert decide([], T0_MS, 1, 0).wait_ms == WINDOW_MS
    assert decide([], T0_MS, 1, -3).granted is False


def test_a_fractional_budget_compares_exactly() -> None:
    assert decide([(T0_MS, 2)], T0_MS + 1, 1, 3.5).granted
    assert not decide([(T0_MS, 3)], T0_MS + 1, 1, 3.5).granted


def test_a_reservation_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        decide([], T0_MS, 0, 10)


def test_the_log_encodes_as_deltas() -> None:
    log = ((T0_MS, 3), (T0_MS + 12, 1), (T0_MS + 40, 50))
    assert encode_log(log) == f"{T0_MS}:3,12:1,28:50"
    assert decode_log(encode_log(log)) == log
    assert decode_log("") == ()


@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 50))))
def test_the_log_encoding_round_trips(raw: list[Entry]) -> None:
    log = tuple(sorted((T0_MS + t, n) for t, n in raw))
    assert decode_log(encode_log(log)) == log


def test_the_heartbeat_budget_rules_while_valid_and_the_rate_after() -> None:
    assert budget_in_force(30, 45, T0, T0) == 45  # budget_until >= now: inclusive
    assert budget_in_force(30, 5, T0 + 1, T0) == 5  # the heartbeat may also lower it
    # expired: min(budget, rate) for one more second, then the rate
    assert budget_in_force(30, 45, T0 - 0.001, T0) == 30
    assert budget_in_force(30, 5, T0 - 0.001, T0) == 5
    assert budget_in_force(30, 5, T0 - 1, T0) == 5  # + 1 s: inclusive
    assert budget_in_force(30, 5, T0 - 1.001, T0) == 30
    assert budget_in_force(30, 45, T0 - 5, T0) == 30
    assert budget_in_force(30, None, None, T0) == 30
    assert budget_in_force(30, 45, None, T0) == 30


def test_a_grant_is_never_booked_past_the_heartbeat_budget_it_was_decided_under() -> None:
    assert booking_horizon(45, T0 + 0.4, T0) == T0 + 0.4
    limiter = InMemoryLimiter(30, budget_source=lambda: HeartbeatBudget(2, T0 + 0.5))
    assert limiter.reserve(2, T0).granted
    refused = limiter.reserve(1, T0 + 0.1, max_wait_seconds=5)  # the fit, +1 s, is past +0.5
    assert not refused.granted
    # ...and the refusal says to ask again as the next budget takes over, not in a second
    assert refused.wait_seconds == pytest.approx(0.401, abs=0.0015)


def test_nothing_is_booked_ahead_in_the_step_and_the_caller_asks_again_soon() -> None:
    assert booking_horizon(45, T0 - 0.5, T0) == T0
    limiter = InMemoryLimiter(30, budget_source=lambda: HeartbeatBudget(2, T0 - 0.5))
    assert limiter.reserve(2, T0).granted
    refused = limiter.reserve(1, T0 + 0.1, max_wait_seconds=5)
    assert not refused.granted
    assert refused.wait_seconds == pytest.approx(0.1)  # a late heartbeat writes any moment


def test_in_the_fallback_proper_a_slice_books_ahead_under_its_guaranteed_rate() -> None:
    assert booking_horizon(45, T0 - 1.5, T0) is None
    assert booking_horizon(None, None, T0) is None
    limiter = InMemoryLimiter(3, budget_source=lambda: HeartbeatBudget(40, T0 - 1.5))
    assert limiter.reserve(3, T0).granted
    booked = limiter.reserve(2, T0 + 0.1, max_wait_seconds=5)
    assert booked.granted
    assert booked.wait_seconds == pytest.approx(0.9)  # the rate (3/s), not the old budget (40)


def test_a_refusal_beyond_the_wait_offered_keeps_the_earliest_fit() -> None:
    limiter = InMemoryLimiter(30, budget_source=lambda: HeartbeatBudget(2, T0 + 0.5))
    assert limiter.reserve(2, T0).granted
    refused = limiter.reserve(1, T0 + 0.1, max_wait_seconds=0.2)
    assert not refused.granted
    assert refused.wait_seconds == pytest.approx(0.9)  # past what the caller can wait: no hint


def test_booked_ahead_is_the_fullest_window_from_now_on() -> None:
    log = ((T0_MS, 0), (T0_MS + 500, 3), (T0_MS + 1200, 4), (T0_MS + 2100, 5), (T0_MS + 2150, 1))
    assert booked_ahead(log, T0_MS + 1000) == 10  # (1150, 2150]: 4 + 5 + 1
    assert booked_ahead(log, T0_MS + 2100) == 10
    assert booked_ahead(log, T0_MS + 3200) == 0  # everything has left the windows
    assert booked_ahead((), T0_MS) == 0


@given(st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 50)), max_size=40), st.integers(0, 4000))
def test_booked_ahead_matches_a_brute_force_scan(raw: list[Entry], now: int) -> None:
    log = [(T0_MS + t, n) for t, n in raw]
    expected = max(
        (sum(n for t, n in log if end - WINDOW_MS < t <= end) for end in range(T0_MS + now, T0_MS + 5001)),
        default=0,
    )
    assert booked_ahead(log, T0_MS + now) == expected


# --- the property: random sequences, checked by the oracle ------------------------------------

steps = st.lists(
    st.tuples(
        st.integers(0, 400),  # the reference clock advances (ms)
        st.one_of(st.just(0), st.integers(-60, 60), st.integers(-1300, -900)),  # this sender's skew
        st.one_of(st.integers(1, 4), st.integers(1, 25)),  # recipients; budget 1..20: some oversize
    ),
    min_size=1,
    max_size=60,
)


def debts(at: int, recipients: int, budget: int) -> list[Entry]:
    """What an oversize grant books after itself: its excess, ``budget`` per following window."""
    booked, excess, k = [], recipients - budget, 1
    while excess > 0:
        debt = min(excess, max(1, budget))
        booked.append((at + k * WINDOW_MS, debt))
        excess, k = excess - debt, k + 1
    return booked


@settings(max_examples=300, deadline=None)
@given(steps=steps, budget=st.integers(1, 20), max_wait_ms=st.sampled_from([0, 0, 300, 1500]))
def test_no_window_ever_exceeds_the_budget_and_refusals_are_necessary(
    steps: list[tuple[int, int, int]], budget: int, max_wait_ms: int
) -> None:
    limiter = InMemoryLimiter(budget)
    sends: list[Entry] = []  # what reaches SES
    ledger: list[Entry] = []  # sends plus the debts of oversize sends: what the limiter books
    horizon: int | None = None  # entries at or before it may be pruned
    reference = T0_MS
    for advance, skew, recipients in steps:
        reference += advance
        at = reference + skew  # out of order with other senders; now and then far behind
        reservation = limiter.reserve(recipients, at / 1000, max_wait_ms / 1000)
        wait_ms = to_ms(reservation.wait_seconds)
        assert reservation.paused_until is None
        if horizon is not None and at - WINDOW_MS < horizon:  # too far behind: wait for the clock
            assert not reservation.granted
            assert at + wait_ms == horizon + WINDOW_MS
            continue
        slot = at + wait_ms
        if reservation.granted:
            assert wait_ms <= max_wait_ms
            assert would_fit(ledger, slot, recipients, budget)
            assert all(not would_fit(ledger, t, recipients, budget) for t in range(at, slot)), "not earliest"
            sends.append((slot, recipients))
            ledger += [(slot, recipients), *debts(slot, recipients, budget)]
            horizon = max(horizon or -(10**15), at - WINDOW_MS - SKEW_TOLERANCE_MS)
            assert not violations(sends, budget)
            continue
        assert wait_ms > max_wait_ms
        assert would_fit(ledger, slot, recipients, budget), "the wait is too short"
        assert not would_fit(ledger, slot - 1, recipients, budget), "the wait is too long"


@settings(max_examples=100, deadline=None)
@given(sizes=st.lists(st.integers(1, 50), min_size=1, max_size=40), budget=st.integers(1, 30))
def test_a_backlog_of_any_sizes_never_sends_more_than_the_budget_over_time(
    sizes: list[int], budget: int
) -> None:
    """Sent back to back (each booked as soon as it fits), recipients over any span of whole
    seconds stay within budget x span plus one message: oversize messages pay their excess."""
    limiter, now, sends = InMemoryLimiter(budget), T0, []
    for n in sizes:
        reservation = limiter.reserve(n, now, 60)
        assert reservation.granted
        now += reservation.wait_seconds
        sends.append((to_ms(now), n))
    for start, _ in sends:
        for seconds in range(1, 6):
            inside = sum(n for t, n in sends if start <= t < start + seconds * WINDOW_MS)
            assert inside <= budget * seconds + max(sizes)


# --- the behaviour suite, shared with DynamoDB ------------------------------------------------


class LimiterHarness(Protocol):
    def limiter(self, rate_per_second: float) -> RateLimiter:
        """A sender's handle on the slice's limiter (every handle shares the slice's state)."""

    def heartbeat(self, budget: float, until: float) -> None:
        """What the heartbeat writes for the slice."""


class LimiterBehaviour:
    """Run by a ``Test...`` subclass that provides a ``harness`` fixture."""

    stress_calls_per_thread = 400
    stress_step_seconds = 0.0025  # virtual time between two reservations of all senders

    def test_grants_up_to_the_budget_then_says_when_room_appears(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter(3)
        assert all(limiter.reserve(1, T0 + dt).granted for dt in (0.0, 0.2, 0.4))
        refused = limiter.reserve(1, T0 + 0.5)
        assert (refused.granted, refused.paused_until) == (False, None)
        assert refused.wait_seconds == pytest.approx(0.5)
        assert limiter.reserve(1, T0 + 1.0).granted

    def test_the_window_is_half_open(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter(2)
        assert limiter.reserve(2, T0).granted
        refused = limiter.reserve(1, T0 + 0.999)
        assert not refused.granted
        assert refused.wait_seconds == pytest.approx(0.001)
        assert limiter.reserve(2, T0 + 1.0).granted

    def test_recipients_are_what_counts(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter(10)
        assert limiter.reserve(7, T0).granted
        assert not limiter.reserve(4, T0 + 0.1).granted
        assert limiter.reserve(3, T0 + 0.1).granted

    def test_a_message_larger_than_the_budget_waits_for_an_empty_window(
        self, harness: LimiterHarness
    ) -> None:
        limiter = harness.limiter(5)
        assert limiter.reserve(1, T0).granted
        assert limiter.reserve(8, T0 + 0.5).wait_seconds == pytest.approx(0.5)
        assert limiter.reserve(8, T0 + 1.0).granted
        assert limiter.reserve(1, T0 + 1.5).wait_seconds == pytest.approx(0.5)
        assert limiter.reserve(1, T0 + 2.0).granted

    def test_senders_share_the_slice_budget(self, harness: LimiterHarness) -> None:
        first, second = harness.limiter(4), harness.limiter(4)
        assert first.reserve(3, T0).granted
        assert not second.reserve(2, T0 + 0.1).granted
        assert second.reserve(1, T0 + 0.1).granted

    def test_a_pause_holds_everything_until_it_ends(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter(100)
        limiter.pause(T0 + 10, "SendingPaused")
        held = limiter.reserve(1, T0)
        assert (held.granted, held.paused_until) == (False, pytest.approx(T0 + 10))
        assert held.wait_seconds == pytest.approx(10)
        limiter.pause(T0 + 5, "Throttling")  # a shorter pause never shortens one in force
        assert limiter.reserve(1, T0 + 9.999).paused_until == pytest.approx(T0 + 10)
        reopened = limiter.reserve(1, T0 + 10)
        assert (reopened.granted, reopened.paused_until) == (True, None)
        limiter.pause(T0 + 20, "DailyQuotaExceeded")  # a longer one extends it
        assert harness.limiter(100).reserve(1, T0 + 15).paused_until == pytest.approx(T0 + 20)

    def test_the_heartbeat_budget_rules_while_valid(self, harness: LimiterHarness) -> None:
        harness.heartbeat(5, until=T0 + 0.5)
        limiter = harness.limiter(2)
        assert all(limiter.reserve(1, T0 + i * 0.1).granted for i in range(5))  # budget 5 at +0.4
        assert limiter.reserve(1, T0 + 0.5).wait_seconds == pytest.approx(0.5)  # still 5 at +0.5
        # After budget_until the guaranteed rate (2) rules again: 5 in the window, wait for 4 to go.
        assert limiter.reserve(1, T0 + 0.6).wait_seconds == pytest.approx(0.7)

    def test_the_heartbeat_may_lower_the_budget_to_nothing(self, harness: LimiterHarness) -> None:
        harness.heartbeat(0, until=T0 + 1)
        limiter = harness.limiter(30)
        assert not limiter.reserve(1, T0).granted
        assert not limiter.reserve(1, T0 + 1.5).granted  # expired: min(0, 30) for one second
        assert limiter.reserve(1, T0 + 2.001).granted  # then back to the guaranteed 30

    def test_an_expired_heartbeat_falls_back_to_the_rate(self, harness: LimiterHarness) -> None:
        harness.heartbeat(50, until=T0 - 1)
        limiter = harness.limiter(2)
        assert limiter.reserve(2, T0).granted
        assert not limiter.reserve(1, T0).granted

    def test_concurrent_senders_never_exceed_the_budget(self, harness: LimiterHarness) -> None:
        budget, workers, calls, step = 20, 8, self.stress_calls_per_thread, self.stress_step_seconds
        clock = VirtualClock(T0, step=step)
        grants: list[list[Entry]] = [[] for _ in range(workers)]

        def sender(i: int) -> None:
            limiter, rng = harness.limiter(budget), random.Random(i)  # noqa: S311 - seeded test data
            for _ in range(calls):
                recipients, now = rng.randint(1, 5), clock.now()
                if limiter.reserve(recipients, now).granted:
                    grants[i].append((to_ms(now), recipients))

        run_threads(workers, sender)
        granted = sorted(g for per_thread in grants for g in per_thread)
        assert not violations(granted, budget)
        seconds = workers * calls * step
        assert sum(n for _, n in granted) >= 0.6 * budget * (seconds - 1)  # and nobody starves it


class InMemoryHarness:
    def __init__(self) -> None:
        self._heartbeat: HeartbeatBudget | None = None
        self._limiter: InMemoryLimiter | None = None

    def limiter(self, rate_per_second: float) -> RateLimiter:
        if self._limiter is None:
            self._limiter = InMemoryLimiter(rate_per_second, budget_source=lambda: self._heartbeat)
        return self._limiter

    def heartbeat(self, budget: float, until: float) -> None:
        self._heartbeat = HeartbeatBudget(budget, until)


class TestInMemoryLimiter(LimiterBehaviour):
    stress_calls_per_thread = 1000

    @pytest.fixture
    def harness(self) -> LimiterHarness:
        return InMemoryHarness()


def test_the_in_memory_limiter_keeps_a_pruned_log_and_the_pause_reason() -> None:
    limiter = InMemoryLimiter(10)
    for dt in (0.0, 0.5, 2.0, 2.5, 3.2):
        assert limiter.reserve(1, T0 + dt).granted
    assert limiter.log_entries() == (
        (T0_MS + 1200, 0),
        (T0_MS + 2000, 1),
        (T0_MS + 2500, 1),
        (T0_MS + 3200, 1),
    )
    limiter.pause(T0 + 60, "SendingPaused")
    assert limiter.paused_reason == "SendingPaused"


def test_a_negative_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_second"):
        InMemoryLimiter(-1)

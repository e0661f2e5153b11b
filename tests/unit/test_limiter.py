"""The account's send ledger and one slice's limiter over it: the pure booking, the behaviour suite
(``LimiterBehaviour``, run here over the in-memory table and in tests/integration/
test_dynamodb_stores.py against moto), and properties checked by a brute-force oracle.

Time is always passed in (virtual); nothing here sleeps. Times sit at a realistic epoch so float
rounding at 1.7e9 seconds is exercised.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from typing import Protocol

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.common.ledger import (
    CAPS_GRACE_SECONDS,
    GUARD_MS,
    SKEW_MS,
    SLOT_MS,
    TAU_MS,
    WINDOW_MS,
    Booking,
    Entry,
    Ledger,
    book,
    decode_log,
    encode_log,
    slot_start,
    to_ms,
    write_caps,
)
from functions.sender.limiter import THROTTLE_BACKOFF_MS, DynamoDbLimiter
from functions.sender.ports import RateLimiter
from tests.support.clock import ManualClock
from tests.support.ledger_table import LedgerTable
from tests.support.threads import run_threads

T0_MS = 1_700_000_000_000 // SLOT_MS * SLOT_MS  # on the ledger's slot grid
T0 = T0_MS / 1000
W = WINDOW_MS + GUARD_MS  # the window bookings are judged over
TABLE = "state"


def pace_ms(recipients: int, cap: float) -> int:
    """How far ``recipients`` move a pace at ``cap``: caps are scaled to what a slot carries."""
    return math.ceil(recipients * 1000 / (cap * WINDOW_MS / W))


# --- an independent, brute-force oracle ------------------------------------------------------


def violations(sends: Sequence[Entry], capacity: float, window_ms: int = W) -> list[tuple[int, int]]:
    """Windows (t - window, t], t at every send, holding more than ``capacity`` recipients from
    more than one send (SES accepts a lone message larger than the rate into an empty window)."""
    bad = []
    for t, _ in sends:
        inside = [n for u, n in sends if t - window_ms < u <= t]
        if sum(inside) > capacity and len(inside) > 1:
            bad.append((t, sum(inside)))
    return bad


def ledger_of(entries: Sequence[Entry] = (), **numbers: float) -> Ledger:
    item: dict[str, object] = {"log": {"S": encode_log(entries)}} if entries else {}
    item |= {k.replace("__", ":"): {"N": repr(v)} for k, v in numbers.items()}
    return Ledger(item)


def booking(
    ledger: Ledger, recipients: int, *, slice_name: str = "a", rate: float = 100, capacity: float = 100,
    now_ms: int = T0_MS, max_wait_ms: int = 10_000,
) -> Booking:  # fmt: skip
    return book(
        ledger, slice_name, recipients, now_ms=now_ms, earliest_ms=now_ms, max_wait_ms=max_wait_ms,
        rate_per_second=rate, default_capacity=capacity,
    )  # fmt: skip


# --- the pure booking ----------------------------------------------------------------------------


def test_to_ms_rounds_to_the_nearest_millisecond_at_epoch_scale() -> None:
    assert to_ms(T0 + 0.0004) == T0_MS
    assert to_ms(T0 + 0.0006) == T0_MS + 1


def test_the_account_capacity_fills_exactly_then_the_next_slot_is_when_room_appears() -> None:
    first = booking(ledger_of(), 60, capacity=100)
    assert (first.granted, first.at_ms) == (True, T0_MS)
    second = booking(ledger_of([(T0_MS, 60)]), 40, capacity=100)
    assert second.at_ms == T0_MS  # 60 + 40 = 100 fits
    third = booking(ledger_of([(T0_MS, 60), (T0_MS, 40)]), 1, capacity=100)
    assert third.at_ms == T0_MS + W  # the guard: a window of a second and GUARD_MS


def test_with_the_quota_known_a_slot_holds_a_slots_worth_of_the_capacity_never_more_than_the_quota() -> None:
    # headroom 0.95 of a 60/s quota: 57/s is handed out, so a slot (every SLOT_MS) holds
    # 57 x SLOT_MS / WINDOW_MS recipients; the guard between slots is paid out of the headroom
    heartbeat = ledger_of(capacity=57, quota=60)
    assert heartbeat.slot_capacity(100) == pytest.approx(57 * SLOT_MS / WINDOW_MS)
    full = [(T0_MS, math.floor(57 * SLOT_MS / WINDOW_MS))]
    assert booking(ledger_of(full, capacity=57, quota=60), 1, capacity=100).at_ms == T0_MS + W
    assert booking(ledger_of(full[:0], capacity=57, quota=60), 59, capacity=100).at_ms == T0_MS
    # headroom 1.0: the slot is bounded by the quota (each window of arrivals meets one slot)
    assert ledger_of(capacity=60, quota=60).slot_capacity(100) == 60
    # the quota not written yet (no heartbeat): the slot holds the capacity, as before
    assert ledger_of(capacity=57).slot_capacity(100) == 57
    assert Ledger({}).slot_capacity(30) == 30


@settings(max_examples=60, deadline=None)
@given(
    quota=st.integers(min_value=1, max_value=500),
    headroom=st.floats(min_value=0.05, max_value=1.0),
    sizes=st.lists(st.integers(min_value=1, max_value=50), min_size=30, max_size=120),
)
def test_slots_carry_the_capacity_per_second_and_no_slot_holds_more_than_the_quota(
    quota: int, headroom: float, sizes: list[int]
) -> None:
    capacity = quota * headroom
    entries: list[Entry] = []
    paced = 0  # recipients charged to the pace (room borrowed next to now is not)
    ledger = ledger_of(capacity=capacity, quota=quota)
    for n in sizes:  # one slice with all the capacity, booking as far ahead as it likes
        b = booking(ledger, n, rate=capacity, capacity=quota, max_wait_ms=10**9)
        assert b.granted
        assert b.updates is not None
        entries.append((b.at_ms, n))
        paced += n if b.charges else 0
        ledger = Ledger({**ledger.item, **b.updates})
    per_slot: dict[int, int] = {}
    for t, n in entries:
        per_slot[t] = per_slot.get(t, 0) + n
    for t, n in per_slot.items():  # a message larger than the quota only alone
        assert n <= quota or any(u == t and m == n for u, m in entries)
    # what the slots carry: the capacity per second, or the quota per slot when that is less;
    # the pace keeps the slice at that average (one slot of burst, and the last message's debt)
    carried = min(capacity, quota * WINDOW_MS / SLOT_MS)
    span_s = (max(per_slot) - T0_MS) / 1000 + SLOT_MS / 1000
    assert paced <= carried * span_s + carried * TAU_MS / 1000 + max(sizes) + 1e-6


def heartbeat_ledger(
    caps: dict[str, float], booked: dict[str, list[Entry]] | None = None, **numbers: float
) -> Ledger:
    """A ledger as the heartbeat leaves it (caps in force, capacity 57 of a quota of 60), with
    each slice's own bookings (``booked:<slice>``) and the account's log their sum."""
    booked = booked or {}
    entries = sorted(e for own in booked.values() for e in own)
    item = dict(ledger_of(entries, capacity=57, quota=60, caps_until=T0 + 60, **numbers).item)
    item |= {f"cap:{n}": {"N": repr(c)} for n, c in caps.items()}
    item |= {f"booked:{n}": {"S": encode_log(sorted(own))} for n, own in booked.items()}
    return Ledger(item)


def test_a_slices_share_of_each_slot_is_held_for_it_beyond_the_first_slot_a_sender_can_reach() -> None:
    # gold and silver split 57/s 30 : 27; a slot holds 57 x 1.05 = 59.85, gold's share 31.5.
    # Silver's pace is 3 slots ahead (it books deep); gold's is at now.
    caps = {"gold": 30, "silver": 27}
    deep = T0_MS + 3 * W
    # (a second of the capacity booked beyond: nothing is borrowed next to now)
    booked = [(deep, 20), (deep + 3 * W, 57)]
    silver = heartbeat_ledger(caps, {"silver": booked}, tat__silver=deep + TAU_MS)
    second = booking(silver, 20, slice_name="silver", rate=27, capacity=57)
    assert second.at_ms == deep + W  # 40 + gold's 31 held > 59.85: the next slot
    gold = booking(silver, 30, slice_name="gold", rate=30, capacity=57)
    assert gold.at_ms == T0_MS  # the first slot: open to all
    gold_deep = book(
        silver, "gold", 30, now_ms=T0_MS, earliest_ms=deep - W, max_wait_ms=10_000,
        rate_per_second=30, default_capacity=57,
    )  # fmt: skip
    assert gold_deep.at_ms == deep - W
    assert gold_deep.updates is not None
    assert decode_log(gold_deep.updates["booked:gold"]["S"])[1:] == ((deep - W, 30),)
    assert booking(silver, 20, slice_name="silver", rate=27, capacity=57).updates is not None
    # the first slot a sender can reach is open to all: a share nobody came for is not lost
    near = heartbeat_ledger(caps, {"silver": [(T0_MS, 20)]})
    assert booking(near, 20, slice_name="silver", rate=27, capacity=57).at_ms == T0_MS
    # the one after is not, neither for a booking at the pace nor for idle room borrowed
    second_slot = heartbeat_ledger(caps, {"silver": [(T0_MS, 59), (T0_MS + W, 20)]})
    assert booking(second_slot, 20, slice_name="silver", rate=27, capacity=57).at_ms == T0_MS + 2 * W
    # without the heartbeat's caps there are no shares: first come, first served
    plain = ledger_of(booked, tat__silver=deep + TAU_MS)
    assert booking(plain, 20, slice_name="silver", rate=27, capacity=57).at_ms == deep


def test_a_slice_paying_for_a_large_message_holds_no_share_before_its_pace_allows() -> None:
    caps = {"gold": 30, "silver": 27}
    deep = T0_MS + 3 * W
    paying = heartbeat_ledger(
        caps, {"silver": [(deep, 20), (deep + 3 * W, 57)]}, tat__silver=deep + TAU_MS, tat__gold=deep + 5 * W
    )
    second = booking(paying, 20, slice_name="silver", rate=27, capacity=57)
    assert second.at_ms == deep  # gold cannot book there yet: its share is the others' to use


def test_a_message_larger_than_its_slices_share_is_scheduled_first_come_not_starved() -> None:
    caps = {"gold": 30, "silver": 22, "bronze": 5}  # bronze's share of a slot: 5.25
    deep = T0_MS + 3 * W
    busy = heartbeat_ledger(
        caps, {"gold": [(deep, 10), (deep + 3 * W, 57)], "silver": [(deep, 5)]}, tat__bronze=deep + TAU_MS
    )
    big = booking(busy, 40, slice_name="bronze", rate=5, capacity=57)
    assert big.at_ms == deep  # 15 + 40 <= 59.85: it fits the slot, whatever the shares hold
    assert big.updates is not None
    assert big.updates["tat:bronze"] == {"N": str(deep + TAU_MS + math.ceil(40 * 1000 / 5))}


def test_a_message_larger_than_the_capacity_goes_alone_into_an_empty_window() -> None:
    ledger = ledger_of([(T0_MS, 1)])
    big = booking(ledger, 50, capacity=14, rate=14)
    assert big.at_ms == T0_MS + W  # after the 1-recipient send has left every window it shares


def test_a_message_larger_than_a_slot_is_paid_for_by_the_slots_after_it() -> None:
    # 18 mails of 50 at 30/s: each goes alone into its slot, and what it holds beyond 30 is debt
    # the next slots pay, so the 900 recipients take 30 slots (the rate is a sustained limit),
    # not 18 (50 a slot: 1.6 x the rate) and not 36 (one every second slot: 25/s)
    ledger, slots = ledger_of(), []
    for _ in range(18):
        grant = booking(ledger, 50, rate=1000, capacity=30, max_wait_ms=120_000)
        assert grant.granted
        assert grant.updates is not None
        slots.append(grant.at_ms)
        ledger = Ledger({**ledger.item, **grant.updates})
    assert (slots[-1] - slots[0]) // W + 1 in (29, 30)
    assert all(b > a for a, b in itertools.pairwise(slots))  # one message a slot
    for i, first in enumerate(slots):  # over any run of slots: 30 a slot, plus one message
        for last in slots[i:]:
            sent = 50 * sum(1 for t in slots if first <= t <= last)
            assert sent <= 30 * ((last - first) // W + 1) + 50


def test_a_large_message_does_not_go_where_its_debt_would_overfill_a_booked_slot() -> None:
    ledger = ledger_of([(T0_MS + W, 30)])  # the next slot is full
    big = booking(ledger, 50, rate=1000, capacity=30)
    assert big.at_ms == T0_MS + 2 * W  # at T0 its 20 of debt would land on the full slot
    small = booking(ledger, 30, rate=1000, capacity=30)
    assert small.at_ms == T0_MS


def test_a_slices_cap_paces_it_and_a_message_larger_than_the_cap_is_scheduled_not_refused() -> None:
    # cap 5/s in an account of 50/s: 50 recipients fit the account's slot and move the slice's
    # pace 10 s on
    first = booking(ledger_of(), 50, rate=5, capacity=50)
    assert (first.granted, first.at_ms) == (True, T0_MS)
    # 50 recipients at 5/s, the pace scaled to what a slot carries (a second's worth per SLOT_MS)
    assert first.updates["tat:a"] == {"N": str(T0_MS + pace_ms(50, 5))}
    # others have booked a second ahead (so idle room is not borrowed past the pace)
    entries = sorted([*decode_log(first.updates["log"]["S"]), (T0_MS + 3 * W, 50)])
    ahead = Ledger({**first.updates, "log": {"S": encode_log(entries)}})
    nxt = booking(ahead, 1, rate=5, capacity=50, max_wait_ms=60_000)
    # the first slot after the pace less one slot of burst tolerance
    assert nxt.at_ms == slot_start(T0_MS + pace_ms(50, 5) - TAU_MS)


def test_room_nobody_booked_is_borrowed_now_without_moving_the_pace() -> None:
    ahead = ledger_of(tat__a=T0_MS + 10_000)  # the slice is 10 s ahead of its pace
    now = booking(ahead, 5, rate=5, capacity=57)
    assert (now.granted, now.at_ms, now.charges) == (True, T0_MS, {})
    assert "tat:a" not in now.updates


def test_a_pace_still_owed_is_rescaled_when_the_heartbeat_changes_the_cap() -> None:
    # 50 recipients at 5/s were charged (10 s); the next tick raises the cap to 50/s: 1 s is owed
    owed = ledger_of(
        [(T0_MS - 5000, 50), (T0_MS + 3 * W, 60)],  # booked ahead: no idle room is borrowed
        tat__a=T0_MS + 10_000, pace_cap__a=5.0, caps_until=T0 + 1, cap__a=50.0,
    )  # fmt: skip
    nxt = booking(owed, 1, rate=5, capacity=60, max_wait_ms=60_000)
    assert nxt.at_ms == T0_MS  # within the one second of burst tolerance: 10 s became 1 s


def test_other_slices_fit_around_a_large_booking_and_never_crowd_it_out() -> None:
    big = booking(ledger_of(), 50, slice_name="c", rate=5, capacity=57)
    ledger = Ledger(dict(big.updates))
    small = booking(ledger, 10, slice_name="a", rate=20, capacity=57)
    assert small.at_ms == T0_MS + W  # 50 + 10 > 57: after the large one's windows
    fits = booking(ledger, 7, slice_name="a", rate=20, capacity=57)
    assert fits.at_ms == T0_MS


def test_the_heartbeats_cap_rules_while_fresh_then_the_guaranteed_rate() -> None:
    fresh = ledger_of(caps_until=T0, cap__a=40.0, capacity=57.0)
    assert fresh.cap("a", 5, T0 + CAPS_GRACE_SECONDS) == 40
    # the heartbeat away: its last caps hold until the next land, never below the guaranteed rate
    assert fresh.cap("a", 5, T0 + CAPS_GRACE_SECONDS + 600) == 40
    assert fresh.cap("a", 50, T0 + CAPS_GRACE_SECONDS + 0.001) == 50
    assert fresh.cap("a", 50, T0 + CAPS_GRACE_SECONDS) == 40
    assert fresh.capacity(100) == 57
    assert ledger_of().cap("a", 5, T0) == 5
    assert ledger_of().capacity(100) == 100


def test_a_cap_of_zero_books_only_idle_room_and_otherwise_says_to_ask_at_the_next_tick() -> None:
    busy = [(T0_MS, 100), (T0_MS + W, 100)]  # the next slot and the one after: no idle room now
    refused = booking(ledger_of(busy, caps_until=T0 + 0.4, cap__a=0.0), 1)
    assert (refused.granted, refused.wait_ms) == (False, 401)
    idle = booking(ledger_of(caps_until=T0 + 0.4, cap__a=0.0), 1)
    assert (idle.granted, idle.at_ms, idle.charges) == (True, T0_MS, {})  # borrowed, no pace


def test_a_refusal_beyond_the_wait_offered_names_the_earliest_fit() -> None:
    full = ledger_of([(T0_MS, 100)])
    refused = booking(full, 1, max_wait_ms=500)
    assert (refused.granted, refused.wait_ms) == (False, W)


def test_a_caller_lagging_past_the_pruned_log_waits_for_its_clock() -> None:
    ledger = ledger_of([(T0_MS, 0), (T0_MS + 2500, 5)])  # entries up to T0_MS were pruned
    refused = booking(ledger, 1, now_ms=T0_MS + 500)
    assert (refused.granted, refused.wait_ms) == (False, W - 500)


def test_the_log_is_pruned_to_what_a_lagging_caller_can_need() -> None:
    ledger = ledger_of([(T0_MS, 1), (T0_MS + 3 * W, 1)])
    granted = booking(ledger, 1, now_ms=T0_MS + 4 * W)
    log = decode_log(granted.updates["log"]["S"])
    assert log[0] == (T0_MS + 4 * W - W - SKEW_MS, 0)
    assert log[1:] == ((T0_MS + 3 * W, 1), (T0_MS + 4 * W, 1))


def test_a_reservation_needs_a_recipient() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        booking(ledger_of(), 0)


@given(st.lists(st.tuples(st.integers(0, 10**13), st.integers(0, 50)), max_size=30))
def test_the_log_encoding_round_trips(raw: list[Entry]) -> None:
    entries = sorted(raw)
    assert decode_log(encode_log(entries)) == tuple(entries)


# --- properties over many slices -------------------------------------------------------------

sizes = st.one_of(st.integers(1, 5), st.integers(1, 50))  # heavy tail: mostly small, up to 50


@st.composite
def traffic(draw: st.DrawFn) -> tuple[float, list[float], list[tuple[int, int, int, int]]]:
    capacity = draw(st.sampled_from([14.0, 30.0, 57.0, 100.0, 1000.0]))
    n = draw(st.integers(1, 4))
    caps = [draw(st.floats(0.5, capacity, allow_nan=False)) for _ in range(n)]
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, n - 1), sizes, st.integers(0, 400), st.integers(0, 8000)),
            min_size=1,
            max_size=60,
        )
    )
    return capacity, caps, steps


@settings(max_examples=200, deadline=None)
@given(traffic(), st.booleans())
@example((57.0, [20.0, 10.0, 5.0], [(i % 3, 50, 10, 5000) for i in range(30)]), True)  # all 50s
@example((57.0, [20.0, 10.0, 5.0], [(i % 3, 50, 10, 5000) for i in range(30)]), False)
def test_no_window_of_the_account_is_ever_overbooked_and_every_wait_long_enough_is_granted(
    world: tuple[float, list[float], list[tuple[int, int, int, int]]], heartbeat: bool
) -> None:
    capacity, caps, steps = world
    table = LedgerTable()
    if heartbeat:  # the caps in force give every slice its share of each slot
        names = {f"s{i}": cap for i, cap in enumerate(caps)}
        write_caps(table, TABLE, names, capacity=capacity, until=T0 + 3600, quota=capacity, rates=names)  # type: ignore[arg-type]
    limiters = [
        DynamoDbLimiter(table, TABLE, f"s{i}", cap, account_rate_per_second=capacity)
        for i, cap in enumerate(caps)
    ]
    now, sends = T0, []
    for slice_index, recipients, advance_ms, max_wait_ms in steps:
        now += advance_ms / 1000
        grant = limiters[slice_index].reserve(recipients, now, max_wait_ms / 1000)
        if grant.granted:
            assert grant.at is not None
            assert to_ms(now) <= to_ms(grant.at) <= to_ms(now) + max_wait_ms
            sends.append((to_ms(grant.at), recipients))
        else:  # refused only when the earliest fit lies beyond the wait offered
            assert now + grant.wait_seconds > now + max_wait_ms / 1000
    assert not violations(sorted(sends), capacity)
    # liveness: a caller willing to wait as long as everything booked takes gets a slot
    booked = sum(n for t, n in sends if t > to_ms(now) - W)
    patient = limiters[0].reserve(
        50, now, (booked + 50) / min(capacity, caps[0]) + 2 * W / 1000 + TAU_MS / 1000
    )
    assert patient.granted


@settings(max_examples=100, deadline=None)
@given(st.lists(sizes, min_size=20, max_size=80), st.floats(1, 60))
def test_a_slice_with_backlog_sends_at_its_cap_on_average_whatever_its_message_sizes(
    messages: list[int], cap: float
) -> None:
    table = LedgerTable()  # an account no larger than the cap
    limiter = DynamoDbLimiter(table, TABLE, "a", cap, account_rate_per_second=cap)
    now, sends = T0, []
    for n in messages:  # one sender: book, sleep to the slot, book again
        grant = limiter.reserve(n, now, 3600)
        assert grant.granted
        assert grant.at is not None
        now = grant.at
        sends.append((to_ms(now), n))
    span = (sends[-1][0] - sends[0][0]) / 1000
    sent_before_last = sum(n for _, n in sends[:-1])
    # at most a slot's capacity (= the cap) a slot, plus the messages larger than it, each alone
    # in its slot (room in the slot after a lone oversize message is borrowed: nobody wants it)
    assert sent_before_last <= cap * (span / (W / 1000) + 1) + sum(n for n in messages if n > cap)
    # and no window goes underused by more than the next message needed (the packing bound: a
    # message waits only while the windows it would join hold more than cap - its size)
    windows = (span - W / 1000) / (W / 1000)
    assert sent_before_last + sends[-1][1] >= max(cap - max(messages), 0) * windows - 1e-6


# --- the behaviour suite, shared with DynamoDB ------------------------------------------------


class LimiterHarness(Protocol):
    def limiter(self, slice_name: str, rate_per_second: float, account_rate: float = 100) -> RateLimiter:
        """A sender's handle on the account's ledger (every handle shares it)."""

    def heartbeat(self, caps: dict[str, float], capacity: float, until: float) -> None:
        """What the heartbeat writes."""


class LimiterBehaviour:
    """Run by a ``Test...`` subclass that provides a ``harness`` fixture."""

    stress_calls_per_thread = 400
    stress_step_seconds = 0.0025  # virtual time between two reservations of all senders

    def test_slices_share_the_accounts_capacity(self, harness: LimiterHarness) -> None:
        a, b = harness.limiter("a", 10, 12), harness.limiter("b", 10, 12)
        assert a.reserve(8, T0).granted
        refused = b.reserve(5, T0)  # 8 + 5 > 12: not in this slot; the next is a slot away
        assert (refused.granted, refused.paused_until) == (False, None)
        assert refused.wait_seconds == pytest.approx(W / 1000)
        shared = b.reserve(4, T0)
        assert (shared.granted, shared.at) == (True, pytest.approx(T0, abs=1e-3))

    def test_a_booking_ahead_is_a_slot_to_sleep_until(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter("a", 100, 10)
        assert limiter.reserve(10, T0).granted
        ahead = limiter.reserve(10, T0 + 0.5, 2.0)
        assert (ahead.granted, ahead.at) == (True, pytest.approx(T0 + W / 1000, abs=1e-3))
        assert ahead.wait_seconds == pytest.approx(W / 1000 - 0.5)

    def test_earliest_keeps_the_slot_clear_of_the_reservations_own_round_trips(
        self, harness: LimiterHarness
    ) -> None:
        # sends leave at slots: the first one at or after `earliest`
        grant = harness.limiter("a", 100).reserve(1, T0, 2.0, earliest=T0 + 0.05)
        assert grant.at == pytest.approx(T0 + W / 1000, abs=1e-3)

    def test_a_given_back_grant_returns_its_pace_but_not_the_room_ses_saw(
        self, harness: LimiterHarness
    ) -> None:
        slow, other = harness.limiter("a", 1, 10), harness.limiter("b", 10, 10)
        grant = slow.reserve(5, T0)  # 5 s of its pace at 1/s
        assert grant.granted
        slow.release(grant, T0 + 0.01)  # SES did not accept it (a 5xx)
        assert not other.reserve(6, T0).granted  # the attempt's slot stays as SES saw it
        again = slow.reserve(5, T0 + 0.5, 1.0)
        assert (again.granted, again.at) == (True, pytest.approx(T0 + W / 1000, abs=1e-3))  # pace given back

    def test_after_a_throttle_the_slice_holds_off_briefly(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter("a", 10, 100)
        grant = limiter.reserve(10, T0)
        late = T0 + W / 1000 - 0.1  # the 429 comes back just before the next slot
        limiter.release(grant, late, throttled=True)
        probe = limiter.reserve(1, late, 5.0)
        assert probe.at == pytest.approx(T0 + 2 * W / 1000, abs=1e-3)  # not the next slot: held off past it
        assert late + THROTTLE_BACKOFF_MS / 1000 > T0 + W / 1000
        other = harness.limiter("b", 10, 100).reserve(10, late, 1.0)  # other slices go on
        assert other.at == pytest.approx(T0 + W / 1000, abs=1e-3)

    def test_a_pause_holds_the_slice_until_it_ends(self, harness: LimiterHarness) -> None:
        limiter = harness.limiter("a", 100)
        limiter.pause(T0 + 10, "SendingPaused")
        held = limiter.reserve(1, T0)
        assert (held.granted, held.paused_until) == (False, pytest.approx(T0 + 10, abs=1e-3))
        assert held.wait_seconds == pytest.approx(10)
        limiter.pause(T0 + 5, "Throttling")  # a shorter pause never shortens one in force
        assert limiter.reserve(1, T0 + 9.999).paused_until == pytest.approx(T0 + 10, abs=1e-3)
        assert harness.limiter("b", 100).reserve(1, T0).granted  # other slices go on
        reopened = limiter.reserve(1, T0 + 10, 2.0)
        assert (reopened.granted, reopened.paused_until) == (True, None)
        limiter.pause(T0 + 20, "DailyQuotaExceeded")  # a longer one extends it
        assert harness.limiter("a", 100).reserve(1, T0 + 15).paused_until == pytest.approx(T0 + 20, abs=1e-3)

    def test_the_heartbeats_caps_and_capacity_rule_while_fresh(self, harness: LimiterHarness) -> None:
        harness.heartbeat({"a": 2, "b": 3}, capacity=5, until=T0 + 1)
        a = harness.limiter("a", 50, 1000)
        assert a.reserve(2, T0).granted
        assert a.reserve(2, T0, 5.0).at == pytest.approx(T0, abs=1e-3)  # burst tolerance: one slot of cap
        paced = a.reserve(2, T0, 5.0)
        assert paced.at == pytest.approx(T0 + W / 1000, abs=1e-3)  # then 2 a slot
        assert not harness.limiter("b", 50, 1000).reserve(3, T0).granted  # capacity 5 is full
        # the heartbeat stopped: its caps hold, raised to the guaranteed rate; its capacity holds
        late = T0 + 1 + CAPS_GRACE_SECONDS + 1
        big = harness.limiter("b", 50, 1000).reserve(40, late, 2.0)
        assert big.granted  # larger than the capacity: alone in an empty slot

    def test_concurrent_senders_of_several_slices_never_overbook_the_account(
        self, harness: LimiterHarness
    ) -> None:
        capacity, workers, calls, step = 20, 8, self.stress_calls_per_thread, self.stress_step_seconds
        clock = ManualClock(T0, tick=step)  # shared: each call hands out a later time, so arrival
        # order at the ledger differs from `now` order exactly as with real concurrent senders
        grants: list[list[Entry]] = [[] for _ in range(workers)]

        def sender(i: int) -> None:
            limiter, rng = harness.limiter(f"s{i % 3}", 10, capacity), random.Random(i)  # noqa: S311
            for _ in range(calls):
                recipients, now = rng.randint(1, 5), clock.now()
                grant = limiter.reserve(recipients, now, 2.0)
                if grant.granted and grant.at is not None:
                    grants[i].append((to_ms(grant.at), recipients))

        run_threads(workers, sender)
        granted = sorted(g for per_thread in grants for g in per_thread)
        assert not violations(granted, capacity)
        seconds = workers * calls * step
        assert sum(n for _, n in granted) >= 0.6 * capacity * (seconds - 1)  # and nobody starves it


class TableHarness:
    def __init__(self, client: object) -> None:
        self.client = client

    def limiter(self, slice_name: str, rate_per_second: float, account_rate: float = 100) -> RateLimiter:
        return DynamoDbLimiter(
            self.client, TABLE, slice_name, rate_per_second, account_rate_per_second=account_rate
        )  # type: ignore[arg-type]

    def heartbeat(self, caps: dict[str, float], capacity: float, until: float) -> None:
        write_caps(self.client, TABLE, caps, capacity=capacity, until=until)  # type: ignore[arg-type]


class TestLimiterOnTheInMemoryTable(LimiterBehaviour):
    stress_calls_per_thread = 1000

    @pytest.fixture
    def harness(self) -> LimiterHarness:
        return TableHarness(LedgerTable())


def test_invalid_rates_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_second"):
        DynamoDbLimiter(LedgerTable(), TABLE, "a", -1, account_rate_per_second=10)
    with pytest.raises(ValueError, match="account_rate_per_second"):
        DynamoDbLimiter(LedgerTable(), TABLE, "a", 1, account_rate_per_second=float("nan"))


def test_a_batch_is_booked_with_one_write_each_message_in_the_first_slot_with_room() -> None:
    table = LedgerTable()
    limiter = DynamoDbLimiter(table, TABLE, "a", 100, account_rate_per_second=10)
    grants = limiter.reserve_many([4, 4, 4, 1], T0, 5.0)
    assert table.writes == 1
    assert [g.granted for g in grants] == [True, True, True, True]
    # 4 + 4 fill the first slot to 8: the third 4 goes a slot on, the last 1 still fits the first
    assert [g.at for g in grants] == pytest.approx([T0, T0, T0 + W / 1000, T0], abs=1e-3)


def test_a_batch_is_granted_up_to_the_first_message_that_does_not_fit_the_wait() -> None:
    limiter = DynamoDbLimiter(LedgerTable(), TABLE, "a", 100, account_rate_per_second=10)
    grants = limiter.reserve_many([10, 10, 1], T0, 0.5)
    assert [g.granted for g in grants] == [True, False, False]
    assert grants[1].wait_seconds == pytest.approx(W / 1000)


def test_a_missed_slot_is_taken_back_with_the_next_booking_room_and_pace_both() -> None:
    # A slot that passed unsent (nothing reached SES) must not keep its window's room nor the
    # slice's pace: the next booking of the batch frees both in the same write.
    table = LedgerTable()
    limiter = DynamoDbLimiter(table, TABLE, "a", 10, account_rate_per_second=10)
    (missed,) = limiter.reserve_many([10], T0, 5.0)
    assert missed.granted
    assert missed.at == pytest.approx(T0, abs=1e-3)
    other = DynamoDbLimiter(table, TABLE, "b", 10, account_rate_per_second=10)
    (blocked,) = other.reserve_many([10], T0, 5.0)
    assert blocked.granted
    assert blocked.at == pytest.approx(T0 + W / 1000, abs=1e-3)  # the missed slot holds the room
    other.reserve_many([], T0, returning=[blocked])
    writes = table.writes
    (again,) = limiter.reserve_many([10], T0, 5.0, returning=[missed])
    assert table.writes == writes + 1
    assert again.granted
    assert again.at == pytest.approx(T0, abs=1e-3)  # the missed slot's room is free again
    log = Ledger(table.items["ledger"]).log
    assert sum(n for _, n in log) == 10  # only the new booking is in the log
    assert sum(n for _, n in Ledger(table.items["ledger"]).booked("a")) == 10  # and in the slice's own


def test_taking_back_alone_writes_only_the_refund() -> None:
    table = LedgerTable()
    limiter = DynamoDbLimiter(table, TABLE, "a", 5, account_rate_per_second=50)
    grants = limiter.reserve_many([5, 5], T0, 5.0)
    tat_before = Ledger(table.items["ledger"]).number("tat", "a")
    assert limiter.reserve_many([], T0 + 0.01, returning=grants) == []
    ledger = Ledger(table.items["ledger"])
    assert sum(n for _, n in ledger.log) == 0
    assert tat_before is not None
    # each message gives its charge back (5 recipients at 5/s), down to now at the least
    charged = sum(sum(g.charges.values()) for g in grants)
    assert charged == 2 * pace_ms(5, 5)
    assert ledger.number("tat", "a") == pytest.approx(max(tat_before - charged, T0_MS + 10), abs=1)


@given(
    sizes=st.lists(st.integers(1, 50), min_size=1, max_size=10),
    returned=st.sets(st.integers(0, 9)),
    capacity=st.sampled_from([7.0, 30.0, 57.0]),
)
@settings(max_examples=150, deadline=None)
def test_taking_back_leaves_exactly_the_bookings_that_were_kept(
    sizes: list[int], returned: set[int], capacity: float
) -> None:
    table = LedgerTable()
    limiter = DynamoDbLimiter(table, TABLE, "a", capacity, account_rate_per_second=capacity)
    grants = [g for g in limiter.reserve_many(sizes, T0, 60.0) if g.granted]
    back = [g for i, g in enumerate(grants) if i in returned]
    limiter.reserve_many([], T0, returning=back)
    kept = sorted((to_ms(g.at or 0), g.recipients) for i, g in enumerate(grants) if i not in returned)
    merged: dict[int, int] = {}
    for t, n in kept:
        merged[t] = merged.get(t, 0) + n
    assert [e for e in Ledger(table.items["ledger"]).log if e[1] > 0] == sorted(merged.items())
    assert not violations(list(Ledger(table.items["ledger"]).log), capacity)

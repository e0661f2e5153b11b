"""The heartbeat's allocation rule: examples and properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.heartbeat.allocator import SliceState, allocate, target

EPS = 1e-6


def s(name: str, g: float, backlog: float) -> SliceState:
    return SliceState(name, g, backlog)


def test_the_example_from_the_issue_twenty_here_five_here_five_here() -> None:
    # quota 30, guaranteed 10 + 10 + 10: one busy slice borrows what the quiet ones do not need
    slices = [s("a", 10, 500), s("b", 10, 5), s("c", 10, 5)]
    assert target(slices, 30) == {"a": 20, "b": 5, "c": 5}
    assert allocate(slices, 30) == {"a": 20, "b": 5, "c": 5}  # at once: safety is the ledger's


def test_minimums_first_then_proportional_to_unmet_backlog() -> None:
    slices = [s("a", 30, 1000), s("b", 15, 300), s("c", 10, 0)]
    caps = target(slices, 100)
    # a: 30 + 55 x 970/1255, b: 15 + 55 x 285/1255, c idle (its 10 is lent)
    assert caps["c"] == 0
    assert caps["a"] == pytest.approx(30 + 55 * 970 / 1255)
    assert caps["b"] == pytest.approx(15 + 55 * 285 / 1255)
    assert allocate(slices, 100) == {k: pytest.approx(v, abs=1e-3) for k, v in caps.items()}


def test_capacity_left_over_goes_to_the_slices_with_backlog() -> None:
    assert target([s("a", 30, 10), s("b", 10, 0)], 100) == {"a": pytest.approx(100), "b": 0}


def test_with_no_backlog_anywhere_the_capacity_is_spread_by_guaranteed_rate() -> None:
    assert target([s("a", 30, 0), s("b", 10, 0)], 100) == {"a": pytest.approx(75), "b": pytest.approx(25)}


def test_headroom_scales_the_capacity() -> None:
    caps = allocate([s("a", 30, 1000), s("b", 10, 1000)], 100, headroom=0.9)
    assert sum(caps.values()) == pytest.approx(90, abs=0.01)


def test_a_cap_below_a_slices_largest_message_is_still_written() -> None:
    # the deadlock of 1-50-recipient mail: caps below the largest message were written as 0, the
    # slice could book nothing, and the next tick saw the same and wrote 0 again
    caps = allocate([s("a", 20, 2000), s("b", 10, 900), s("c", 5, 400)], 60, headroom=0.95)
    assert all(cap > 0 for cap in caps.values())
    assert sum(caps.values()) == pytest.approx(57, abs=1e-3)


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        allocate([s("a", 1, 1), s("a", 1, 1)], 10)
    with pytest.raises(ValueError, match="headroom"):
        allocate([s("a", 1, 1)], 10, headroom=0)


# --- properties ---------------------------------------------------------------------------------

backlogs = st.one_of(st.just(0.0), st.floats(1, 5000, allow_nan=False))  # >= 1 recipient


@st.composite
def worlds(draw: st.DrawFn) -> tuple[list[SliceState], float, float]:
    quota = draw(st.floats(1, 1000, allow_nan=False))
    headroom = draw(st.sampled_from([1.0, 0.95, 0.8]))
    n = draw(st.integers(1, 6))
    g = [round(draw(st.floats(0, quota, allow_nan=False)), 3) for _ in range(n)]
    total_g = sum(g)
    if total_g > quota:  # config validation: sum of guaranteed rates <= quota
        g = [x * quota / total_g for x in g]
    slices = [SliceState(f"s{i}", g[i], draw(backlogs)) for i in range(n)]
    return slices, quota, headroom


@settings(max_examples=400)
@given(worlds())
@example(  # minimums that fill the capacity up to a float's last bit leave a g=0 slice nothing
    (
        [
            SliceState("s0", 0.0, 1.0),
            SliceState("s1", 0.753012048192771, 1.0),
            SliceState("s2", 0.2469879518072289, 1.0),
        ],
        1.0,
        1.0,
    )
)
def test_minimums_no_starvation_reuse_and_work_conservation(
    world: tuple[list[SliceState], float, float],
) -> None:
    slices, quota, headroom = world
    capacity = quota * headroom
    caps = allocate(slices, quota, headroom)
    assert set(caps) == {x.name for x in slices}
    assert all(c >= 0 for c in caps.values())
    assert sum(caps.values()) <= capacity + EPS
    base = sum(min(x.guaranteed, x.backlog) for x in slices)
    scale = min(1.0, capacity / base) if base else 1.0  # < 1 only when headroom < sum of minimums
    for x in slices:
        assert caps[x.name] >= min(x.guaranteed, x.backlog) * scale - 2e-3  # minimums honoured
        # no starvation: a slice with backlog gets something if it is guaranteed a rate or if its
        # share of what the minimums leave is more than rounding (caps are floored to 1e-6/s)
        unmet = sum(max(y.backlog - min(y.guaranteed, y.backlog), 0) for y in slices)
        share_of_rest = (capacity - base) * (x.backlog - min(x.guaranteed, x.backlog)) / unmet if unmet else 0
        if x.backlog > 0 and (x.guaranteed > 0 or share_of_rest > 1e-5):
            assert caps[x.name] > 0
    demand = sum(x.backlog for x in slices)
    if demand >= capacity:  # work-conserving: all of it goes out, and only to backlogged slices
        assert sum(caps.values()) >= capacity - 1e-2
        assert all(caps[x.name] == 0 for x in slices if x.backlog == 0)


@given(st.floats(1, 500), st.floats(1, 500), st.floats(1000, 5000))
def test_an_idle_slices_share_is_reused_by_a_busy_one(g_busy: float, g_idle: float, backlog: float) -> None:
    quota = g_busy + g_idle
    caps = allocate([SliceState("busy", g_busy, backlog), SliceState("idle", g_idle, 0)], quota, 1.0)
    assert caps["idle"] == 0
    assert caps["busy"] == pytest.approx(quota, abs=2e-3)

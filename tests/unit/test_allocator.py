"""The heartbeat's allocation rule: examples and properties (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from functions.heartbeat.allocator import SliceState, allocate, target

EPS = 1e-6


def s(name: str, g: float, backlog: float, current: float) -> SliceState:
    return SliceState(name, g, backlog, current)


def test_the_example_from_the_issue_twenty_here_five_here_five_here() -> None:
    # quota 30, guaranteed 10 + 10 + 10: one busy slice borrows what the quiet ones do not need
    slices = [s("a", 10, 500, 10), s("b", 10, 5, 10), s("c", 10, 5, 10)]
    assert target(slices, 30) == {"a": 20, "b": 5, "c": 5}
    assert allocate(slices, 30) == {"a": 10, "b": 5, "c": 5}  # tick 1: decreases only
    then = [s("a", 10, 500, 10), s("b", 10, 5, 5), s("c", 10, 5, 5)]
    assert allocate(then, 30) == {"a": 20, "b": 5, "c": 5}  # tick 2: the freed 10 is lent


def test_minimums_first_then_proportional_to_unmet_backlog() -> None:
    slices = [s("a", 30, 1000, 0), s("b", 15, 300, 0), s("c", 10, 0, 0)]
    budgets = target(slices, 100)
    # a: 30 + 55 x 970/1255, b: 15 + 55 x 285/1255, c idle (its 10 is lent)
    assert budgets["c"] == 0
    assert budgets["a"] == pytest.approx(30 + 55 * 970 / 1255)
    assert budgets["b"] == pytest.approx(15 + 55 * 285 / 1255)
    assert allocate(slices, 100) == {k: pytest.approx(v, abs=1e-3) for k, v in budgets.items()}


def test_capacity_nobody_has_backlog_for_is_spread_by_guaranteed_rate() -> None:
    budgets = target([s("a", 30, 10, 0), s("b", 10, 0, 0)], 100)
    assert budgets == {"a": pytest.approx(10 + 90 * 0.75), "b": pytest.approx(90 * 0.25)}


def test_headroom_scales_the_capacity() -> None:
    budgets = allocate([s("a", 30, 1000, 0), s("b", 10, 1000, 0)], 100, headroom=0.9)
    assert sum(budgets.values()) == pytest.approx(90, abs=0.01)


def test_the_fallback_rates_count_as_current_and_are_lowered_at_once() -> None:
    # the heartbeat resumes: every slice is on its guaranteed rate (sum 55 of 100)
    slices = [s("a", 30, 5000, 30), s("b", 15, 0, 15), s("c", 10, 0, 10)]
    first = allocate(slices, 100)
    assert first["b"] == 0
    assert first["c"] == 0
    assert first["a"] == pytest.approx(75)  # 30 + the 45 of slack
    second = allocate([s("a", 30, 5000, first["a"]), s("b", 15, 0, 0), s("c", 10, 0, 0)], 100)
    assert second["a"] == pytest.approx(100)


def test_budgets_over_capacity_are_only_lowered() -> None:
    budgets = allocate([s("a", 30, 1000, 80), s("b", 30, 1000, 80)], 100)  # the quota dropped
    assert sum(budgets.values()) <= 100
    assert all(budgets[k] <= 80 for k in budgets)


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        allocate([s("a", 1, 1, 1), s("a", 1, 1, 1)], 10)
    with pytest.raises(ValueError, match="headroom"):
        allocate([s("a", 1, 1, 1)], 10, headroom=0)


# --- properties ---------------------------------------------------------------------------------

rates = st.floats(0, 200, allow_nan=False)
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
    capacity = quota * headroom
    current = [draw(st.floats(0, capacity, allow_nan=False)) for _ in range(n)]
    total_c = sum(current)
    if total_c > capacity:  # what the allocator itself leaves behind
        current = [x * capacity / total_c for x in current]
    slices = [SliceState(f"s{i}", g[i], draw(backlogs), current[i]) for i in range(n)]
    return slices, quota, headroom


@settings(max_examples=400)
@given(worlds())
def test_never_above_the_quota_now_or_across_two_ticks(world: tuple[list[SliceState], float, float]) -> None:
    slices, quota, headroom = world
    budgets = allocate(slices, quota, headroom)
    assert set(budgets) == {x.name for x in slices}
    assert all(b >= 0 for b in budgets.values())
    assert sum(budgets.values()) <= quota * headroom + EPS
    assert sum(max(x.current, budgets[x.name]) for x in slices) <= quota * headroom + EPS


def run_ticks(slices: list[SliceState], quota: float, headroom: float, ticks: int) -> dict[str, float]:
    for _ in range(ticks):
        budgets = allocate(slices, quota, headroom)
        assert sum(max(x.current, budgets[x.name]) for x in slices) <= quota * headroom + EPS
        slices = [SliceState(x.name, x.guaranteed, x.backlog, budgets[x.name]) for x in slices]
    return budgets


@settings(max_examples=300)
@given(worlds())
@example(  # minimums that fill the capacity up to a float's last bit leave a g=0 slice nothing
    (
        [
            SliceState("s0", 0.0, 1.0, 0.0),
            SliceState("s1", 0.753012048192771, 1.0, 0.0),
            SliceState("s2", 0.2469879518072289, 1.0, 0.0),
        ],
        1.0,
        1.0,
    )
)
def test_within_two_ticks_minimums_no_starvation_reuse_and_work_conservation(
    world: tuple[list[SliceState], float, float],
) -> None:
    slices, quota, headroom = world
    capacity = quota * headroom
    budgets = run_ticks(slices, quota, headroom, 2)
    base = sum(min(x.guaranteed, x.backlog) for x in slices)
    scale = min(1.0, capacity / base) if base else 1.0  # < 1 only when headroom < sum of minimums
    for x in slices:
        assert budgets[x.name] >= min(x.guaranteed, x.backlog) * scale - 2e-3  # minimums honoured
        # no starvation: a slice with backlog gets something if it is guaranteed a rate or if the
        # minimums leave room (more than rounding: budgets are floored to 1e-6 recipients/s)
        if x.backlog > 0 and (x.guaranteed > 0 or base < capacity - 1e-3):
            assert budgets[x.name] > 0
    demand = sum(x.backlog for x in slices)
    if demand >= capacity:  # work-conserving: all of it goes out, and only to backlogged slices
        assert sum(budgets.values()) >= capacity - 1e-2
        assert all(budgets[x.name] == 0 for x in slices if x.backlog == 0)


@given(st.floats(1, 500), st.floats(1, 500), st.floats(1000, 5000))
def test_an_idle_slices_share_is_reused_by_a_busy_one(g_busy: float, g_idle: float, backlog: float) -> None:
    quota = g_busy + g_idle
    slices = [SliceState("busy", g_busy, backlog, g_busy), SliceState("idle", g_idle, 0, g_idle)]
    budgets = run_ticks(slices, quota, 1.0, 2)
    assert budgets["idle"] == 0
    assert budgets["busy"] == pytest.approx(quota, abs=2e-3)

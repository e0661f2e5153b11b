"""60 days of a pool's warm-up ("2 000 a week, then 5, 10, 15, 20 thousand") through the real
controller and sender: the dedicated share follows the schedule, no day's cap is exceeded, no mail
waits for the split, and after the schedule all mail goes through the pool."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.warmup_sim import DEDICATED, MAX_RECIPIENTS, Run, daily, simulate


@pytest.fixture(scope="module")
def split() -> Run:
    return simulate(60)


@pytest.fixture(scope="module")
def rows(split: Run) -> list[dict[str, Any]]:
    return daily(split)


def test_no_day_sends_more_through_the_pool_than_its_cap(rows: list[dict[str, Any]]) -> None:
    assert max(r["overshoot"] for r in rows) == 0


def test_while_demand_exceeds_the_cap_the_pool_carries_the_cap_less_at_most_one_message(
    rows: list[dict[str, Any]],
) -> None:
    capped = [r for r in rows if r["planned"] is not None and r["demand"] >= r["planned"] + MAX_RECIPIENTS]
    assert len(capped) >= 20  # most of the five weeks
    assert all(r["planned"] - MAX_RECIPIENTS < r["dedicated"] <= r["planned"] for r in capped)


def test_below_the_cap_all_mail_of_the_day_goes_through_the_pool(rows: list[dict[str, Any]]) -> None:
    below = [r for r in rows if r["planned"] is not None and r["demand"] <= r["planned"]]
    assert below
    assert all(r["shared"] == 0 for r in below)


def test_after_the_schedule_every_recipient_goes_through_the_pool(rows: list[dict[str, Any]]) -> None:
    after = [r for r in rows if r["planned"] is None]
    assert len(after) == 60 - 35
    assert all(r["dedicated"] == r["demand"] and r["shared"] == 0 for r in after)


def test_every_message_is_sent_once(split: Run) -> None:
    assert sorted(n for _, _, n in split.sends) == sorted(n for _, n in split.arrivals)


def test_the_split_delays_no_message_sends_match_a_run_without_it(split: Run) -> None:
    # The workload is drawn day by day, so a 10-day run is the 60-day run's first 10 days (the
    # first weeks are where the split is busiest); a full second run would double the test's time.
    unsplit = simulate(10, split=False)
    assert [t for t, _, _ in split.sends[: len(unsplit.sends)]] == [t for t, _, _ in unsplit.sends]


def test_the_split_only_ever_names_the_dedicated_or_the_shared_set(split: Run) -> None:
    assert {s for _, s, _ in split.sends} == {DEDICATED, "at-shared"}

"""The heartbeat and the send ledger together, in virtual time (``tests/support/ledger_sim.py``:
the real ``tick`` and ``DynamoDbLimiter`` over one in-memory table): liveness, the account's
quota, and each slice's guaranteed rate, for any slice count, guarantees, quota, message sizes up
to 50, arrivals, late ticks and outages.

The first test is the deadlock a user found on the wire: quota 60, slices guaranteed 20 / 10 / 5,
headroom 0.95, 1-50-recipient mail. The heartbeat wrote 0 for every budget below a slice's
largest message, the limiter then granted nothing, and the next tick saw the same: the whole
quota idled while 2,000 recipients waited.
"""

from __future__ import annotations

import math
import random

from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from functions.common.ledger import SLOT_MS
from tests.support.ledger_sim import World, run, utilization_when_backlogged
from tests.support.scenarios import heavy_tail_recipients

MAX_MESSAGE = 50


def media_mail(rng: random.Random, count: int, heavy_share: float = 0.3) -> list[int]:
    """Mostly small mail with a share of large messages up to 50 recipients."""
    return [
        rng.randint(11, MAX_MESSAGE) if rng.random() < heavy_share else heavy_tail_recipients(rng)
        for _ in range(count)
    ]


def stream(sizes: list[int], rate: float, start: float = 0.0) -> list[tuple[float, int]]:
    """``sizes`` arriving at about ``rate`` recipients/s from ``start``."""
    out, t = [], start
    for n in sizes:
        out.append((t, n))
        t += n / rate
    return out


def quiet_seconds_with_backlog(outcome: object, horizon: int = 3) -> list[int]:
    """Starts of ``horizon``-second stretches in which mail waited throughout and SES took nothing."""
    sent = outcome.per_second()  # type: ignore[attr-defined]
    names = outcome.world.names  # type: ignore[attr-defined]
    backlog = outcome.backlog  # type: ignore[attr-defined]
    seconds = outcome.world.seconds  # type: ignore[attr-defined]
    return [
        s
        for s in range(seconds - horizon)
        if all(any(backlog[n][s + i] > 0 for n in names) for i in range(horizon))
        and not any(sent[s : s + horizon])
    ]


def liveness_horizon(world: World) -> int:
    """4 s, plus the slots the largest message's debt may keep the account quiet for."""
    capacity = world.quota * world.headroom
    return 4 + math.ceil(max(0.0, MAX_MESSAGE - capacity) / capacity * SLOT_MS / 1000)


def the_deadlock_world(seed: int = 19, outage: tuple[int, int] | None = None) -> World:
    rng = random.Random(seed)  # noqa: S311 - reproducible mail
    arrivals = [stream(media_mail(rng, 700), rate=3 * g) for g in (20, 10, 5)]  # 3x each guarantee
    delay = (lambda s: None if outage[0] <= s < outage[1] else 0.3) if outage else (lambda _s: 0.3)
    return World(
        quota=60, guaranteed=(20, 10, 5), headroom=0.95, arrivals=arrivals, seconds=60, tick_delay=delay
    )


def test_large_messages_no_longer_stop_the_account() -> None:
    outcome = run(the_deadlock_world())
    assert sum(outcome.backlog[n][40] for n in outcome.world.names) > 1000  # mail waits all along
    assert outcome.over_quota_windows() == []
    assert quiet_seconds_with_backlog(outcome, horizon=2) == []  # a send at least every window
    assert all(any(cap > 0 for cap in caps.values()) for caps in outcome.caps)
    # 0.11 before (the wire run of the report); the most the slots carry at headroom 0.95 is 0.95
    assert utilization_when_backlogged(outcome) >= 0.75
    for name, g in zip(outcome.world.names, outcome.world.guaranteed, strict=True):
        # every slice gets at least its guaranteed rate over the run, and nobody sits at 0 for 10 s
        assert sum(outcome.per_second(name)[:40]) >= 0.95 * 40 * g, name
        assert min(sum(outcome.per_second(name)[s : s + 10]) for s in range(50)) > 0, name


def test_through_a_twenty_second_outage_the_account_stays_within_its_quota_and_keeps_sending() -> None:
    outcome = run(the_deadlock_world(outage=(20, 40)))
    assert outcome.over_quota_windows() == []
    assert quiet_seconds_with_backlog(outcome, horizon=2) == []
    assert (
        utilization_when_backlogged(outcome, 20, 40) >= 0.75
    )  # the guaranteed paces, and idle room borrowed


# --- properties ---------------------------------------------------------------------------------


@st.composite
def worlds(draw: st.DrawFn) -> World:
    seconds = 30
    quota = draw(st.sampled_from([10.0, 14.0, 30.0, 60.0, 100.0, 250.0]))
    n = draw(st.integers(1, 4))
    raw = [draw(st.floats(0.0, 1.0)) for _ in range(n)]
    share = draw(st.floats(0.2, 1.0))  # of the quota the guarantees add up to (config: <= 1)
    guaranteed = tuple(round(quota * share * r / (sum(raw) or 1), 3) for r in raw)
    heavy = draw(st.sampled_from([0.0, 0.05, 0.3, 1.0]))  # share of 11-50-recipient messages
    rng = random.Random(draw(st.integers(0, 2**16)))  # noqa: S311 - reproducible mail
    arrivals = []
    for _ in range(n):
        rate = draw(st.floats(0.1, 2.0)) * quota  # offered load of this slice
        start = draw(st.floats(0, 20))
        burst = draw(st.booleans())
        sizes = media_mail(rng, int(rate * 8 / 5) + 1, heavy)
        arrivals.append([(start, s) for s in sizes] if burst else stream(sizes, rate, start))
    outage_start = draw(st.integers(0, seconds))
    outage = (outage_start, outage_start + draw(st.integers(0, 20)))
    late = draw(st.floats(0.0, 0.95))  # how late each tick runs after its whole second
    note(f"ticks {late:.3f} s late, none in [{outage[0]}, {outage[1]})")

    def tick_delay(second: int) -> float | None:
        return None if outage[0] <= second < outage[1] else late

    return World(
        quota=quota, guaranteed=guaranteed, headroom=draw(st.sampled_from([1.0, 0.95])), arrivals=arrivals,
        senders=draw(st.integers(1, 6)), tick_delay=tick_delay, seconds=seconds,
    )  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
@example(the_deadlock_world())
def test_never_over_quota_never_idle_while_mail_waits(world: World) -> None:
    outcome = run(world)
    assert outcome.over_quota_windows() == []
    # liveness: no stretch with mail waiting in which SES took nothing longer than 4 s plus what a
    # message larger than a slot owes (its excess over the capacity is paid by the slots after it:
    # 50 recipients at 10/s keep the account quiet for 4 slots, as the rate says they must)
    assert quiet_seconds_with_backlog(outcome, horizon=liveness_horizon(world)) == []

"""The heartbeat's allocation rule: a pure function from (guaranteed rates, backlogs, quota) to
each slice's cap for the next tick.

Target (what the slices should get, ``C = quota x headroom``):

1. Guaranteed minimums first: a slice gets ``min(g_i, backlog_i)``; an idle slice's unused share
   is lent out (scaled down proportionally if the minimums alone exceed ``C``).
2. The rest goes to slices with unmet backlog, proportionally to it, capped at it
   (water-filling proportional to unmet backlog; since each share is proportional to its own
   cap, one pass fills it): work-conserving - when the backlogs ask for at least ``C`` the sum
   is ``C``.
3. What is left over goes to the slices with backlog, by backlog (a slice that is the only one
   with mail gets the whole capacity); when none has backlog, to all by guaranteed rate. A slice
   whose traffic appears between two ticks borrows idle room at once (``functions.common.ledger``).

Only fairness is decided here. Safety does not depend on these caps: every send of the account
is booked in the account's ledger (``functions.common.ledger``), which keeps every second within
the quota whatever the caps say, and a slice's oversize message is scheduled there at its
slice's pace. So the caps may move freely from one tick to the next, and no cap is ever
rounded to 0 because a message is larger than it (the cause of a deadlock with 1-50-recipient
mail: a cap of 0 let the slice book nothing, so nothing changed for the next tick either).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

RESOLUTION = 1_000_000
"""Caps are rounded *down* to 1/RESOLUTION recipients/s, so sums never exceed by rounding."""


@dataclass(frozen=True)
class SliceState:
    """One slice at a tick.

    Attributes:
        name: the slice.
        guaranteed: its guaranteed recipients/s (``rate_per_second`` of its config).
        backlog: recipients waiting (queued and in flight), an estimate.
    """

    name: str
    guaranteed: float
    backlog: float


def _floor(value: float) -> float:
    return math.floor(max(value, 0.0) * RESOLUTION) / RESOLUTION


def target(slices: Sequence[SliceState], capacity: float) -> dict[str, float]:
    """Where the caps should go (steps 1-3); sum <= capacity."""
    capacity = max(capacity, 0.0)
    base = {s.name: min(max(s.guaranteed, 0.0), max(s.backlog, 0.0)) for s in slices}
    total_base = sum(base.values())
    if total_base > capacity:  # only when the minimums exceed quota x headroom
        scale = capacity / total_base
        base = {k: v * scale for k, v in base.items()}
        total_base = capacity
    rest = capacity - total_base
    unmet = {s.name: max(s.backlog - base[s.name], 0.0) for s in slices}
    total_unmet = sum(unmet.values())
    share = 1.0 if total_unmet <= rest else rest / total_unmet
    out = {k: base[k] + unmet[k] * share for k in base}
    left = capacity - sum(out.values())
    if left > 0 and slices:
        # to the slices with mail waiting, by backlog (their pace then never holds back mail the
        # account has room for); with none waiting, by guaranteed rate
        weights = {s.name: max(s.backlog, 0.0) for s in slices}
        if not sum(weights.values()) > 0:
            weights = {s.name: max(s.guaranteed, 0.0) for s in slices}
        total_weight = sum(weights.values())
        for name in out:
            out[name] += left * (weights[name] / total_weight if total_weight > 0 else 1 / len(out))
    return out


def allocate(slices: Sequence[SliceState], quota: float, headroom: float = 1.0) -> dict[str, float]:
    """The caps for the next tick, by slice name: :func:`target` of ``quota x headroom``, rounded
    down to 1/RESOLUTION. ``sum(caps) <= quota x headroom`` for finite, non-negative inputs."""
    if len({s.name for s in slices}) != len(slices):
        raise ValueError("slice names must be unique")
    if not headroom > 0:
        raise ValueError(f"headroom must be > 0, got {headroom}")
    return {k: _floor(v) for k, v in target(slices, max(quota, 0.0) * headroom).items()}

"""The heartbeat's allocation rule: a pure function from (backlogs, current budgets, quota) to the
budgets of the next tick.

Target (what the slices should get, ``C = quota x headroom``):

1. Guaranteed minimums first: a slice gets ``min(g_i, backlog_i)``; an idle slice's unused share
   is lent out (scaled down proportionally if the minimums alone exceed ``C``).
2. The rest goes to slices with unmet backlog, proportionally to it, capped at it
   (water-filling proportional to unmet backlog; since each share is proportional to its own
   cap, one pass fills it): work-conserving - when the backlogs ask for at least ``C`` the sum
   is ``C``.
3. Whatever nobody has backlog for is spread over all slices by their guaranteed rates, so a
   slice whose traffic appears between two ticks has room at once.

Safety across ticks: a slice's grants in any one-second window are bounded by the largest budget
it had during the window, and a window spans (at most) two ticks. So the budgets written must
satisfy ``sum_i max(current_i, next_i) <= C``: decreases apply at once, increases only within
the slack ``C - sum_i current_i`` (shared proportionally to the wanted increase); the capacity a
decrease frees is lendable from the next tick on. A target is reached within two ticks. Budgets
smaller than a slice's largest message become 0 (lowering a budget never breaks the bound).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

RESOLUTION = 1_000_000
"""Budgets are rounded *down* to 1/RESOLUTION recipients/s, so sums never exceed by rounding."""


@dataclass(frozen=True)
class SliceState:
    """One slice at a tick.

    Attributes:
        name: the slice.
        guaranteed: its guaranteed recipients/s (``rate_per_second`` of its config).
        backlog: recipients waiting (queued and in flight), an estimate.
        current: the budget in force now (the last one written, or the fallback).
        unit: the largest message (recipients) expected. A budget in ``(0, unit)`` is written
            as 0: the limiter grants a message larger than the budget into an empty window, so
            such a budget would let the slice send more than it. Default 0 (no rounding).
    """

    name: str
    guaranteed: float
    backlog: float
    current: float
    unit: float = 0.0


def _floor(value: float) -> float:
    return math.floor(max(value, 0.0) * RESOLUTION) / RESOLUTION


def target(slices: Sequence[SliceState], capacity: float) -> dict[str, float]:
    """Where the budgets should go (steps 1-3), ignoring the current budgets; sum <= capacity."""
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
        weights = {s.name: max(s.guaranteed, 0.0) for s in slices}
        total_weight = sum(weights.values())
        for name in out:
            out[name] += left * (weights[name] / total_weight if total_weight > 0 else 1 / len(out))
    return out


def allocate(slices: Sequence[SliceState], quota: float, headroom: float = 1.0) -> dict[str, float]:
    """The budgets for the next tick, by slice name.

    Guarantees (for finite, non-negative inputs): ``sum(next) <= quota x headroom``; and
    ``sum_i max(current_i, next_i) <= quota x headroom`` whenever ``sum_i current_i`` is within
    it (else no budget rises and ``sum(next)`` still is within it).
    """
    if len({s.name for s in slices}) != len(slices):
        raise ValueError("slice names must be unique")
    if not headroom > 0:
        raise ValueError(f"headroom must be > 0, got {headroom}")
    capacity = max(quota, 0.0) * headroom
    wanted = target(slices, capacity)
    current = {s.name: max(s.current, 0.0) for s in slices}
    nxt = {k: min(wanted[k], current[k]) for k in wanted}  # decreases (and holds) at once
    # Increases only into the slack of the current budgets, never more than capacity minus
    # the budgets already decided (which matters when the current ones exceed the capacity).
    slack = capacity - max(sum(current.values()), sum(nxt.values()))
    rises = {k: wanted[k] - current[k] for k in wanted if wanted[k] > current[k]}
    total_rise = sum(rises.values())
    if slack > 0 and total_rise > 0:
        scale = min(1.0, slack / total_rise)
        for k, rise in rises.items():
            nxt[k] = current[k] + rise * scale
    units = {s.name: s.unit for s in slices}
    return {k: 0.0 if v < units[k] else _floor(v) for k, v in nxt.items()}

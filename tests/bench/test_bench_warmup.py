"""Warm-up benchmark -> bench-results/warmup.json + warmup.png: 60 days of a pool warming up
("2 000 a week, then 5, 10, 15, 20 thousand") through the real controller and sender (see
tests/support/warmup_sim.py). Planned vs simulated daily volume; ``max_overshoot`` must be 0."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.support.warmup_sim import FULL_VOLUME_PER_WEEK, START, WEEKLY_CAPS, daily, simulate

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"
DAYS = 60


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.5))
    xs = list(range(len(rows)))
    dedicated = [r["dedicated"] for r in rows]
    shared = [r["shared"] for r in rows]
    ax.bar(xs, dedicated, width=0.85, label="sent through the dedicated pool", color="tab:blue")
    ax.bar(xs, shared, width=0.85, bottom=dedicated, label="sent through the shared pool", color="tab:orange",
           alpha=0.6)  # fmt: skip
    planned = [r["planned"] for r in rows if r["planned"] is not None]
    ax.step(list(range(len(planned))), planned, where="mid", color="black", linewidth=1.5,
            label="planned daily cap (weekly cap / 7)")  # fmt: skip
    ax.axvline(len(planned) - 0.5, color="grey", linestyle="--", label="schedule ends: all mail to the pool")
    ax.set_xlabel(f"day of warm-up (from {START.isoformat()})")
    ax.set_ylabel("recipients per day")
    ax.set_xlim(-0.5, len(rows) - 0.5)
    ax.set_ylim(0, max(d + s for d, s in zip(dedicated, shared, strict=True)) * 1.3)
    ax.legend(loc="upper left", fontsize=8, ncol=2)
    ax.set_title("Dedicated IP pool warm-up: planned cap vs recipients sent, per day")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def test_bench_warmup() -> None:
    began = time.perf_counter()
    result = simulate(DAYS)
    unsplit = simulate(DAYS, split=False)
    wall = time.perf_counter() - began
    rows = daily(result)
    delays = [a - b for (a, _, _), (b, _, _) in zip(result.sends, unsplit.sends, strict=True)]
    during = [r for r in rows if r["planned"] is not None]
    data = {
        "schedule": {
            "start": START.isoformat(),
            "weekly_caps": list(WEEKLY_CAPS),
            "full_volume_per_week": FULL_VOLUME_PER_WEEK,
        },
        "days": DAYS,
        "messages": len(result.arrivals),
        "recipients": sum(n for _, n in result.arrivals),
        "max_overshoot": max(r["overshoot"] for r in rows),
        "days_over_cap": sum(1 for r in rows if r["overshoot"] > 0),
        "cap_used_when_demand_exceeded_it": round(
            sum(r["dedicated"] for r in during if r["demand"] > r["planned"])
            / max(1, sum(r["planned"] for r in during if r["demand"] > r["planned"])),
            4,
        ),
        "dedicated_share_after_schedule": round(
            sum(r["dedicated"] for r in rows if r["planned"] is None)
            / max(1, sum(r["demand"] for r in rows if r["planned"] is None)),
            4,
        ),
        "max_delay_seconds_vs_no_split": max(abs(d) for d in delays),
        "wall_seconds": round(wall, 1),
        "definitions": {
            "planned": "the day's cap from the schedule (null: schedule over, no cap)",
            "overshoot": "max(0, dedicated - planned) per day",
            "max_delay_seconds_vs_no_split": "largest difference in send time of any message between this "
            "run and the same workload sent without the split",
        },
        "daily": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "warmup.json").write_text(json.dumps(data, indent=2) + "\n")
    plot(rows, RESULTS / "warmup.png")
    assert data["max_overshoot"] == 0
    assert data["max_delay_seconds_vs_no_split"] == 0

"""How many recipients a second one slice's ledger item carries -> bench-results/limiter_scale.json
and limiter_scale.png.

A model, in virtual time (tests/support/ledger_capacity.py): the real ``DynamoDbLimiter`` and
ledger over an in-memory table that charges DynamoDB's write units (item size / 1 KB, failed
conditional writes included) and refuses a key's writes beyond 1,000 WCU a second, every read
and write a 10-ms round trip, so senders that decide on the same item race as they do on
DynamoDB. Rates are swept with about one sender per 8 recipients/s (what keeps a slice busy,
see the sending benchmarks). Nothing is asserted about the figures (people judge them).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

from tests.support.ledger_capacity import WCU_PER_KEY, Run, figures, run

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"
RATES = (100, 300, 500, 700, 1000, 3000)
SECONDS = 20
CARRIED = 0.9  # of what the slots carry: a rate the item "holds"
MODEL = (
    "virtual time: real DynamoDbLimiter + ledger over an in-memory table charging DynamoDB write units "
    f"(ceil(size / 1 KB), failed conditional writes too) and refusing > {WCU_PER_KEY} WCU/s per key; "
    "10-ms round trips"
)


def senders_for(rate: float) -> int:
    return max(5, math.ceil(rate / 8))


def test_bench_limiter_scale() -> None:
    started = time.monotonic()
    runs = [figures(run(Run(rate=rate, senders=senders_for(rate), seconds=SECONDS))) for rate in RATES]
    held = [
        r
        for r in runs
        if r["utilization"] >= CARRIED * r["slot_limit"] and r["writes_refused_over_1000_wcu"] == 0
    ]
    best = max(held, key=lambda r: r["rate"]) if held else None
    at_1000 = next(r for r in runs if r["rate"] == 1000)
    data: dict[str, Any] = {
        "limiter_max_recipients_per_second_per_slice": best["rate"] if best else None,
        "limiter_wcu_per_1000_recipients": {
            "at_max": best["wcu_per_1000_recipients"] if best else None,
            "at_1000": at_1000["wcu_per_1000_recipients"],
        },
        "goals": {
            "limiter_max_recipients_per_second_per_slice": ">= 3000 with 0 over-rate seconds",
        },
        "runs": runs,
        "definitions": {
            "limiter_max_recipients_per_second_per_slice": "the highest swept rate at which the slice got "
            f">= {CARRIED} of what its slots carry (slot_limit x rate) and no ledger write was refused",
            "utilization": f"recipients booked into slots of whole seconds [5, {SECONDS - 5}) / "
            "(rate x seconds)",
            "wcu_per_1000_recipients": "write units charged on the ledger key (won and lost races) per 1,000 "
            "recipients booked",
            "lost_races_per_batch": "conditional writes that lost to another sender's, per batch booked",
            "slots_over_capacity": "slots holding more than the rate, a lone message of up to 50 not counted",
        },
        "model": MODEL,
        "rates": list(RATES),
        "senders": "max(5, ceil(rate / 8)) per run",
        "bench_wall_seconds": round(time.monotonic() - started, 1),
        "command": "make bench (or: .venv/bin/python -m pytest tests/bench/test_bench_limiter_scale.py)",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "limiter_scale.json").write_text(json.dumps(data, indent=1) + "\n")
    plot(data, RESULTS / "limiter_scale.png")


def plot(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = data["runs"]
    rates = [r["rate"] for r in runs]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.plot(rates, [r["recipients_per_second"] for r in runs], "o-", label="booked recipients/s")
    left.plot(rates, [r["rate"] * r["slot_limit"] for r in runs], "k--", lw=1, label="what the slots carry")
    left.set_xlabel("slice rate (recipients/s)")
    left.set_ylabel("recipients/s")
    left.set_xscale("log")
    left.set_yscale("log")
    left.legend(fontsize=8)
    right.plot(rates, [r["wcu_per_second_mean"] for r in runs], "o-", label="WCU/s on the ledger key")
    right.axhline(WCU_PER_KEY, color="red", ls="--", lw=1, label=f"{WCU_PER_KEY} WCU/s per key")
    right.set_xlabel("slice rate (recipients/s)")
    right.set_xscale("log")
    right.legend(fontsize=8)
    fig.suptitle("One ledger item: recipients booked and write units by slice rate (model, virtual time)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

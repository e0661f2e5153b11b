"""A shorter run of the wire heartbeat benchmark's world, for trying a change before the full
benchmark: ``python -m tests.support.wire.quick --seconds 40 [--outage 15,25]``.

Same world as ``tests/bench/test_bench_heartbeat_wire.py`` (quota, slices, senders, headroom,
queued mail), only shorter; it prints the headline figures and what the senders reported (missed
slots, lost races, hand-backs) as JSON and writes nothing under ``bench-results/``. A 40-s run
takes about a minute; figures of one run move with the machine's load, so compare several.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from pathlib import Path

from tests.bench.test_bench_heartbeat_wire import scenario
from tests.support.wire.measure import figures
from tests.support.wire.run import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--outage", help="start,end in seconds after t0: no ticks in between")
    args = parser.parse_args(argv)
    outage: tuple[float, float] | None = None
    if args.outage:
        start, _, end = args.outage.partition(",")
        outage = (float(start), float(end))
    world = dataclasses.replace(scenario("quick", outage), seconds=args.seconds)
    with tempfile.TemporaryDirectory(prefix="wire-quick-") as run_dir:
        result = figures(run(world, Path(run_dir)))
    keys = ("over_quota_seconds", "throttled_fraction", "utilization_when_backlogged", "lost", "duplicates")
    print(
        json.dumps(
            {k: result[k] for k in keys}
            | {
                "lowest_5s_rate": {n: s["lowest_5s_rate"] for n, s in result["slices"].items()},
                "mean_rate_when_backlogged": {
                    n: s["mean_rate_when_backlogged"] for n, s in result["slices"].items()
                },
                "sender_events": result["run"]["sender_events"],
                "cpu_seconds": result["run"]["cpu_seconds"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

"""The heartbeat's Step Functions Express loop, as a process: one invocation at each whole second.

Why so: in AWS a state machine calls the heartbeat Lambda, waits for the next whole second and
loops, all in one container that stays warm (its quota cache lives as long as the container).
Here one process plays both: once the run's start time ``t0`` appears in ``--start-file`` it
calls ``lambda_handler({}, context)`` at every whole second of wall time until ``t0 + seconds``
(a tick that overruns skips the seconds it covered, as the loop would), and calls nothing during
an outage ``[t0 + outage_start, t0 + outage_end)``, so the slices' fallback can be measured.
Each tick's answer and duration go to ``--ticks`` as a JSON line.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tests.support.wire.esm import LambdaContext
from tests.support.wire.services import watch_parent, write_file_atomically


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler", default="functions.heartbeat.handler.lambda_handler")
    parser.add_argument("--function-name", default="wire-heartbeat")
    parser.add_argument("--timeout-seconds", type=float, default=5.0)
    parser.add_argument("--start-file", type=Path, required=True, help="holds t0 (epoch seconds)")
    parser.add_argument("--seconds", type=float, required=True, help="tick until t0 + this")
    parser.add_argument("--outage-start", type=float, help="seconds after t0")
    parser.add_argument("--outage-end", type=float, help="seconds after t0")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="hard bound on the process")
    parser.add_argument("--ticks", type=Path, required=True)
    parser.add_argument("--ready", type=Path)
    args = parser.parse_args(argv)
    module, _, name = args.handler.rpartition(".")
    handler = getattr(importlib.import_module(module), name)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    watch_parent(args.max_seconds)
    if args.ready:
        write_file_atomically(args.ready, "ready")
    while not args.start_file.exists() and not stopping.wait(0.05):
        pass
    t0 = float(args.start_file.read_text()) if args.start_file.exists() else math.inf
    until = t0 + args.seconds
    outage = (t0 + (args.outage_start or 0.0), t0 + (args.outage_end or 0.0))
    with args.ticks.open("a") as ticks:
        while not stopping.is_set():
            second = math.floor(time.time()) + 1
            if second >= until:
                break
            stopping.wait(max(0.0, second - time.time()))
            if stopping.is_set():
                break
            if outage[0] <= second < outage[1]:
                continue
            started = time.time()
            line: dict[str, Any] = {"second": second, "started": started}
            try:
                line["result"] = handler({}, LambdaContext(args.function_name, args.timeout_seconds))
            except Exception as exc:  # a failed execution: the next minute's execution carries on
                line["error"] = repr(exc)
            line["took"] = time.time() - started
            ticks.write(json.dumps(line, default=str) + "\n")
            ticks.flush()


if __name__ == "__main__":
    main()

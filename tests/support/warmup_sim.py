"""A dedicated IP pool's warm-up, simulated day by day in virtual time through the real code: the
warm-up controller runs at 00:05 UTC each day, and every message goes through the real sender
handler (in-memory limiter, idempotency store and warm-up counter; SES faked), which picks the
dedicated or the shared configuration set per message.

The same workload runs twice, with and without the split; identical send times show that the
split delays nothing. Shared by tests/integration/test_warmup_sim.py and the benchmark.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import random
from dataclasses import dataclass, field
from typing import Any

from functions.common.warmup_counter import InMemoryWarmupCounter, utc_day
from functions.sender.handler import SenderConfig, SenderDeps, handle_batch
from functions.sender.idempotency import InMemoryIdempotencyStore
from functions.sender.routing import WarmupRouter
from functions.warmup_controller.handler import ControllerConfig, ControllerDeps, run
from functions.warmup_controller.schedule import WarmupSchedule
from tests.support.clock import ManualClock
from tests.support.ledger_table import in_memory_limiter
from tests.support.scenarios import heavy_tail_recipients

DAY = 86_400.0
START = dt.date(2026, 12, 1)
T_START = dt.datetime.combine(START, dt.time(), tzinfo=dt.UTC).timestamp()
POOL, DEDICATED, SHARED = "at-pool", "at-dedicated", "at-shared"
# "2 000 a week, then 5, 10, 15, 20 thousand"; full volume 20 000 a week (2 857 a day).
WEEKLY_CAPS = (2000, 5000, 10000, 15000, 20000)
FULL_VOLUME_PER_WEEK = 20000
MAX_RECIPIENTS = 50  # per message (SES's limit; the workload's largest)


def schedule() -> WarmupSchedule:
    return WarmupSchedule(
        pool=POOL, start=START, caps=WEEKLY_CAPS, period_days=7, full_daily_volume=FULL_VOLUME_PER_WEEK // 7
    )


class Ses:
    """Accepts every send; remembers when, through which configuration set, to how many."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sends: list[tuple[float, str | None, int]] = []

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        destination = kwargs["Destination"]
        count = sum(len(destination.get(k, [])) for k in ("ToAddresses", "CcAddresses", "BccAddresses"))
        self.sends.append((self.clock.now(), kwargs.get("ConfigurationSetName"), count))
        return {"MessageId": f"ses-{len(self.sends)}"}


class Sqs:
    def send_message(self, **kwargs: Any) -> dict[str, Any]:  # noqa: ARG002
        raise AssertionError("nothing should be dead-lettered or held in the warm-up simulation")

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]:  # noqa: ARG002
        raise AssertionError("nothing should be retried in the warm-up simulation")


def workload(days: int, seed: int = 7) -> list[tuple[float, int]]:
    """(arrival time, recipients) over ``days`` days: about full volume a day (2 600 on weekdays,
    1 900 on weekends), heavy-tailed message sizes (1-50), arrivals spread over 06:00-22:00 UTC."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    arrivals: list[tuple[float, int]] = []
    for day in range(days):
        target = 1900 if (START + dt.timedelta(days=day)).weekday() >= 5 else 2600
        total = 0
        while total < target:
            n = heavy_tail_recipients(rng)
            total += n
            arrivals.append((T_START + day * DAY + rng.uniform(6 * 3600, 22 * 3600), n))
    return sorted(arrivals)


def message(index: int, recipients: int) -> str:
    return json.dumps(
        {
            "version": 1,
            "idempotency_key": f"m-{index}",
            "from": "news@news.example.at",
            "to": [f"r{i}@example.com" for i in range(recipients)],
            "subject": "Newsletter",
            "text": "Hello",
        }
    )


@dataclass
class Run:
    sends: list[tuple[float, str | None, int]]
    arrivals: list[tuple[float, int]]
    allowances: dict[dt.date, int | None] = field(default_factory=dict)


def simulate(days: int = 60, *, split: bool = True, seed: int = 7) -> Run:
    clock = ManualClock(T_START)
    ses = Ses(clock)
    counter = InMemoryWarmupCounter()
    router = WarmupRouter(
        counter, pool=POOL, dedicated_configuration_set=DEDICATED, shared_configuration_set=SHARED
    )
    deps = SenderDeps(
        ses=ses, sqs=Sqs(), limiter=in_memory_limiter(30.0), store=InMemoryIdempotencyStore(), clock=clock,
        router=router if split else None,
    )  # fmt: skip
    config = SenderConfig(slice_name="at-de", dlq_url="dlq", configuration_set=SHARED)
    controller = ControllerDeps(counter=counter, ses=NoIps(), clock=clock)
    controller_config = ControllerConfig(schedules=(schedule(),), lookahead_days=2)
    arrivals = workload(days, seed)
    result = Run(sends=ses.sends, arrivals=arrivals)
    next_run = T_START + 300.0  # 00:05 UTC
    with contextlib.redirect_stdout(io.StringIO()):  # the handler logs a line per send
        for index, (at, recipients) in enumerate(arrivals):
            while next_run <= at:
                clock.set(max(clock.t, next_run))
                run(controller, controller_config)
                next_run += DAY
            clock.set(max(clock.t, at))
            record = {"messageId": f"m{index}", "body": message(index, recipients)}
            handle_batch({"Records": [record]}, deps, config)
    result.allowances = {START + dt.timedelta(days=i): a for i, a in enumerate(schedule().plan(days))}
    return result


class NoIps:
    def get_dedicated_ips(self, **kwargs: Any) -> dict[str, Any]:  # noqa: ARG002
        return {"DedicatedIps": []}

    def put_dedicated_ip_warmup_attributes(self, **kwargs: Any) -> dict[str, Any]:  # noqa: ARG002
        return {}


def daily(result: Run) -> list[dict[str, Any]]:
    """Per day: planned allowance, recipients demanded, sent dedicated and shared, overshoot."""
    rows = []
    for day, allowance in result.allowances.items():
        demand = sum(n for t, n in result.arrivals if utc_day(t) == day)
        dedicated = sum(n for t, s, n in result.sends if utc_day(t) == day and s == DEDICATED)
        shared = sum(n for t, s, n in result.sends if utc_day(t) == day and s != DEDICATED)
        rows.append(
            {
                "day": day.isoformat(),
                "planned": allowance,
                "demand": demand,
                "dedicated": dedicated,
                "shared": shared,
                "overshoot": max(0, dedicated - allowance) if allowance is not None else 0,
            }
        )
    return rows

"""Warm-up: the schedule's daily allowances, the controller's daily writes, and the sender's
per-message choice between the dedicated and the shared configuration set."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.common.ledger import slot_start, to_ms
from functions.common.warmup_counter import InMemoryWarmupCounter
from functions.sender.handler import SenderDeps, handle_batch
from functions.sender.routing import WarmupRouter
from functions.warmup_controller.handler import ControllerConfig, ControllerDeps, run
from functions.warmup_controller.schedule import WarmupSchedule
from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes, client_error
from tests.unit.test_sender_handler import QUEUE_ARN, Harness, message

START = dt.date(2026, 12, 1)
NOON_DAY_1 = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC).timestamp()


def weekly(*caps: int, full: int | None = None) -> WarmupSchedule:
    return WarmupSchedule(
        pool="at-pool", start=START, caps=caps, period_days=7, full_daily_volume=(full or caps[-1]) // 7
    )


def daily(*caps: int) -> WarmupSchedule:
    return WarmupSchedule(pool="at-pool", start=START, caps=caps, period_days=1, full_daily_volume=caps[-1])


# --- schedule ------------------------------------------------------------------------------


def test_nothing_goes_to_the_pool_before_the_start_day() -> None:
    assert daily(100, 200).allowance(START - dt.timedelta(days=1)) == 0


def test_daily_caps_are_the_allowances_of_consecutive_days() -> None:
    assert daily(100, 200, 400).plan(3) == [100, 200, 400]


def test_a_weekly_cap_is_split_evenly_over_its_seven_days_and_sums_to_the_cap() -> None:
    plan = weekly(2000, 5000).plan(14)
    assert plan[:7] == [286, 286, 286, 286, 286, 285, 285]
    assert sum(x or 0 for x in plan[:7]) == 2000
    assert sum(x or 0 for x in plan[7:]) == 5000


def test_after_the_last_cap_the_allowance_is_unlimited() -> None:
    assert daily(100, 200).allowance(START + dt.timedelta(days=2)) is None


def test_progress_is_the_allowance_as_a_share_of_full_volume_and_100_once_over() -> None:
    schedule = daily(100, 500, 1000)
    assert [schedule.progress_percent(START + dt.timedelta(days=i)) for i in range(4)] == [10, 50, 100, 100]


# --- controller ----------------------------------------------------------------------------


def controller(schedule: WarmupSchedule, t: float, ses: FakeSes | None = None) -> tuple[Any, ...]:
    counter = InMemoryWarmupCounter()
    deps = ControllerDeps(counter=counter, ses=ses or FakeSes(), clock=ManualClock(t))
    return counter, deps, ControllerConfig(schedules=(schedule,), lookahead_days=2)


def test_controller_writes_today_and_the_next_two_days() -> None:
    counter, deps, config = controller(daily(100, 200, 400, 800), NOON_DAY_1)
    result = run(deps, config)
    assert result["pools"]["at-pool"]["allowances"] == {
        "2026-12-01": 100,
        "2026-12-02": 200,
        "2026-12-03": 400,
    }
    assert counter.take("at-pool", dt.date(2026, 12, 3), 400)
    assert not counter.take("at-pool", dt.date(2026, 12, 4), 1)  # not written yet: shared


def test_a_second_run_on_the_same_day_keeps_what_the_senders_used() -> None:
    counter, deps, config = controller(daily(100, 200), NOON_DAY_1)
    run(deps, config)
    assert counter.take("at-pool", START, 60)
    run(deps, config)
    assert not counter.take("at-pool", START, 41)
    assert counter.take("at-pool", START, 40)


def test_after_the_schedule_every_day_is_written_without_a_cap() -> None:
    counter, deps, config = controller(daily(100), NOON_DAY_1 + 86400)
    assert run(deps, config)["pools"]["at-pool"]["phase"] == "dedicated"
    assert counter.take("at-pool", START + dt.timedelta(days=1), 1_000_000)


def test_controller_raises_the_ips_warmup_percentage_to_the_schedules_progress() -> None:
    ses = FakeSes(
        dedicated_ips=[
            {"Ip": "192.0.2.1", "PoolName": "at-pool", "WarmupStatus": "IN_PROGRESS", "WarmupPercentage": 5},
            {"Ip": "192.0.2.2", "PoolName": "at-pool", "WarmupStatus": "IN_PROGRESS", "WarmupPercentage": 80},
            {"Ip": "192.0.2.3", "PoolName": "other", "WarmupStatus": "IN_PROGRESS", "WarmupPercentage": 0},
        ]
    )
    _, deps, config = controller(daily(250, 1000), NOON_DAY_1, ses)
    run(deps, config)
    puts = ses.calls_to("put_dedicated_ip_warmup_attributes")
    assert puts == [{"Ip": "192.0.2.1", "WarmupPercentage": 25}]  # never lowered, other pool untouched


def test_a_failing_ses_warmup_call_does_not_stop_the_allowance() -> None:
    slow = client_error("TooManyRequestsException", "slow", 429, "GetDedicatedIps")
    counter, deps, config = controller(daily(100), NOON_DAY_1, FakeSes(failing={"get_dedicated_ips": slow}))
    run(deps, config)
    assert counter.take("at-pool", START, 100)


def test_controller_reads_its_pools_from_the_environment_the_construct_sets() -> None:
    pools = [{"pool": "p", "start": "2026-12-01", "caps": [7, 14], "period_days": 7, "full_daily_volume": 2}]
    config = ControllerConfig.from_env({"POOLS": json.dumps(pools), "STATE_TABLE": "t"})
    assert config.schedules[0].plan(8) == [1, 1, 1, 1, 1, 1, 1, 2]
    assert config.lookahead_days == 2


# --- sender routing ------------------------------------------------------------------------


def router(counter: InMemoryWarmupCounter) -> WarmupRouter:
    return WarmupRouter(
        counter, pool="at-pool", dedicated_configuration_set="at-dedicated", shared_configuration_set="shared"
    )


def test_recipients_go_dedicated_until_the_days_allowance_is_used_then_shared() -> None:
    counter = InMemoryWarmupCounter()
    counter.set_day("at-pool", START, 10)
    routes = [router(counter).route(4, NOON_DAY_1).configuration_set for _ in range(3)]
    assert routes == ["at-dedicated", "at-dedicated", "shared"]


def test_a_smaller_message_still_fits_the_remainder_a_larger_one_did_not() -> None:
    counter = InMemoryWarmupCounter()
    counter.set_day("at-pool", START, 10)
    chooser = router(counter)
    assert [chooser.route(n, NOON_DAY_1).dedicated for n in (8, 5, 2)] == [True, False, True]


def test_without_an_allowance_for_the_day_everything_goes_shared() -> None:
    assert router(InMemoryWarmupCounter()).route(1, NOON_DAY_1).configuration_set == "shared"


class BrokenCounter(InMemoryWarmupCounter):
    def take(self, pool: str, day: dt.date, recipients: int) -> bool:  # noqa: ARG002
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, "UpdateItem")


def test_a_failing_counter_sends_shared_at_once_rather_than_holding_mail() -> None:
    route = router(BrokenCounter()).route(3, NOON_DAY_1)
    assert (route.configuration_set, route.dedicated) == ("shared", False)


def test_routing_env_without_a_pool_gives_no_router() -> None:
    assert WarmupRouter.from_env({"WARMUP_POOL": "", "DEDICATED_CONFIGURATION_SET": ""}, None, "s") is None  # type: ignore[arg-type]


def warm_harness(allowance: int, ses: FakeSes | None = None) -> tuple[Harness, InMemoryWarmupCounter]:
    harness = Harness(ses)
    harness.clock.t = NOON_DAY_1
    counter = InMemoryWarmupCounter()
    counter.set_day("at-pool", START, allowance)
    harness.router = router(counter)  # type: ignore[attr-defined]
    return harness, counter


def run_routed(harness: Harness, *bodies: str) -> list[str]:
    records = [
        {"messageId": f"m{i}", "receiptHandle": f"rh{i}", "body": b, "eventSourceARN": QUEUE_ARN}
        for i, b in enumerate(bodies)
    ]
    deps = SenderDeps(
        ses=harness.ses, sqs=harness.sqs, limiter=harness.limiter, store=harness.store,
        clock=harness.clock, router=harness.router,  # type: ignore[attr-defined]
    )  # fmt: skip
    return [
        f["itemIdentifier"]
        for f in handle_batch({"Records": records}, deps, harness.config)["batchItemFailures"]
    ]


def test_the_sender_names_the_routed_configuration_set_in_each_send() -> None:
    harness, _ = warm_harness(5)
    run_routed(harness, message("a", recipients=3), message("b", recipients=3), message("c", recipients=2))
    sets = [call["ConfigurationSetName"] for call in harness.ses.calls]
    assert sets == ["at-dedicated", "shared", "at-dedicated"]


def test_a_send_that_certainly_failed_gives_its_recipients_back_to_the_day() -> None:
    throttled = ClientError(
        {"Error": {"Code": "TooManyRequestsException", "Message": "Maximum sending rate exceeded."}},
        "SendEmail",
    )
    harness, counter = warm_harness(5, FakeSes(throttled))
    run_routed(harness, message("a", recipients=3))
    assert counter.used("at-pool", START) == 0


@pytest.mark.parametrize("recipients", [1, 50])
def test_routing_never_makes_the_sender_wait(recipients: int) -> None:
    harness, _ = warm_harness(0)
    start = harness.clock.now()
    run_routed(harness, message("a", recipients=recipients))
    # only to the first slot after the booking's and the claim's leads: no routing wait
    deps = SenderDeps(ses=None, sqs=None, limiter=None, store=None, clock=None)  # type: ignore[arg-type]
    first_slot = slot_start(to_ms(start + deps.lead.seconds() + deps.claim_time.seconds())) / 1000
    assert sum(harness.clock.slept) <= first_slot - start + 0.001
    assert len(harness.ses.calls) == 1

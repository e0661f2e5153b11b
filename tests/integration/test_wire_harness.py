"""The wire harness itself: one real sender process (functions.sender.handler.lambda_handler,
its own boto3 clients from its environment) against the SES stand-in and moto on 127.0.0.1.

No timing is asserted: only that every message is accepted exactly once, and that a 429 from
the stand-in is seen by the handler as throttled and the message retried, not lost.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.scenarios import refused_bodies, valid_message
from tests.support.wire.measure import figures, queued_keys
from tests.support.wire.run import RunRecord, Scenario, SliceSpec, run
from tests.support.wire.ses_server import WireFaults

MESSAGES = 12
THROTTLED = 2


def test_one_sender_process_delivers_every_message_exactly_once_retries_a_429_and_dead_letters_bad_input(
    tmp_path: Path,
) -> None:
    burst = [valid_message(i, 1 + i % 3, lane="bulk", prefix="harness-") for i in range(MESSAGES)]
    scenario = Scenario(
        name="harness",
        quota=50,
        slices=(SliceSpec("at-de", 20, {"bulk": 1}),),
        seconds=25,  # a bound: the run ends as soon as every key is accepted
        drain_seconds=0,
        burst={"at-de": burst},
        bad_input={"at-de": refused_bodies(2)},  # past the producer helper: the contract refuses both
        stop_when_drained=True,
        ses_faults=WireFaults(throttle_next=THROTTLED),  # the first two SendEmail calls get a 429
        ses_latency_median_seconds=0.01,
    )

    record: RunRecord = run(scenario, tmp_path)
    result = figures(record)

    accepted = [c["idempotency_key"] for c in record.calls if c["outcome"] == "accepted"]
    assert sorted(accepted) == sorted(m["idempotency_key"] for m in burst)  # each once
    throttled = [c["idempotency_key"] for c in record.calls if c["outcome"] == "throttled"]
    assert len(throttled) == THROTTLED
    assert set(throttled) <= set(accepted)  # retried and then sent, not lost
    assert record.sender_events.get("retry/SES_THROTTLED") == THROTTLED
    assert (result["lost"], result["duplicates"]) == (0, 0)
    dead, _ = queued_keys(record)  # the bad input, each in the DLQ with its reason, never sent
    assert dead == {"bad-000000-0": "UNSUPPORTED_VERSION", "bad-000001-0": "INVALID_ADDRESS"}
    assert record.restarts == 0
    assert all(w["handler_errors"] == 0 for w in record.workers)

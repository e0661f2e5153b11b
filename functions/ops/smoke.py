"""``ses-ops smoke-send``: mail SES's mailbox simulator through a slice and wait for the events.

Each scenario is one contract-v1 message (built and enqueued by the producer, as applications
do) to one simulator address. The message's way is then followed as the platform records it:

    idempotency key ──(sender's record in <env>-ses-sending-state)──▶ SES message id
    SES message id  ──(event logger's item in <env>-ses-event-status)──▶ the recipient's state

A scenario passes when its recipient reaches the state SES's simulator produces: Delivery for
success@, Bounce for bounce@ and suppressionlist@ (on SES's suppression list: a hard bounce),
Complaint for complaint@ (after its Delivery). Mail to the simulator does not count against the
sending quota or the account's bounce and complaint rates.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from functions.common.clock import Clock
from functions.event_logger.status import HASH_KEY, read_status
from functions.sender import producer
from functions.sender.idempotency import AMBIGUOUS, FAILED, DynamoDbIdempotencyStore

SIMULATOR = {
    "success": ("success@simulator.amazonses.com", "Delivery"),
    "bounce": ("bounce@simulator.amazonses.com", "Bounce"),
    "complaint": ("complaint@simulator.amazonses.com", "Complaint"),
    "suppressionlist": ("suppressionlist@simulator.amazonses.com", "Bounce"),
}
ARRIVED, WAITING, FAILED_OUTCOME, UNEXPECTED = "arrived", "waiting", "failed", "unexpected"


@dataclass
class Probe:
    """One scenario's message and what has been seen of it so far."""

    scenario: str
    address: str
    expected: str
    idempotency_key: str
    sqs_message_id: str = ""
    ses_message_id: str | None = None
    state: str | None = None
    detail: str = ""
    outcome: str = WAITING

    @property
    def done(self) -> bool:
        return self.outcome != WAITING

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "recipient": self.address, "expected": self.expected,
                "idempotency_key": self.idempotency_key, "ses_message_id": self.ses_message_id,
                "state": self.state, "outcome": self.outcome, "detail": self.detail}  # fmt: skip


def enqueue(
    sqs: Any, queue_url: str, *, from_address: str, scenarios: Sequence[str], run_id: str | None = None,
    lane: str = "transactional",
) -> list[Probe]:  # fmt: skip
    """One message per scenario on the slice's lane queue; keys ``smoke-<run id>-<scenario>``."""
    run_id = run_id or uuid.uuid4().hex[:12]
    probes, messages = [], []
    for scenario in scenarios:
        address, expected = SIMULATOR[scenario]
        built = producer.build_messages(
            from_address=from_address, recipients=[address],
            idempotency_key_prefix=f"smoke-{run_id}-{scenario}",
            subject=f"ses-ops smoke-send {run_id}: {scenario}", text=f"Smoke test {run_id} ({scenario}).",
            lane=lane, tags={"smoke_run": run_id},
        )  # fmt: skip
        messages += built
        probes.append(Probe(scenario, address, expected, str(built[0]["idempotency_key"])))
    for probe, message_id in zip(probes, producer.send_to_queue(sqs, queue_url, messages), strict=True):
        probe.sqs_message_id = message_id
    return probes


def look(probe: Probe, *, store: DynamoDbIdempotencyStore, dynamodb: Any, status_table: str) -> None:
    """Move ``probe`` on by what the tables say now."""
    if probe.ses_message_id is None:
        record = store.get(probe.idempotency_key)
        if record is None:
            return  # not sent yet
        if record.state in (FAILED, AMBIGUOUS):
            probe.outcome, probe.detail = (
                FAILED_OUTCOME,
                f"sender: {record.state} {record.reason or ''}".strip(),
            )
            return
        probe.ses_message_id = record.ses_message_id
        if probe.ses_message_id is None:
            return  # claimed, being sent
    item = dynamodb.get_item(TableName=status_table, Key={HASH_KEY: {"S": probe.ses_message_id}}).get("Item")
    if not item:
        return
    entry = read_status(item)["recipients"].get(probe.address)
    if entry is None:
        return
    probe.state = entry["state"]
    probe.detail = " ".join(
        str(entry[k]) for k in ("bounce_type", "bounce_subtype", "status", "feedback_type") if entry.get(k)
    )
    if probe.state == probe.expected:
        probe.outcome = ARRIVED
    elif probe.state in ("Reject", "Rendering Failure") or (probe.state == "Bounce" != probe.expected):
        probe.outcome = UNEXPECTED  # final, and not what the simulator answers


def wait(
    probes: Sequence[Probe], *, store: DynamoDbIdempotencyStore, dynamodb: Any, status_table: str,
    clock: Clock, timeout_seconds: float, interval_seconds: float = 5.0,
    progress: Callable[[int, int], None] | None = None,
) -> None:  # fmt: skip
    """Poll until every probe is done or ``timeout_seconds`` have passed."""
    deadline = clock.now() + timeout_seconds
    while True:
        for probe in probes:
            if not probe.done:
                look(probe, store=store, dynamodb=dynamodb, status_table=status_table)
        if progress:
            progress(sum(p.done for p in probes), len(probes))
        if all(p.done for p in probes) or clock.now() >= deadline:
            return
        clock.sleep(min(interval_seconds, max(deadline - clock.now(), 0.0)))

"""The applications of a wire run: contract-v1 mail enqueued through the producer helper, each
message's enqueue time kept for the latency and backlog figures.

Why through ``functions.sender.producer``: that is the contract applications vendor
(``build_messages`` via :func:`tests.support.scenarios.valid_message`, ``send_to_queue`` =
SendMessageBatch), so what the senders receive is exactly what production would enqueue.
Sizes follow :func:`tests.support.scenarios.heavy_tail_recipients` (70 % one recipient, else
1 + Pareto(1) capped at 50), the distribution of the virtual-time sending benchmark.

Two ways to load: :meth:`Producer.top_up` keeps each slice's queues at ``target_messages``
(visible + in flight + delayed, as SQS reports them), so every slice holds a backlog for the
whole run while moto's queues stay small (moto slows as a queue grows; its receive scans them);
:meth:`Producer.enqueue` puts given messages on a lane at once (the sending benchmark's burst of
mails, a broadcast built with ``producer.build_messages``).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from functions.sender import producer
from tests.support.scenarios import heavy_tail_recipients, valid_message
from tests.support.wire.resources import SliceResources

DEPTH_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class Enqueued:
    key: str
    slice: str
    lane: str
    recipients: int
    at: float  # epoch seconds, when SendMessageBatch returned


class Producer:
    """Enqueues for every slice of a run; thread-safe (one top-up thread, other callers)."""

    def __init__(
        self,
        sqs: Any,
        slices: Sequence[SliceResources],
        *,
        lane_weights: Mapping[str, Mapping[str, float]],
        seed: int = 1,
    ) -> None:
        self.sqs = sqs
        self.slices = {s.name: s for s in slices}
        self.lane_weights = lane_weights  # slice → lane → weight (lanes with senders only)
        self._rng = random.Random(seed)  # noqa: S311 - a reproducible workload
        self._lock = threading.Lock()
        self._index = 0
        self.enqueued: list[Enqueued] = []
        self.errors: list[str] = []

    def enqueue(self, slice_name: str, lane: str, messages: Sequence[dict[str, Any]]) -> None:
        url = self.slices[slice_name].lanes[lane].url
        for start in range(0, len(messages), 10):
            chunk = messages[start : start + 10]
            producer.send_to_queue(self.sqs, url, chunk)
            at = time.time()
            with self._lock:
                self.enqueued += [
                    Enqueued(m["idempotency_key"], slice_name, lane, _recipients(m), at) for m in chunk
                ]

    def enqueue_raw(self, slice_name: str, lane: str, bodies: Sequence[tuple[str, str]]) -> None:
        """Put ``(idempotency key, body)`` pairs on a lane as they are, past the producer helper
        (which refuses what the contract refuses): bad input an application without the helper
        could send. Recorded with 0 recipients."""
        url = self.slices[slice_name].lanes[lane].url
        for start in range(0, len(bodies), 10):
            chunk = bodies[start : start + 10]
            entries = [{"Id": str(i), "MessageBody": body} for i, (_, body) in enumerate(chunk)]
            response = self.sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if response.get("Failed"):
                self.errors.append(f"raw enqueue refused: {response['Failed']}")
            at = time.time()
            with self._lock:
                self.enqueued += [Enqueued(key, slice_name, lane, 0, at) for key, _ in chunk]

    def heavy_tailed(self, slice_name: str, count: int) -> dict[str, list[dict[str, Any]]]:
        """``count`` new messages for a slice, by lane (sizes and lanes from the seeded RNG)."""
        weights = self.lane_weights[slice_name]
        lanes = list(weights)
        by_lane: dict[str, list[dict[str, Any]]] = {lane: [] for lane in lanes}
        with self._lock:
            for _ in range(count):
                self._index += 1
                lane = self._rng.choices(lanes, weights=[weights[x] for x in lanes])[0]
                size = heavy_tail_recipients(self._rng)
                by_lane[lane].append(valid_message(self._index, size, lane=lane, prefix=f"{slice_name}-"))
        return by_lane

    def depth(self, slice_name: str) -> int:
        total = 0
        for lane in self.lane_weights[slice_name]:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.slices[slice_name].lanes[lane].url, AttributeNames=list(DEPTH_ATTRIBUTES)
            )["Attributes"]
            total += sum(int(attributes.get(name, 0)) for name in DEPTH_ATTRIBUTES)
        return total

    def top_up_once(self, target_messages: int, max_per_round: int = 60) -> None:
        for name in self.lane_weights:
            missing = min(target_messages - self.depth(name), max_per_round)
            if missing > 0:
                for lane, messages in self.heavy_tailed(name, missing).items():
                    self.enqueue(name, lane, messages)

    def top_up(
        self, target_messages: int, stop: threading.Event, interval_seconds: float = 0.5
    ) -> threading.Thread:
        """Start a thread that tops the queues up every ``interval_seconds`` until ``stop``."""

        def loop() -> None:
            while not stop.is_set():
                try:
                    self.top_up_once(target_messages)
                except Exception as exc:  # the run goes on; the figures say how much was offered
                    self.errors.append(repr(exc))
                stop.wait(interval_seconds)

        thread = threading.Thread(target=loop, name="producer", daemon=True)
        thread.start()
        return thread

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(e) for e in self.enqueued]


def _recipients(message: Mapping[str, Any]) -> int:
    return sum(len(message.get(part) or []) for part in ("to", "cc", "bcc"))

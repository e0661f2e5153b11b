"""The AWS resources of a wire run, made through moto's API the way the constructs define them.

Why through the API and with the constructs' shapes: the Lambdas find their queues and table
through the environment alone, exactly as deployed, so names, ARNs, the lanes' redrive policy
(``maxReceiveCount`` to the slice's DLQ: redrive is SQS's own, never the harness's) and the
visibility timeout (six times the sender's timeout plus the batching window, as
``CapacitySliceProps.visibility_timeout_seconds``) follow ``modules/capacity_slice``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tests.support.aws import create_state_table

ENVIRONMENT = "wire"
LANES = ("transactional", "bulk")


@dataclass(frozen=True)
class Queue:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class SliceResources:
    """One capacity slice as deployed: its lanes, its DLQ, its guaranteed rate."""

    name: str
    rate_per_second: float
    lanes: Mapping[str, Queue]
    dlq: Queue
    max_receive_count: int

    @property
    def queue_urls(self) -> dict[str, str]:
        """Lane ARN → URL, as the sender's ``QUEUE_URLS``."""
        return {q.arn: q.url for q in self.lanes.values()}


def queue(sqs: Any, name: str, attributes: Mapping[str, str] | None = None) -> Queue:
    url = sqs.create_queue(QueueName=name, Attributes=dict(attributes or {}))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(name, url, arn)


def create_slice(
    sqs: Any,
    name: str,
    rate_per_second: float,
    *,
    lanes: Sequence[str] = LANES,
    max_receive_count: int = 5,
    sender_timeout_seconds: int = 60,
    max_batching_window_seconds: int = 1,
) -> SliceResources:
    prefix = f"{ENVIRONMENT}-{name}"
    dlq = queue(sqs, f"{prefix}-dlq")
    attributes = {
        "VisibilityTimeout": str(6 * sender_timeout_seconds + max_batching_window_seconds),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": max_receive_count}),
    }
    made = {lane: queue(sqs, f"{prefix}-{lane}", attributes) for lane in lanes}
    return SliceResources(name, rate_per_second, made, dlq, max_receive_count)


def create_table(dynamodb: Any, name: str = f"{ENVIRONMENT}-state") -> str:
    """The account-region state table (``tests.support.aws``: the construct's key and TTL)."""
    create_state_table(dynamodb, name)
    return name

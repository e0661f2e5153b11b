"""How many DynamoDB requests a second the moto stand-in (with its serialising layer) serves, and
whether its conditional writes are atomic under concurrency.

Why measured and reported with every wire benchmark: on the wire every reservation, claim and
tick is a DynamoDB round trip to one Python process, so a wire figure means something only while
the load stays below this ceiling. The probe is the limiter's own pattern: a strongly consistent
GetItem, then an UpdateItem conditioned on the version read (optimistic concurrency), from
``threads`` threads at once, on one hot item (every sender of a slice on its limiter item) and
on an item per thread. Atomic means: final version == successful conditional writes.
"""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
import threading
import time
import urllib.request
import uuid
from typing import Any

import boto3
from botocore.config import Config

from tests.support.wire.environment import REGION


def _client(endpoint: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, max_pool_connections=4),
    )


def _increment(endpoint: str, table: str, keys: list[str], deadline: float, threads: int) -> dict[str, int]:
    """One client process: ``threads`` threads, each on ``keys[i % len(keys)]`` until ``deadline``
    (epoch seconds, so every process stops together)."""
    counts = {"requests": 0, "successes": 0, "conflicts": 0, "errors": 0}
    lock = threading.Lock()

    def work(i: int) -> None:
        client, key = _client(endpoint), {"pk": {"S": keys[i % len(keys)]}}
        mine = dict.fromkeys(counts, 0)
        while time.time() < deadline:
            item = client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item") or {}
            version = int(item.get("version", {}).get("N", "0"))
            try:
                client.update_item(
                    TableName=table,
                    Key=key,
                    UpdateExpression="SET version = :new",
                    ConditionExpression="attribute_not_exists(version) OR version = :old",
                    ExpressionAttributeValues={":new": {"N": str(version + 1)}, ":old": {"N": str(version)}},
                )
                mine["successes"] += 1
            except client.exceptions.ConditionalCheckFailedException:
                mine["conflicts"] += 1
            except Exception:
                mine["errors"] += 1
            mine["requests"] += 2
        with lock:
            for name, value in mine.items():
                counts[name] += value

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return counts


def conditional_increments(
    endpoint: str, table: str, *, seconds: float, processes: int, threads: int, hot: bool
) -> dict[str, Any]:
    """``processes`` x ``threads`` clients increment version counters; see the module docstring.
    Several client processes, because one Python client process (its GIL) tops out below moto."""
    run = uuid.uuid4().hex[:8]  # fresh items: every count starts at 0 for this probe
    keys = [f"probe#{run}#hot"] if hot else [f"probe#{run}#{i}" for i in range(processes * threads)]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
        warm = [
            pool.submit(_client, endpoint) for _ in range(processes)
        ]  # imports boto3 before the clock runs
        for future in warm:
            future.exception()
        deadline = time.time() + seconds
        futures = [
            pool.submit(
                _increment, endpoint, table, keys[p * threads : (p + 1) * threads] or keys, deadline, threads
            )
            for p in range(processes)
        ]
        results = [f.result() for f in futures]
    counts = {name: sum(r[name] for r in results) for name in results[0]}
    client = _client(endpoint)
    final = sum(
        int(
            (client.get_item(TableName=table, Key={"pk": {"S": k}}).get("Item") or {})
            .get("version", {})
            .get("N", "0")
        )
        for k in keys
    )
    return {
        **counts,
        "clients": f"{processes} processes x {threads} threads",
        "items": len(keys),
        "seconds": seconds,
        "requests_per_second": round(counts["requests"] / seconds, 1),
        "final_version": final,
        "atomic": final == counts["successes"],
    }


def server_side_service_ms(endpoint: str) -> dict[str, float]:
    """Mean time inside moto per DynamoDB operation, from the layer's own counters."""
    with urllib.request.urlopen(f"{endpoint}/_wire/stats", timeout=10) as response:  # noqa: S310 - loopback
        stats = json.loads(response.read())
    return {
        op: round(1000 * s["busy_seconds"] / s["requests"], 3)
        for op, s in stats.items()
        if op.startswith("DynamoDB.") and s["requests"]
    }


def measure(
    endpoint: str, table: str, *, seconds: float = 3.0, processes: int = 3, threads: int = 4
) -> dict[str, Any]:
    """Both probes, and moto's own service times; ``ceiling_requests_per_second`` is the better
    of the two measured rates (the machine's other work shares the same two cores)."""
    hot = conditional_increments(
        endpoint, table, seconds=seconds, processes=processes, threads=threads, hot=True
    )
    spread = conditional_increments(
        endpoint, table, seconds=seconds, processes=processes, threads=threads, hot=False
    )
    return {
        "ceiling_requests_per_second": max(hot["requests_per_second"], spread["requests_per_second"]),
        "hot_item": hot,
        "item_per_client": spread,
        "service_ms_inside_moto": server_side_service_ms(endpoint),
        "round": "strongly consistent GetItem, then UpdateItem conditioned on the version read",
    }

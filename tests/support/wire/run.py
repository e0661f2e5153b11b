"""One wire run: stand-ins up, resources made, every Lambda in its own process, load, then the
raw record of what happened - and every process and server gone, whatever failed.

Why one function with a declarative :class:`Scenario`: the heartbeat benchmark (three slices,
the heartbeat, an outage) and a sending benchmark (one slice, eight senders, a burst of 300
mails or a 900-recipient broadcast, no heartbeat) differ only in data. Why the raw record
(:class:`RunRecord`) and not figures: measuring is :mod:`tests.support.wire.measure`'s job, and
a record can be measured again under another definition. Bounds: every wait has a timeout, the
load phase ``seconds`` plus ``drain_seconds`` is fixed in advance, senders get ``stop_grace``
seconds to finish the invocation they are in, and every child also stops by itself if this
process dies (``services.watch_parent``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.support.wire import environment as envs
from tests.support.wire.load import Producer
from tests.support.wire.resources import SliceResources, create_slice, create_table
from tests.support.wire.services import ProcessGroup, write_file_atomically
from tests.support.wire.ses_server import SesControl, WireFaults

DOMAIN = "news.example.at"


@dataclass(frozen=True)
class SliceSpec:
    """A slice and its senders: ``senders`` maps lane → concurrent sender processes (the event
    source mapping's maximum concurrency for that lane)."""

    name: str
    rate_per_second: float
    senders: Mapping[str, int]


@dataclass(frozen=True)
class HeartbeatSpec:
    headroom: float = 1.0
    outage: tuple[float, float] | None = None  # seconds after t0: no ticks in [start, end)


@dataclass(frozen=True)
class Scenario:
    """Everything a run depends on. Load: ``top_up_messages`` per slice kept queued during
    ``seconds`` and/or ``burst`` (slice → contract-v1 messages, enqueued at t0 on each message's
    lane). ``stop_when_drained`` ends the load phase early once every enqueued key but the
    ``bad_input`` ones is accepted."""

    name: str
    quota: float
    slices: tuple[SliceSpec, ...]
    seconds: float
    drain_seconds: float = 10.0
    heartbeat: HeartbeatSpec | None = None
    top_up_messages: int | None = None
    burst: Mapping[str, list[dict[str, Any]]] = field(default_factory=dict)
    bad_input: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Slice → ``(idempotency key, body)`` put on its bulk lane at t0 past the producer helper: the
    contract refuses each, so each must end in the DLQ with a reason code (a run has drained
    without them)."""
    stop_when_drained: bool = False
    ses_latency_median_seconds: float = 0.085
    ses_faults: WireFaults = field(default_factory=WireFaults)
    sender_timeout_seconds: int = 60
    batch_size: int = 10
    poll_wait_seconds: int = 1
    max_receive_count: int = 5
    stop_grace: float = 15.0
    seed: int = 1


@dataclass
class RunRecord:
    scenario: Scenario
    t0: float
    load_ended_at: float
    ended_at: float
    calls: list[dict[str, Any]]
    enqueued: list[dict[str, Any]]
    queues: dict[str, list[dict[str, Any]]]
    slices: list[SliceResources]
    workers: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    sender_events: dict[str, int]
    moto: dict[str, Any]
    restarts: int
    exits: dict[str, list[int]]  # per sender process name: exit codes of its sandboxes (-9: killed at stop)
    producer_errors: list[str]
    run_dir: Path
    cpu_seconds: dict[str, float]  # per process, until the load and drain ended (restarted: last one)
    startup_seconds: float


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=envs.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def start_stand_ins(group: ProcessGroup, scenario: Scenario) -> envs.Endpoints:
    """The SES stand-in and two moto servers (DynamoDB and SQS: a GIL each), on free ports."""
    d = group.run_dir
    group.start(
        "ses",
        "tests.support.wire.ses_server",
        [
            "--port-file", str(d / "ses.port"), "--max-send-rate", str(scenario.quota),
            "--latency-median-seconds", str(scenario.ses_latency_median_seconds),
            "--faults", json.dumps(scenario.ses_faults.__dict__), "--verified-domain", DOMAIN,
            "--seed", str(scenario.seed), "--max-seconds", str(_bound(scenario) + 120),
        ],
        env={},
    )  # fmt: skip
    for service in ("dynamodb", "sqs"):
        group.start(
            f"moto-{service}",
            "tests.support.wire.moto_server",
            ["--port-file", str(d / f"moto-{service}.port"), "--max-seconds", str(_bound(scenario) + 120)],
            env={},
        )
    return envs.Endpoints(
        ses=group.wait_for_file("ses", d / "ses.port"),
        dynamodb=group.wait_for_file("moto-dynamodb", d / "moto-dynamodb.port"),
        sqs=group.wait_for_file("moto-sqs", d / "moto-sqs.port"),
    )


def _bound(scenario: Scenario) -> float:
    """The longest a run's children may live (startup allowance + load + drain + stop)."""
    return 90 + scenario.seconds + scenario.drain_seconds + scenario.stop_grace


def start_lambdas(
    group: ProcessGroup,
    scenario: Scenario,
    endpoints: envs.Endpoints,
    table: str,
    slices: list[SliceResources],
) -> list[str]:
    """Every sender sandbox and the heartbeat; returns the names of the sender processes."""
    d, aws = group.run_dir, envs.aws_environment(endpoints)
    until = time.time() + _bound(scenario)
    names = []
    for spec, resources in zip(scenario.slices, slices, strict=True):
        function = f"{envs.REGION}-{spec.name}-sender"
        env = {
            **aws,
            **envs.lambda_runtime_environment(
                function, timeout_seconds=scenario.sender_timeout_seconds, memory_mb=256
            ),
            **envs.sender_environment(
                resources,
                state_table=table,
                allowed_from_domains=[DOMAIN],
                account_rate_per_second=scenario.quota
                * (scenario.heartbeat.headroom if scenario.heartbeat else 1.0),
            ),
        }
        for lane, count in spec.senders.items():
            queue = resources.lanes[lane]
            for i in range(count):
                name = f"sender-{spec.name}-{lane}-{i}"
                args = [
                    "--function-name", function, "--queue-url", queue.url, "--queue-arn", queue.arn,
                    "--batch-size", str(scenario.batch_size),
                    "--wait-seconds", str(scenario.poll_wait_seconds),
                    "--timeout-seconds", str(scenario.sender_timeout_seconds), "--until", str(until),
                    "--ready", str(d / f"{name}.ready"), "--stats", str(d / f"{name}.stats"),
                ]  # fmt: skip
                group.start(name, "tests.support.wire.esm", args, env=env, restart=True)
                names.append(name)
    if scenario.heartbeat is not None:
        hb = scenario.heartbeat
        env = {
            **aws,
            **envs.lambda_runtime_environment("wire-heartbeat", timeout_seconds=5, memory_mb=128),
            **envs.heartbeat_environment(slices, state_table=table, headroom=hb.headroom),
        }
        args = [
            # ticks until the senders are stopped (+5 s: still alive when its CPU time is read)
            "--start-file", str(d / "t0"), "--seconds", str(scenario.seconds + scenario.drain_seconds + 5),
            "--ticks", str(d / "ticks.jsonl"), "--ready", str(d / "heartbeat.ready"),
            "--max-seconds", str(_bound(scenario)),
        ]  # fmt: skip
        if hb.outage is not None:
            args += ["--outage-start", str(hb.outage[0]), "--outage-end", str(hb.outage[1])]
        group.start("heartbeat", "tests.support.wire.heartbeat_driver", args, env=env)
    for name in [*names, *(["heartbeat"] if scenario.heartbeat else [])]:
        ready = d / ("heartbeat.ready" if name == "heartbeat" else f"{name}.ready")
        group.wait_for_file(name, ready, timeout=90)
    return names


def run(scenario: Scenario, run_dir: Path) -> RunRecord:
    started = time.monotonic()
    with ProcessGroup(run_dir) as group:
        endpoints = start_stand_ins(group, scenario)
        sqs, dynamodb = _client("sqs", endpoints.sqs), _client("dynamodb", endpoints.dynamodb)
        table = create_table(dynamodb)
        slices = [
            create_slice(
                sqs,
                s.name,
                s.rate_per_second,
                max_receive_count=scenario.max_receive_count,
                sender_timeout_seconds=scenario.sender_timeout_seconds,
            )
            for s in scenario.slices
        ]
        senders = start_lambdas(group, scenario, endpoints, table, slices)
        weights = {s.name: {lane: float(n) for lane, n in s.senders.items() if n} for s in scenario.slices}
        producer = Producer(sqs, slices, lane_weights=weights, seed=scenario.seed)
        ses = SesControl(endpoints.ses)
        startup = time.monotonic() - started
        # A burst is enqueued at t0; a kept backlog is filled just before it, so every slice is
        # backlogged from the first measured second (the fill takes seconds on a busy machine).
        stop = threading.Event()
        thread = None
        if scenario.top_up_messages:
            producer.top_up_once(scenario.top_up_messages, max_per_round=scenario.top_up_messages)
        t0 = time.time()
        write_file_atomically(run_dir / "t0", repr(t0))
        for slice_name, messages in scenario.burst.items():
            for lane in {m["lane"] for m in messages}:
                producer.enqueue(slice_name, lane, [m for m in messages if m["lane"] == lane])
        for slice_name, bodies in scenario.bad_input.items():
            producer.enqueue_raw(slice_name, "bulk", bodies)
        if scenario.top_up_messages:
            thread = producer.top_up(scenario.top_up_messages, stop)
        restarts = _supervise(group, t0 + scenario.seconds, scenario, producer, ses)
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
        load_ended = time.time()
        restarts += _supervise(group, load_ended + scenario.drain_seconds, scenario, producer, ses)
        cpu = group.cpu_seconds()
        group.stop([*senders, *(["heartbeat"] if scenario.heartbeat else [])], grace=scenario.stop_grace)
        ended = time.time()
        return RunRecord(
            scenario=scenario,
            t0=t0,
            load_ended_at=load_ended,
            ended_at=ended,
            calls=ses.stats()["calls"],
            enqueued=producer.records(),
            queues=_get_json(f"{endpoints.sqs}/_wire/queues"),
            slices=slices,
            workers=[json.loads(p.read_text()) for p in sorted(run_dir.glob("*.stats.*.json"))],
            ticks=[json.loads(line) for line in _lines(run_dir / "ticks.jsonl")],
            sender_events=_sender_events(run_dir, senders),
            moto={s: _get_json(f"{getattr(endpoints, s)}/_wire/stats") for s in ("dynamodb", "sqs")},
            restarts=restarts,
            exits={name: list(group.children[name].exit_codes) for name in senders},
            cpu_seconds=cpu,
            producer_errors=producer.errors,
            run_dir=run_dir,
            startup_seconds=round(startup, 1),
        )


def _supervise(
    group: ProcessGroup, until: float, scenario: Scenario, producer: Producer, ses: SesControl
) -> int:
    restarts = 0
    while time.time() < until:
        restarts += len(group.supervise())
        if scenario.stop_when_drained and _drained(producer, ses, _bad_keys(scenario)):
            break
        time.sleep(0.5)
    return restarts


def _bad_keys(scenario: Scenario) -> set[str]:
    return {key for bodies in scenario.bad_input.values() for key, _ in bodies}


def _drained(producer: Producer, ses: SesControl, bad: AbstractSet[str] = frozenset()) -> bool:
    keys = {e["key"] for e in producer.records()} - bad
    # a reply held past the sender's read timeout was accepted all the same (SES sends it)
    accepted = {
        c["idempotency_key"]
        for c in ses.stats()["calls"]
        if c["outcome"] in {"accepted", "timeout_after_accept"}
    }
    return bool(keys) and keys <= accepted


def _get_json(url: str) -> Any:
    import urllib.request

    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - a loopback stand-in
        return json.loads(response.read())


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _sender_events(run_dir: Path, senders: list[str]) -> dict[str, int]:
    """The handlers' decisions, from their JSON log lines: ``event`` and ``event/reason_code``."""
    counts: Counter[str] = Counter()
    for name in senders:
        for line in _lines(run_dir / f"{name}.log"):
            if not line.startswith("{"):
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if "event" not in entry:  # the metrics (Embedded Metric Format) lines
                continue
            event = str(entry["event"])
            counts[event] += 1
            if entry.get("reason_code"):
                counts[f"{event}/{entry['reason_code']}"] += 1
    return dict(sorted(counts.items()))

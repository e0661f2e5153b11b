"""Figures of a wire run, computed from its raw record (:class:`tests.support.wire.run.RunRecord`).

Why from the SES stand-in's record: it is the one clock that matters (SES counts by arrival) and
the one witness no sender can flatter: every call with its arrival time, recipients, outcome
and the ``idempotency_key`` / ``slice`` tags. Enqueue times come from the producer, the final
contents of every queue (DLQ included) from moto; a key is *lost* only if SES never accepted it
and it is neither in a DLQ nor still in a lane queue (visible, in flight or delayed).

Seconds are whole seconds ``[t0 + i, t0 + i + 1)`` of the load phase. A slice's *backlog* at
``t`` is the recipients of its keys enqueued by ``t`` and not yet accepted by ``t`` (keys that
ended in a DLQ are left out); a slice is *backlogged* in second ``i`` when its backlog at both
ends of the second is at least its guaranteed rate, the account when the slices' backlogs add up
to at least the quota at both ends (enough mail waited to fill the second).
"""

from __future__ import annotations

import bisect
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from tests.support.ses_model import Attempt, over_rate
from tests.support.wire.run import RunRecord

ACCEPTED = {"accepted", "timeout_after_accept"}


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` in 0..1); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _series(record: RunRecord, seconds: int) -> dict[str, Any]:
    names = [s.name for s in record.scenario.slices]
    accepted = {n: [0] * seconds for n in names}
    throttled = {n: [0] * seconds for n in names}
    attempted = [0] * seconds
    for call in record.calls:
        i = math.floor(call["at"] - record.t0)
        if not 0 <= i < seconds:
            continue
        attempted[i] += call["recipients"]
        name = call.get("slice")
        if name in accepted and call["outcome"] in ACCEPTED:
            accepted[name][i] += call["recipients"]
        elif name in throttled and call["outcome"] == "throttled":
            throttled[name][i] += call["recipients"]
    return {"accepted": accepted, "throttled": throttled, "attempted": attempted}


def first_accepts(record: RunRecord) -> dict[str, float]:
    out: dict[str, float] = {}
    for call in sorted(record.calls, key=lambda c: c["at"]):
        key = call.get("idempotency_key")
        if key and call["outcome"] in ACCEPTED and key not in out:
            out[key] = call["at"]
    return out


def queued_keys(record: RunRecord) -> tuple[dict[str, str], set[str]]:
    """(key → DLQ reason for keys in a DLQ, keys still in a lane queue) at the end of the run."""
    dead: dict[str, str] = {}
    queued: set[str] = set()
    for queue, messages in record.queues.items():
        for message in messages:
            try:
                key = str(json.loads(message["body"]).get("idempotency_key"))
            except (ValueError, AttributeError):
                continue
            if queue.endswith("-dlq"):
                dead[key] = (message.get("attributes") or {}).get("reason_code") or "REDRIVEN_BY_SQS"
            else:
                queued.add(key)
    return dead, queued


def _backlog(
    record: RunRecord, seconds: int, accepts: dict[str, float], dead: dict[str, str]
) -> dict[str, list[int]]:
    """Per slice, the backlog in recipients at ``t0 + i`` for ``i`` in ``0..seconds``."""
    events: dict[str, list[tuple[float, int]]] = defaultdict(list)
    seen: set[str] = set()
    for e in record.enqueued:
        if e["key"] in dead or e["key"] in seen:
            continue
        seen.add(e["key"])
        events[e["slice"]].append((e["at"], e["recipients"]))
        if e["key"] in accepts:
            events[e["slice"]].append((max(accepts[e["key"]], e["at"]), -e["recipients"]))
    out = {}
    for spec in record.scenario.slices:
        ordered = sorted(events[spec.name])
        times = [t for t, _ in ordered]
        running, total = [], 0
        for _, delta in ordered:
            total += delta
            running.append(total)
        out[spec.name] = [
            running[k - 1] if (k := bisect.bisect_right(times, record.t0 + i)) else 0
            for i in range(seconds + 1)
        ]
    return out


def figures(record: RunRecord) -> dict[str, Any]:
    scenario, t0 = record.scenario, record.t0
    seconds = max(1, math.floor(min(scenario.seconds, record.load_ended_at - t0)))
    quota = scenario.quota
    series = _series(record, seconds)
    accepts = first_accepts(record)
    dead, queued = queued_keys(record)
    backlog = _backlog(record, seconds, accepts, dead)
    names = [s.name for s in scenario.slices]
    total_backlog = [sum(backlog[n][i] for n in names) for i in range(seconds + 1)]
    busy = [i for i in range(seconds) if min(total_backlog[i], total_backlog[i + 1]) >= quota]
    accepted_total = [sum(series["accepted"][n][i] for n in names) for i in range(seconds)]
    in_window = [c for c in record.calls if t0 <= c["at"] < t0 + seconds]
    attempts = [Attempt(c["at"], c["recipients"], c["outcome"], c.get("idempotency_key")) for c in in_window]
    slices = {}
    for spec in scenario.slices:
        g, acc = spec.rate_per_second, series["accepted"][spec.name]
        mine = [i for i in range(seconds) if min(backlog[spec.name][i], backlog[spec.name][i + 1]) >= g]
        held = set(mine)
        rates = [
            sum(acc[i : i + 5]) / 5 for i in range(seconds - 4) if all(j in held for j in range(i, i + 5))
        ]
        slices[spec.name] = {
            "guaranteed": g,
            "lowest_5s_rate": min(rates) if rates else None,
            "backlogged_seconds": len(mine),
            "mean_rate_when_backlogged": round(sum(acc[i] for i in mine) / len(mine), 2) if mine else None,
            "accepted_recipients": sum(acc),
            "throttled_recipients": sum(series["throttled"][spec.name]),
        }
    enqueued_keys = {e["key"]: e for e in record.enqueued}
    sends = Counter(c.get("idempotency_key") for c in record.calls if c["outcome"] in ACCEPTED)
    lost = [k for k in enqueued_keys if k not in accepts and k not in dead and k not in queued]
    first_enqueue: dict[str, float] = {}
    for e in record.enqueued:
        first_enqueue.setdefault(e["key"], e["at"])
    latencies = [max(0.0, accepts[k] - first_enqueue[k]) for k in first_enqueue if k in accepts]
    throttled_calls = sum(1 for c in in_window if c["outcome"] == "throttled")
    out: dict[str, Any] = {
        "seconds": seconds,
        "quota": quota,
        "over_quota_seconds": sum(1 for v in series["attempted"] if v > quota),
        "over_quota_windows": len({math.floor(o.at - t0) for o in over_rate(attempts, quota)}),
        "accepted_over_quota_windows": len(
            {math.floor(o.at - t0) for o in over_rate(attempts, quota, accepted_only=True)}
        ),
        "ses_calls": len(in_window),
        "throttled_calls": throttled_calls,
        "throttled_fraction": round(throttled_calls / len(in_window), 4) if in_window else None,
        "accepted_recipients": sum(accepted_total),
        "utilization_when_backlogged": round(sum(accepted_total[i] for i in busy) / (quota * len(busy)), 4)
        if busy
        else None,
        "backlogged_seconds": len(busy),
        "slices": slices,
        "messages_enqueued": len(enqueued_keys),
        "recipients_enqueued": sum(e["recipients"] for e in enqueued_keys.values()),
        "messages_accepted": len(accepts),
        # a burst's completion (the sending benchmarks): last first-acceptance, once all are in
        "drained_at_seconds": round(max(accepts.values()) - t0, 3)
        if accepts and set(enqueued_keys) <= set(accepts)
        else None,
        "lost": len(lost),
        "lost_keys_sample": sorted(lost)[:10],
        "duplicates": sum(1 for k, n in sends.items() if k and n > 1),
        "still_queued": len(queued - set(accepts)),
        "dead_lettered": len(dead),
        "dead_letter_reasons": dict(Counter(dead.values())),
        "latency_seconds": {
            "p50": _round(percentile(latencies, 0.5)),
            "p99": _round(percentile(latencies, 0.99)),
            "max": _round(max(latencies, default=None)),
            "over": "messages SES accepted: enqueue (SendMessageBatch returned) → first accepted arrival",
        },
        "series": series | {"backlog": {n: v[:seconds] for n, v in backlog.items()}},
    }
    if scenario.heartbeat and scenario.heartbeat.outage:
        out["outage_window"] = _outage(scenario.heartbeat.outage, series, names, seconds, quota)
    return out | {"run": run_facts(record)}


def _outage(
    outage: tuple[float, float], series: dict[str, Any], names: list[str], seconds: int, quota: float
) -> dict[str, Any]:
    lo, hi = max(0, math.ceil(outage[0])), min(seconds, math.floor(outage[1]))
    span = max(1, hi - lo)
    return {
        "seconds": [lo, hi],
        "mean_rate_per_slice": {n: round(sum(series["accepted"][n][lo:hi]) / span, 2) for n in names},
        "mean_total_rate": round(sum(sum(series["accepted"][n][lo:hi]) for n in names) / span, 2),
        "over_quota_seconds": sum(1 for v in series["attempted"][lo:hi] if v > quota),
    }


def run_facts(record: RunRecord) -> dict[str, Any]:
    """How the machinery itself behaved: sandboxes, ticks, and the stand-ins' load."""
    duration = max(1e-9, record.ended_at - record.t0)
    took = [t["took"] * 1000 for t in record.ticks]
    dynamodb = record.moto.get("dynamodb", {})
    sqs = record.moto.get("sqs", {})
    return {
        "startup_seconds": record.startup_seconds,
        "wall_seconds_after_t0": round(duration, 1),
        "sandboxes_started": len(record.exits) + record.restarts,
        "sandbox_restarts": record.restarts,
        # a sandbox still inside an invocation when the run stopped, after the stop grace
        "sandboxes_killed_at_stop": sum(codes.count(-9) for codes in record.exits.values()),
        "invocations": sum(w["invocations"] for w in record.workers),
        "records": sum(w["records"] for w in record.workers),
        "handler_errors": sum(w["handler_errors"] for w in record.workers),
        "invocation_timeouts": sum(1 for w in record.workers if w["timed_out"]),
        "sender_events": record.sender_events,
        "heartbeat_ticks": len(record.ticks),
        "heartbeat_tick_errors": sum(
            1 for t in record.ticks if "error" in t or (t.get("result") or {}).get("skipped")
        ),
        "heartbeat_tick_ms": {"p50": _round(percentile(took, 0.5)), "p99": _round(percentile(took, 0.99))},
        "dynamodb_requests_per_second": round(sum(v["requests"] for v in dynamodb.values()) / duration, 1),
        # time inside moto (locks included) per second: the mean number of requests in flight
        "dynamodb_requests_in_flight": round(sum(v["busy_seconds"] for v in dynamodb.values()) / duration, 3),
        "sqs_requests_per_second": round(sum(v["requests"] for v in sqs.values()) / duration, 1),
        "producer_errors": len(record.producer_errors),
        "stand_in_ms_per_request": {
            op: round(1000 * v["busy_seconds"] / v["requests"], 1)
            for op, v in {**dynamodb, **sqs}.items()
            if v["requests"] >= 20 and op != "AmazonSQS.ReceiveMessage"  # a long poll's wait is no service
        },
        "cpu_seconds": _cpu_by_role(record.cpu_seconds),
    }


def _cpu_by_role(cpu: dict[str, float]) -> dict[str, float]:
    """CPU seconds per kind of process (all senders together), to see who had the two cores."""
    roles: defaultdict[str, float] = defaultdict(float)
    for name, seconds in cpu.items():
        roles["senders" if name.startswith("sender-") else name] += seconds
    return {role: round(seconds, 1) for role, seconds in sorted(roles.items())}


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)

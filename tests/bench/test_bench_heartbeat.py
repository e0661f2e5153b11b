"""Heartbeat benchmark -> bench-results/heartbeat.json + heartbeat.png (virtual time; see
tests/integration/test_heartbeat_sim.py for the world). Goals are reported, not asserted, except
the safety ones (0 over-quota seconds, nothing lost or duplicated)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from tests.integration.test_heartbeat_sim import GUARANTEED, QUOTA, SimResult, over_quota_seconds, run_sim

RESULTS = Path(__file__).resolve().parents[2] / "bench-results"
OUTAGE = (100.0, 160.0)
SECONDS_PER_MONTH = 30 * 86_400  # 2 592 000

PRICES = {  # us-east-1, public list prices (checked 2025)
    "step_functions_express_per_million_requests": 1.00,
    "step_functions_express_per_gb_second": 0.00001667,  # first 1 000 h GB; billed in 64 MB, 100 ms
    "step_functions_standard_per_million_transitions": 25.00,
    "lambda_arm64_per_gb_second": 0.0000133334,  # = $0.0000000017 per ms at 128 MB
    "lambda_per_million_requests": 0.20,
    "eventbridge_scheduler_per_million_invocations": 1.00,  # after 14 M free per month
    "dynamodb_on_demand_per_million_write_request_units": 0.625,
    "dynamodb_on_demand_per_million_read_request_units": 0.125,
    "sqs_standard_per_million_requests": 0.40,  # after 1 M free; 64 KB chunks
    "cloudwatch_logs_ingestion_per_gb": 0.50,
    "cloudwatch_alarm_per_month": 0.10,
}
HEARTBEAT_ALARMS = 3  # executions failed, Lambda errors, not running (modules/heartbeat)


def cost_model(slices: int = 3) -> dict[str, Any]:
    p = PRICES
    executions = SECONDS_PER_MONTH / 60  # one Express execution per minute
    ticks = SECONDS_PER_MONTH  # one Lambda invocation per second
    sfn_requests = executions * p["step_functions_express_per_million_requests"] / 1e6
    sfn_duration = executions * 60 * (64 / 1024) * p["step_functions_express_per_gb_second"]
    lambda_ms = 60
    lam = ticks * (
        p["lambda_per_million_requests"] / 1e6
        + lambda_ms / 1000 * (128 / 1024) * p["lambda_arm64_per_gb_second"]
    )
    scheduler = executions * p["eventbridge_scheduler_per_million_invocations"] / 1e6
    logs = ticks * 400 / 1e9 * p["cloudwatch_logs_ingestion_per_gb"]
    alarms = HEARTBEAT_ALARMS * p["cloudwatch_alarm_per_month"]
    # per tick, for the whole account-region: one consistent GetItem of the send ledger (<= 4 KB:
    # 1 RRU) and one UpdateItem of its caps (billed on the larger image: the log keeps ~3 s of
    # bookings, ~1-2 KB: 2 WRU)
    ledger = ticks * (
        1 * p["dynamodb_on_demand_per_million_read_request_units"] / 1e6
        + 2 * p["dynamodb_on_demand_per_million_write_request_units"] / 1e6
    )
    machinery = sfn_requests + sfn_duration + lam + scheduler + logs + alarms + ledger
    # per slice per tick: two GetQueueAttributes (its lanes' depth)
    per_slice = ticks * 2 * p["sqs_standard_per_million_requests"] / 1e6
    # per mail: SQS send + receive + delete (3 requests, batch of 10 shares receive/delete ->
    # ~1.2); sender Lambda ~150 ms of 128 MB per batch of 10 (SES call ~85 ms each, so ~1 s per
    # batch -> 100 ms per mail); DynamoDB per mail: the batch's one ledger write (2 WRU for up to
    # 10 mails, plus reads when a sender's copy is older than 0.1 s: ~0.3 RRU), idempotency claim
    # (1 WRU) + complete (1 WRU)
    per_mail = {
        "sqs": 1.2 * p["sqs_standard_per_million_requests"],
        "sender_lambda": 1e6 * (0.1 * (128 / 1024) * p["lambda_arm64_per_gb_second"])
        + 0.1 * p["lambda_per_million_requests"],
        "dynamodb": 0.3 * p["dynamodb_on_demand_per_million_read_request_units"]
        + 2.2 * p["dynamodb_on_demand_per_million_write_request_units"],
    }
    # the same loop as a Standard workflow: Task + Choice + Wait per tick
    standard = 3 * ticks * p["step_functions_standard_per_million_transitions"] / 1e6
    return {
        "prices_usd": p,
        "assumptions": {
            "month_seconds": SECONDS_PER_MONTH,
            "express_executions_per_month": executions,
            "express_execution": "60 s, 64 MB billed, ~60 Task + 60 Wait transitions (no transition charge)",
            "lambda_tick": f"{lambda_ms} ms billed at 128 MB arm64, one per second",
            "log_line_bytes": 400,
            "dynamodb_ledger_item": "one per account-region: <= 4 KB read (1 RRU), 1-2 KB written (2 WRU)",
            "free_tiers": "ignored (all figures are list prices)",
            "standard_workflow": "Task + Choice + Wait per second = 3 transitions/s = 7.78 M/month",
        },
        "fixed_monthly_usd": {
            "step_functions_express_requests": round(sfn_requests, 3),
            "step_functions_express_duration": round(sfn_duration, 3),
            "lambda_ticks": round(lam, 3),
            "eventbridge_scheduler": round(scheduler, 3),
            "cloudwatch_logs": round(logs, 3),
            "cloudwatch_alarms": round(alarms, 3),
            "send_ledger_reads_writes": round(ledger, 3),
            "heartbeat_machinery_total": round(machinery, 2),
            "per_slice_queue_depth_reads": round(per_slice, 2),
            f"total_with_{slices}_slices": round(machinery + slices * per_slice, 2),
        },
        "goal_fixed_monthly_usd": "<= 5 (met by the machinery; each slice adds its own reads and writes)",
        "variable_usd_per_million_mails": {k: round(v, 2) for k, v in per_mail.items()}
        | {"total": round(sum(per_mail.values()), 2)},
        "standard_workflow_ticking_each_second_monthly_usd": round(standard, 2),
    }


def figures(r: SimResult) -> dict[str, Any]:
    names = list(GUARANTEED)
    n = min(r.seconds, len(r.backlog["a"]))
    total = [sum(r.sent[k][i] for k in names) for i in range(n)]
    lo, hi = r.outage

    def running(i: int) -> bool:  # the heartbeat ran for the last 3 ticks
        return all(not lo <= j < hi for j in range(i - 3, i + 1))

    busy = [i for i in range(3, n - 1) if running(i) and sum(r.backlog[k][i + 1] for k in names) >= 2 * QUOTA]
    util = sum(total[i] for i in busy) / (QUOTA * len(busy)) if busy else None
    reused_num = reused_den = 0.0
    for i in busy:
        idle = [k for k in names if r.backlog[k][i] == 0 and r.backlog[k][i + 1] == 0]
        active = [k for k in names if k not in idle]
        if idle and active:
            above = sum(r.sent[k][i] for k in active) - sum(GUARANTEED[k] for k in active)
            reused_num += min(max(0.0, above), sum(GUARANTEED[k] for k in idle))
            reused_den += sum(GUARANTEED[k] for k in idle)
    honoured: dict[str, Any] = {}
    for k, g in GUARANTEED.items():
        blocks = [i for i in range(5, n - 5, 5) if all(r.backlog[k][j] >= 5 * g for j in range(i - 3, i + 6))]
        # the allocator's promise holds while it runs; the fallback is reported on its own below
        blocks = [i for i in blocks if all(running(j) for j in range(i, i + 5))]
        rates = [sum(r.sent[k][i : i + 5]) / 5 for i in blocks]
        honoured[k] = {
            "guaranteed": g,
            "min_rate_honoured": bool(rates) and min(rates) >= 0.95 * g,
            "lowest_5s_rate_while_backlogged": min(rates) if rates else None,
            "blocks_checked": len(rates),
        }
    out_lo, out_hi = int(lo) + 2, int(hi)
    return {
        "quota": QUOTA,
        "over_quota_seconds": over_quota_seconds(r),
        "utilization_when_backlogged": round(util, 4) if util is not None else None,
        "utilization_seconds": len(busy),
        "idle_capacity_reused": round(reused_num / reused_den, 4) if reused_den else None,
        "slices": honoured,
        "outage": {
            "window_seconds": [lo, hi],
            "over_quota_seconds": over_quota_seconds(r, lo, hi + 2),
            "mean_rate_per_slice": {
                k: round(sum(r.sent[k][out_lo:out_hi]) / (out_hi - out_lo), 2) for k in names
            },
            "mean_total_rate": round(sum(total[out_lo:out_hi]) / (out_hi - out_lo), 2),
            # per slice backlogged through the whole outage: its mean rate / its guaranteed rate
            "fallback_share_of_guaranteed": {
                k: round(sum(r.sent[k][out_lo:out_hi]) / (out_hi - out_lo) / g, 3)
                for k, g in GUARANTEED.items()
                if min(r.backlog[k][out_lo:out_hi]) >= 5 * g
            },
            "behaviour": "the caps in force stay so until the next ones land (5 s past caps_until each "
            "is raised to at least its guaranteed rate), and idle room is borrowed; the send ledger keeps "
            "every second within the quota throughout (safety never depends on the heartbeat)",
        },
        "handed_back_to_queue": {k: v for k, v in sorted(r.log.events.items()) if k in {"retry", "held"}}
        if r.log
        else None,
        "lost": sum(1 for key in r.expected if not r.ses.sends_by_key().get(key)),
        "duplicates": len(r.ses.duplicates()),
        "dead_lettered": r.dead_letters,
        "throttles_seen": r.ses.outcomes().get("throttled", 0),
        "messages": len(r.expected),
        "virtual_seconds": r.seconds,
    }


def plot(r: SimResult, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 4.5))
    xs = list(range(r.seconds))
    bottom = [0.0] * r.seconds
    for k in GUARANTEED:
        ys = [float(v) for v in r.sent[k]]
        ax.fill_between(xs, bottom, [b + y for b, y in zip(bottom, ys, strict=True)], step="post",
                        label=f"slice {k} (guaranteed {GUARANTEED[k]:g}/s)", alpha=0.75)  # fmt: skip
        bottom = [b + y for b, y in zip(bottom, ys, strict=True)]
    ax.axhline(QUOTA, color="black", linestyle="--", label=f"quota {QUOTA:g}/s")
    ax.axvspan(*r.outage, color="grey", alpha=0.2, label="heartbeat stopped")
    ax.set_xlabel("virtual seconds")
    ax.set_ylabel("recipients accepted by SES per second (stacked)")
    ax.set_xlim(0, r.seconds)
    ax.set_ylim(0, QUOTA * 1.25)
    ax.legend(loc="upper right", fontsize=8)
    ax.set_title("Heartbeat: three slices sharing one account's SES rate")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def test_bench_heartbeat() -> None:
    result = run_sim(scale=1.0, outage=OUTAGE)
    assert result.finished
    data = figures(result) | {
        "goals": {
            "over_quota_seconds": "== 0",
            "utilization_when_backlogged": ">= 0.97",
            "fixed_monthly_usd": "<= 5",
        },
        "definitions": {
            "utilization_when_backlogged": "accepted recipients / quota over whole seconds in which the "
            "heartbeat ran for the 3 ticks before and >= 2 x quota recipients were waiting",
            "idle_capacity_reused": "over those seconds with an idle slice: (recipients/s of busy slices "
            "above their guaranteed rates) / (guaranteed rates of idle slices)",
            "min_rate_honoured": "every aligned 5-s block while the heartbeat ran in which the slice had "
            ">= 5 x its guaranteed rate waiting (from 3 s before to the block's end) averaged >= 0.95 x "
            "its guaranteed rate",
            "handed_back_to_queue": "sender decisions that returned a message to its queue (retry: "
            "visibility change; held: re-enqueued with a delay)",
        },
        "cost": cost_model(),
        "wall_seconds": round(result.wall_seconds, 1),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "heartbeat.json").write_text(json.dumps(data, indent=2, default=_nan) + "\n")
    plot(result, RESULTS / "heartbeat.png")
    assert data["over_quota_seconds"] == 0
    assert data["lost"] == 0
    assert data["duplicates"] == 0


def _nan(value: object) -> object:
    return None if isinstance(value, float) and math.isnan(value) else str(value)

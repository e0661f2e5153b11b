"""The scheduled cleanup: EventBridge Scheduler invokes it with the filters of its environment.

Environment (set by ``modules/suppression_cleanup``): ``FILTERS`` (JSON, see
:meth:`Filters.from_json`, plus ``older_than_days`` / ``newer_than_days``: bounds relative to
the run, turned into ``updated_before`` / ``updated_after`` at its start) and ``DELETE``
(``"true"`` removes; anything else only reports, so a schedule can be watched dry before it
deletes). A run stops ``STOP_MARGIN_SECONDS`` before the Lambda timeout; what it did not reach
stays on the list and the next run removes it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.common.clock import Clock, SystemClock
from functions.common.log import log
from functions.suppression.cleanup import clean
from functions.suppression.client import PacedClient, SuppressionApi
from functions.suppression.filters import Filters

STOP_MARGIN_SECONDS = 15.0


@dataclass(frozen=True)
class Deps:
    api: SuppressionApi
    clock: Clock


_DEPS: Deps | None = None


def _default_deps() -> Deps:
    import boto3
    from botocore.config import Config

    # The paced client retries throttling itself; botocore's own retries would not be paced.
    api = boto3.client("sesv2", config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    return Deps(api=api, clock=SystemClock())


def filters_at(data: Mapping[str, Any], now: float) -> Filters:
    """``FILTERS`` for a run at ``now``: ``older_than_days = 90`` means last updated more than 90
    days before this run (a bound that moves with the schedule, which fixed dates cannot)."""
    fixed = {k: v for k, v in data.items() if k not in ("older_than_days", "newer_than_days")}
    start = datetime.fromtimestamp(now, UTC)
    if data.get("older_than_days") is not None:
        fixed["updated_before"] = (start - timedelta(days=float(data["older_than_days"]))).isoformat()
    if data.get("newer_than_days") is not None:
        fixed["updated_after"] = (start - timedelta(days=float(data["newer_than_days"]))).isoformat()
    return Filters.from_json(fixed)


def run(deps: Deps, environ: dict[str, str], remaining_seconds: Any) -> dict[str, Any]:
    """One scheduled run; ``remaining_seconds()`` says how long the invocation may still take."""
    filters = filters_at(json.loads(environ.get("FILTERS") or "{}"), deps.clock.now())
    delete = environ.get("DELETE", "false").lower() == "true"
    client = PacedClient(deps.api, clock=deps.clock)
    outcome = clean(
        client,
        filters,
        delete=delete,
        should_stop=lambda: remaining_seconds() < STOP_MARGIN_SECONDS,
    )
    for address in outcome.deleted if delete else [e.email_address for e in outcome.matched]:
        log("suppression_removed" if delete else "suppression_would_remove", email_address=address)
    summary = {
        **outcome.to_json(),
        "delete": delete,
        "requests": client.requests,
        "throttles": client.throttles,
        "filters": filters.to_json(),
    }
    log("suppression_cleanup", **summary)
    return summary


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS  # noqa: PLW0603 - one client per container
    if _DEPS is None:
        _DEPS = _default_deps()
    return run(_DEPS, dict(os.environ), lambda: context.get_remaining_time_in_millis() / 1000)

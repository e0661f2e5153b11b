"""The scheduled cleanup: EventBridge Scheduler invokes it with the filters of its environment.

Environment (set by ``modules/suppression_cleanup``): ``FILTERS`` (JSON, see
:meth:`Filters.from_json`) and ``DELETE`` (``"true"`` removes; anything else only reports, so a
schedule can be watched dry before it deletes). A run stops ``STOP_MARGIN_SECONDS`` before the
Lambda timeout; what it did not reach stays on the list and the next run removes it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
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


def run(deps: Deps, environ: dict[str, str], remaining_seconds: Any) -> dict[str, Any]:
    """One scheduled run; ``remaining_seconds()`` says how long the invocation may still take."""
    filters = Filters.from_json(json.loads(environ.get("FILTERS") or "{}"))
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
    }
    log("suppression_cleanup", **summary, filters=filters.to_json())
    return summary


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS  # noqa: PLW0603 - one client per container
    if _DEPS is None:
        _DEPS = _default_deps()
    return run(_DEPS, dict(os.environ), lambda: context.get_remaining_time_in_millis() / 1000)

"""A fake of SESv2's account-level suppression list APIs (moto 5.2.5 has none of them).

It follows the documented shapes (SES API Reference, ListSuppressedDestinations and
DeleteSuppressedDestination): request parameters ``Reasons``, ``StartDate``, ``EndDate``,
``NextToken``, ``PageSize`` (1-1000); summaries ``EmailAddress``, ``Reason``, ``LastUpdateTime``;
``NotFoundException`` for an address not on the list, ``BadRequestException`` for bad input,
and ``TooManyRequestsException`` (HTTP 429) for a request less than ``interval_seconds`` after
the previous one: SES allows about 1 request/s on these APIs. Time is the injected clock's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from tests.support.clock import ManualClock

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def _error(code: str, message: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "SESV2",
    )


@dataclass
class FakeSuppressionList:
    clock: ManualClock
    interval_seconds: float = 1.0
    entries: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # address → (reason, time)
    calls: list[tuple[float, str]] = field(default_factory=list)  # (time, operation), accepted only
    throttled: int = 0
    fail_after_deletes: int | None = None  # raise KeyboardInterrupt on the next delete after this many
    _last: float | None = None
    _deletes: int = 0

    def add(self, address: str, reason: str = "BOUNCE", days_ago: float = 1.0) -> None:
        when = datetime.fromtimestamp(self.clock.now(), UTC) - timedelta(days=days_ago)
        self.entries[address] = (reason, when)

    def _admit(self, operation: str) -> None:
        now = self.clock.now()
        if self._last is not None and now - self._last < self.interval_seconds - 1e-9:
            self.throttled += 1
            raise _error("TooManyRequestsException", "Too many requests", 429)
        self._last = now
        self.calls.append((now, operation))

    def list_suppressed_destinations(self, **kwargs: Any) -> dict[str, Any]:
        allowed = {"Reasons", "StartDate", "EndDate", "NextToken", "PageSize"}
        if set(kwargs) - allowed:
            raise _error("BadRequestException", f"unknown parameters {set(kwargs) - allowed}", 400)
        self._admit("ListSuppressedDestinations")
        page_size = int(kwargs.get("PageSize", 1000))
        if not 1 <= page_size <= 1000:
            raise _error("BadRequestException", "PageSize must be 1-1000", 400)
        reasons = kwargs.get("Reasons") or ["BOUNCE", "COMPLAINT"]
        if set(reasons) - {"BOUNCE", "COMPLAINT"}:
            raise _error("BadRequestException", "Reasons are BOUNCE or COMPLAINT", 400)
        start, end = kwargs.get("StartDate"), kwargs.get("EndDate")
        selected = sorted(
            (address, reason, when)
            for address, (reason, when) in self.entries.items()
            if reason in reasons and (start is None or when >= start) and (end is None or when <= end)
        )
        token = kwargs.get("NextToken")
        offset = 0
        if token is not None:
            if not str(token).startswith("page-"):
                raise _error("InvalidNextTokenException", "The NextToken is invalid", 400)
            offset = int(str(token)[5:])
        page = selected[offset : offset + page_size]
        result: dict[str, Any] = {
            "SuppressedDestinationSummaries": [
                {"EmailAddress": a, "Reason": r, "LastUpdateTime": w} for a, r, w in page
            ]
        }
        if offset + page_size < len(selected):
            result["NextToken"] = f"page-{offset + page_size}"
        return result

    def delete_suppressed_destination(self, **kwargs: Any) -> dict[str, Any]:
        if set(kwargs) != {"EmailAddress"}:
            raise _error("BadRequestException", "EmailAddress is required", 400)
        if self.fail_after_deletes is not None and self._deletes >= self.fail_after_deletes:
            self.fail_after_deletes = None
            raise KeyboardInterrupt  # the operator pressed Ctrl-C while this request was in flight
        self._admit("DeleteSuppressedDestination")
        address = kwargs["EmailAddress"]
        if address not in self.entries:
            raise _error("NotFoundException", f"{address} is not on the suppression list", 404)
        del self.entries[address]
        self._deletes += 1
        return {}

    def min_gap(self) -> float:
        """The shortest time between two accepted requests."""
        times = [t for t, _ in self.calls]
        return min((b - a for a, b in itertools.pairwise(times)), default=float("inf"))

"""A suppression-list client that paces itself: SES allows about 1 request/s on these APIs.

Every call waits until ``interval_seconds`` have passed since the previous call started, then
backs off exponentially (doubling from ``backoff_seconds`` up to ``max_backoff_seconds``) while
SES answers ``TooManyRequestsException`` (HTTP 429; the docs also name ``ThrottlingException``).
Other errors go to the caller. Give boto3 a client with its own retries off
(``Config(retries={"max_attempts": 1})``), or its retries would not be paced.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from functions.common.clock import Clock, SystemClock
from functions.suppression.filters import Entry, Filters

THROTTLING = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})
PAGE_SIZE = 1000  # the most ListSuppressedDestinations returns per page


class SuppressionApi(Protocol):
    """The part of boto3's ``sesv2`` client the cleanup calls."""

    def list_suppressed_destinations(self, **kwargs: Any) -> dict[str, Any]: ...

    def delete_suppressed_destination(self, **kwargs: Any) -> dict[str, Any]: ...


class Throttled(Exception):  # noqa: N818 - SES's word
    """SES kept throttling after ``max_attempts`` tries."""


def error_code(exc: BaseException) -> str:
    """botocore's ``ClientError`` code, without importing botocore."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


@dataclass
class PacedClient:
    """Wraps a ``sesv2`` client: one request per ``interval_seconds``, backoff on throttling.

    Attributes:
        api: the ``sesv2`` client (boto3, or a fake in tests).
        clock: time source; tests pass a virtual clock. Default - the system clock.
        interval_seconds: the least time between two requests. Default 1.05 (1 request/s with a
            margin for clock skew between us and SES).
        backoff_seconds: the first wait after a throttle. Default 2.
        max_backoff_seconds: the longest wait between tries. Default 32.
        max_attempts: tries per request before :class:`Throttled`. Default 8.
    """

    api: SuppressionApi
    clock: Clock = SystemClock()  # noqa: RUF009 - stateless, safe to share
    interval_seconds: float = 1.05
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 32.0
    max_attempts: int = 8
    requests: int = 0
    throttles: int = 0
    _last: float | None = None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        wait = self.backoff_seconds
        for attempt in range(1, self.max_attempts + 1):
            if self._last is not None:
                self.clock.sleep(self._last + self.interval_seconds - self.clock.now())
            self._last = self.clock.now()
            self.requests += 1
            try:
                result: dict[str, Any] = getattr(self.api, operation)(**kwargs)
            except Exception as exc:
                if error_code(exc) not in THROTTLING:
                    raise
                self.throttles += 1
                if attempt == self.max_attempts:
                    raise Throttled(f"{operation}: still throttled after {attempt} attempts") from exc
                self.clock.sleep(wait)
                wait = min(wait * 2, self.max_backoff_seconds)
                continue
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    def list_pages(self, filters: Filters) -> Iterator[list[Entry]]:
        """Every page of the suppression list SES would return for ``filters``' reasons and dates."""
        params: dict[str, Any] = {**filters.list_parameters(), "PageSize": PAGE_SIZE}
        while True:
            page = self._call("list_suppressed_destinations", **params)
            yield [Entry.from_summary(s) for s in page.get("SuppressedDestinationSummaries", [])]
            token = page.get("NextToken")
            if not token:
                return
            params["NextToken"] = token

    def delete(self, email_address: str) -> bool:
        """Remove one address; False when it was not on the list (already removed)."""
        try:
            self._call("delete_suppressed_destination", EmailAddress=email_address)
        except Exception as exc:
            if error_code(exc) == "NotFoundException":
                return False
            raise
        return True

"""What the sender handler depends on, as protocols: real AWS clients, moto, or in-memory twins.

The handler takes these injected (plus a ``Clock``), so unit tests, the fault simulation and the
benchmark run the real handler code in virtual time.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Reservation:
    """Answer of :meth:`RateLimiter.reserve`.

    ``granted``: the recipients are booked ``wait_seconds`` after the ``now`` given (0: at once);
    sleep that long, then send. Otherwise nothing was taken and ``wait_seconds`` says when room
    could appear at the earliest (another sender may take it first). ``paused_until`` is set
    while the slice is stopped (SendingPaused / AccountSuspended seen by any sender): nothing is
    granted before then.
    """

    granted: bool
    wait_seconds: float = 0.0
    paused_until: float | None = None


class RateLimiter(Protocol):
    """The slice's recipients-per-second budget, shared by every concurrent sender of the slice.

    Guarantee: for every half-open window ``(t - 1, t]`` the recipients granted at times inside
    it sum to at most the budget in force. A single message larger than the budget is granted
    only into an empty window, and its excess is paid back in the windows after it.
    """

    def reserve(self, recipients: int, now: float, max_wait_seconds: float = 0.0) -> Reservation:
        """Book ``recipients`` at the earliest time in ``[now, now + max_wait_seconds]`` that fits."""

    def pause(self, until: float, reason: str) -> None:
        """Stop granting anything to the slice until ``until`` (epoch seconds)."""


class ClaimStatus(enum.Enum):
    NEW = "new"  # nobody sent this key: the caller now holds a lease and must send, then settle
    SENT = "sent"  # already sent (SES message id known): acknowledge, never send again
    IN_PROGRESS = "in_progress"  # another sender holds a live lease: retry later
    AMBIGUOUS = "ambiguous"  # an earlier attempt may have reached SES: never resend blind
    FAILED = "failed"  # permanently failed earlier (it went to the DLQ)


@dataclass(frozen=True)
class Claim:
    status: ClaimStatus
    ses_message_id: str | None = None
    reason: str | None = None


class IdempotencyStore(Protocol):
    """One record per idempotency key, written before the send and settled after it."""

    def claim(self, key: str, now: float, lease_seconds: float) -> Claim:
        """Take the key for sending. A record whose lease expired while SENDING becomes
        AMBIGUOUS (the holder may have died after SES accepted the mail) and is returned so."""

    def complete(self, key: str, ses_message_id: str, now: float) -> None: ...

    def release(self, key: str) -> None:
        """The send certainly did not happen (throttled, held): the key may be claimed again."""

    def mark_ambiguous(self, key: str, reason: str, now: float) -> None: ...

    def mark_failed(self, key: str, reason: str, now: float) -> None: ...


class SesClient(Protocol):
    """The part of boto3's ``sesv2`` client the sender calls."""

    def send_email(self, **kwargs: Any) -> dict[str, Any]: ...


class SqsClient(Protocol):
    """The part of boto3's ``sqs`` client the sender calls."""

    def send_message(self, **kwargs: Any) -> dict[str, Any]: ...

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]: ...

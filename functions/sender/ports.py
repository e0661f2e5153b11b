"""What the sender handler depends on, as protocols: real AWS clients, moto, or in-memory twins.

The handler takes these injected (plus a ``Clock``), so unit tests, the fault simulation and the
benchmark run the real handler code in virtual time.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Reservation:
    """Answer of :meth:`RateLimiter.reserve`.

    ``granted``: ``recipients`` are booked for the slot ``at`` (epoch seconds), ``wait_seconds``
    after the ``now`` given; sleep until ``at`` (measured on a fresh clock reading), then send.
    ``charges`` are what the booking moved the slice's paces by (to give them back exactly). Otherwise
    nothing was taken and ``wait_seconds`` says when room could appear at the earliest (another
    sender may take it first). ``paused_until`` is set while the slice is stopped (SendingPaused /
    AccountSuspended seen by any sender, the reputation breaker): nothing is granted before then.
    """

    granted: bool
    wait_seconds: float = 0.0
    paused_until: float | None = None
    at: float | None = None
    recipients: int = 0
    charges: Mapping[str, int] = field(default_factory=dict)


class RateLimiter(Protocol):
    """The account's send ledger, seen from one slice (see ``functions.common.ledger``).

    Guarantee: for every window of a second (plus the jitter guard) the recipients booked by all
    slices of the account sum to at most the account's capacity; a single message larger than the
    capacity is booked only into windows holding nothing else. Each slice books at its cap.
    """

    def reserve(
        self, recipients: int, now: float, max_wait_seconds: float = 0.0, *, earliest: float | None = None
    ) -> Reservation:
        """Book ``recipients`` at the earliest slot ``>= earliest`` (default ``now``) that fits,
        within ``now + max_wait_seconds``."""

    def reserve_many(
        self,
        sizes: Sequence[int],
        now: float,
        max_wait_seconds: float = 0.0,
        *,
        earliest: float | None = None,
        returning: Sequence[Reservation] = (),
    ) -> list[Reservation]:
        """Book several messages in order, each in the first slot with room (one answer per
        message); take back ``returning`` (granted slots that passed unsent) in the same write."""

    def release(self, reservation: Reservation, now: float, *, throttled: bool = False) -> None:
        """Give back the pace a granted reservation took: SES did not accept the send
        (``throttled``: after a 429, which also holds the slice off briefly)."""

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

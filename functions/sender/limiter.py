"""The slice's side of the account's send ledger (:mod:`functions.common.ledger`): book a send's
recipients, give them back when the send did not happen, pause the slice.

A reservation is the pure decision (:func:`functions.common.ledger.book`) on the ledger item this
sender last saw (a strongly consistent GetItem when it has none younger than ``CACHE_SECONDS``),
and an UpdateItem conditional on that item's ``version`` (optimistic concurrency). The write
returns the new item (ReturnValues ALL_NEW), a lost race the winner's
(ReturnValuesOnConditionCheckFailure ALL_OLD), so a busy sender books with one round trip and
decides again without another read; after ``max_attempts`` lost races the caller is told to wait
a moment. Refusals write nothing.

Tests and the virtual-time simulations run this same class over an in-memory table
(``tests/support/ledger_table.py``): there is one limiter, not a twin to keep in step.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Callable, Sequence

from functions.common.ledger import (
    Ledger,
    LedgerClient,
    book,
    book_many,
    give_back,
    read_ledger,
    to_ms,
    unbook,
    write_ledger,
    write_pause,
)
from functions.common.log import log
from functions.sender.ports import Reservation

CACHE_SECONDS = 0.1
"""How long a sender decides on the ledger item it last saw before reading it again."""
THROTTLE_BACKOFF_MS = 250
"""After a 429 despite the ledger (a sender outside it, or jitter beyond the guard), the slice
stays off this long; its grant is given back."""


def _validated_rate(name: str, value: float) -> float:
    if not value >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


class DynamoDbLimiter:
    """One slice's bookings in the account-region's ledger, shared by every sender of every slice.

    ``rate_per_second``: the slice's guaranteed rate, its cap whenever the heartbeat's is not in
    force. ``account_rate_per_second``: the account's capacity until the heartbeat writes the
    quota it read. ``max_attempts`` bounds lost write races per reservation. ``conflicts`` counts
    lost races (for tests and benchmarks).
    """

    def __init__(
        self,
        client: LedgerClient,
        table_name: str,
        slice_name: str,
        rate_per_second: float,
        *,
        account_rate_per_second: float,
        max_attempts: int = 3,
        conflict_wait_seconds: float = 0.03,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.client = client
        self.table_name = table_name
        self.slice_name = slice_name
        self.rate_per_second = _validated_rate("rate_per_second", rate_per_second)
        self.account_rate_per_second = _validated_rate("account_rate_per_second", account_rate_per_second)
        self.max_attempts = max_attempts
        self.conflict_wait_seconds = conflict_wait_seconds
        self._jitter = jitter
        self.conflicts = 0
        self._count_lock = threading.Lock()
        # the item last seen and when, one attribute: a batch's sends release from their threads
        self._seen: tuple[Ledger, float] | None = None

    def _ledger(self, now: float) -> Ledger:
        """The item as this sender last saw it, while recent; else a fresh strongly consistent read.
        A stale item costs nothing but a lost race (the write is conditional on its version); it
        only must not be so old that the heartbeat's caps in it are from another tick."""
        seen = self._seen
        if seen is not None and 0 <= now - seen[1] < CACHE_SECONDS:
            return seen[0]
        return self._saw(read_ledger(self.client, self.table_name), now)

    def _saw(self, ledger: Ledger, now: float) -> Ledger:
        self._seen = (ledger, now)
        return ledger

    def reserve(
        self, recipients: int, now: float, max_wait_seconds: float = 0.0, *, earliest: float | None = None
    ) -> Reservation:
        """Book ``recipients`` at the earliest slot ``>= earliest`` (default ``now``) that fits the
        account and the slice's cap, if it lies within ``now + max_wait_seconds``."""
        ledger = self._ledger(now)
        now_ms = to_ms(now)
        for _ in range(self.max_attempts):
            paused_until = ledger.paused_until(self.slice_name, now)
            if paused_until is not None:
                return Reservation(False, paused_until - now, paused_until)
            booking = book(
                ledger, self.slice_name, recipients, now_ms=now_ms,
                earliest_ms=max(now_ms, to_ms(earliest if earliest is not None else now)),
                max_wait_ms=max(0, math.floor(max_wait_seconds * 1000)),
                rate_per_second=self.rate_per_second, default_capacity=self.account_rate_per_second,
            )  # fmt: skip
            if not booking.granted or booking.updates is None:
                return Reservation(False, booking.wait_ms / 1000)
            written, ledger = write_ledger(self.client, self.table_name, ledger, booking.updates, now=now)
            self._saw(ledger, now)
            if written:
                at = booking.at_ms / 1000
                return Reservation(True, at - now, at=at, recipients=recipients, charges=booking.charges)
            with self._count_lock:
                self.conflicts += 1  # decide again on the winner's item, without another read
        log("limiter_contention", level="WARNING", slice=self.slice_name, attempts=self.max_attempts)
        return Reservation(False, self._conflict_wait())

    def _conflict_wait(self) -> float:
        """A short, jittered wait after lost races: senders that lost together must not all come
        back together (on a busy item every write in flight but one loses)."""
        return self.conflict_wait_seconds * (0.5 + self._jitter())

    def reserve_many(
        self, sizes: Sequence[int], now: float, max_wait_seconds: float = 0.0, *,
        earliest: float | None = None, returning: Sequence[Reservation] = (),
    ) -> list[Reservation]:  # fmt: skip
        """Book several messages in order with one write (see
        :func:`functions.common.ledger.book_many`); one answer per message, the refused ones last.
        ``returning``: granted reservations whose slots passed unsent, taken back in the same
        write (:func:`functions.common.ledger.unbook`); with no ``sizes`` that is all it does."""
        ledger = self._ledger(now)
        now_ms = to_ms(now)
        returned = [
            ((to_ms(r.at), r.recipients), r.charges) for r in returning if r.granted and r.at is not None
        ]
        for _ in range(self.max_attempts):
            refunds = unbook(ledger, returned, now_ms=now_ms, slice_name=self.slice_name)
            paused_until = ledger.paused_until(self.slice_name, now)
            if paused_until is not None and not refunds:
                return [Reservation(False, paused_until - now, paused_until) for _ in sizes]
            base = Ledger({**ledger.item, **refunds})
            bookings, updates = book_many(
                base, self.slice_name, sizes if paused_until is None else [], now_ms=now_ms,
                earliest_ms=max(now_ms, to_ms(earliest if earliest is not None else now)),
                max_wait_ms=max(0, math.floor(max_wait_seconds * 1000)),
                rate_per_second=self.rate_per_second, default_capacity=self.account_rate_per_second,
            )  # fmt: skip
            updates = refunds | updates
            if updates:
                written, ledger = write_ledger(self.client, self.table_name, ledger, updates, now=now)
                self._saw(ledger, now)
                if not written:
                    with self._count_lock:
                        self.conflicts += 1
                    continue
            if paused_until is not None:
                return [Reservation(False, paused_until - now, paused_until) for _ in sizes]
            answers = [
                Reservation(True, b.at_ms / 1000 - now, at=b.at_ms / 1000, recipients=n, charges=b.charges)
                if b.granted
                else Reservation(False, b.wait_ms / 1000)
                for b, n in zip(bookings, sizes, strict=False)
            ]
            refused = answers[-1] if answers and not answers[-1].granted else Reservation(False, 0.0)
            return answers + [refused] * (len(sizes) - len(answers))
        log("limiter_contention", level="WARNING", slice=self.slice_name, attempts=self.max_attempts)
        wait = self._conflict_wait()
        return [Reservation(False, wait) for _ in sizes]

    def release(self, reservation: Reservation, now: float, *, throttled: bool = False) -> None:
        """Give a granted reservation's pace back: SES did not accept the send. After a 429
        (``throttled``) the slice also holds off briefly. Best effort: a failure only costs pace."""
        if not reservation.granted or not (reservation.charges or throttled):
            return
        try:
            ledger = self._ledger(now)
            for _ in range(self.max_attempts):
                updates = give_back(
                    ledger, self.slice_name, charges=reservation.charges, now_ms=to_ms(now),
                    backoff_ms=THROTTLE_BACKOFF_MS if throttled else 0,
                )  # fmt: skip
                written, ledger = write_ledger(self.client, self.table_name, ledger, updates, now=now)
                self._saw(ledger, now)
                if written:
                    return
        except Exception as exc:
            log("limiter_release_failed", level="WARNING", slice=self.slice_name, error=repr(exc))

    def pause(self, until: float, reason: str) -> None:
        """Stop the slice's bookings before ``until`` unless a later pause is set (see
        :func:`functions.common.ledger.write_pause`)."""
        if write_pause(self.client, self.table_name, self.slice_name, until=until, reason=reason):
            log("limiter_paused", slice=self.slice_name, paused_until=until, reason=reason)

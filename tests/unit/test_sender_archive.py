"""A slice with a shadow-copy archive: the sender adds the BCC, reserves it from the limiter, and
keeps within SES's 50 recipients per message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from functions.sender.limiter import DynamoDbLimiter
from functions.sender.ports import Reservation
from tests.support.ledger_table import LedgerTable
from tests.unit.test_sender_handler import Harness, message

ARCHIVE = "orders@archive.shop.example.com"


class RecordingLimiter(DynamoDbLimiter):
    def __init__(self, rate: float) -> None:
        super().__init__(LedgerTable(), "state", "at-de", rate, account_rate_per_second=rate)
        self.asked: list[int] = []

    def reserve(
        self, recipients: int, now: float, max_wait_seconds: float = 0.0, *, earliest: float | None = None
    ) -> Reservation:
        self.asked.append(recipients)
        return super().reserve(recipients, now, max_wait_seconds, earliest=earliest)

    def reserve_many(self, sizes: Sequence[int], now: float, *args: Any, **kwargs: Any) -> list[Reservation]:
        self.asked.extend(sizes)
        return super().reserve_many(sizes, now, *args, **kwargs)


def _harness(**config: Any) -> Harness:
    h = Harness(archive_address=ARCHIVE, **config)
    h.limiter = RecordingLimiter(100)
    return h


def test_every_mail_gets_the_archive_address_as_one_more_bcc() -> None:
    h = _harness()
    assert h.run(message(recipients=2, bcc=["audit@example.com"])) == []
    (call,) = h.ses.calls
    assert call["Destination"]["BccAddresses"] == ["audit@example.com", ARCHIVE]
    assert call["Destination"]["ToAddresses"] == ["user0@example.com", "user1@example.com"]


def test_the_limiter_reserves_the_archive_copy_too() -> None:
    h = _harness()
    h.run(message(recipients=3))
    assert h.limiter.asked == [4]


def test_a_message_naming_the_archive_address_already_is_not_given_a_second_copy() -> None:
    h = _harness()
    h.run(message(recipients=1, cc=[ARCHIVE.upper()]))
    (call,) = h.ses.calls
    assert "BccAddresses" not in call["Destination"]
    assert h.limiter.asked == [2]


def test_fifty_recipients_plus_the_archive_copy_go_to_the_dlq_with_a_reason() -> None:
    h = _harness()
    assert h.run(message(recipients=50)) == []
    assert h.ses.calls == []
    (letter,) = h.sqs.dead_letters()
    assert letter["reason_code"] == "TOO_MANY_RECIPIENTS"
    assert "send at most 49 per message" in letter["reason"]


def test_forty_nine_recipients_and_the_copy_make_fifty_and_are_sent() -> None:
    h = _harness()
    assert h.run(message(recipients=49)) == []
    assert h.limiter.asked == [50]
    assert len(h.ses.calls) == 1


def test_without_an_archive_nothing_is_added() -> None:
    h = Harness()
    h.run(message(recipients=1))
    assert "BccAddresses" not in h.ses.calls[0]["Destination"]

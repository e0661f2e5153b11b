"""Idempotency records: one per message key, written before the SES call and settled after it.

SES has no idempotency token, so this record is what keeps a redelivered SQS message (or a
duplicate the application enqueued) from being sent twice. States and transitions::

    (none) ──claim──▶ SENDING ──complete──▶ SENT            (terminal: claim answers SENT + id)
                       │  ├──release──────▶ RELEASED ──claim──▶ SENDING   (send surely not made)
                       │  ├──mark_failed──▶ FAILED          (terminal: it went to the DLQ)
                       │  └──mark_ambiguous▶ AMBIGUOUS      (terminal: may have reached SES)
                       └──claim after lease_until──▶ AMBIGUOUS "lease expired while sending"

A claim holds a lease (``lease_until``); while it is live, other claims answer IN_PROGRESS. A
lease that runs out while SENDING means its holder died or hung, possibly after SES accepted the
mail, so the next claim flips the record to AMBIGUOUS (never resend blind) and answers so.

Settling is forgiving, because it runs after the fact and must never make a sent message look
unsent (the caller then acknowledges the message; raising would get it redelivered):

- ``complete`` always ends in SENT with the SES message id, whatever the state was (an AMBIGUOUS
  record is thereby resolved; a missing one is recreated). Only a record already SENT keeps its
  first id; a different second id means the mail went out twice: it is added to
  ``duplicate_ses_message_ids`` and logged as an ERROR. Unexpected earlier states are logged.
- ``release`` acts only on SENDING (anything else is logged and left alone: a record another
  claimer already flipped to AMBIGUOUS stays so).
- ``mark_ambiguous`` / ``mark_failed`` overwrite any state but SENT (a SENT record is the truth).

No call raises for a state conflict. There is no lease token in the protocol, so a holder whose
lease expired can still settle its record; that is by design: it knows best what happened.

Every write sets ``expires_at`` = now + ``ttl_seconds`` (DynamoDB TTL), except ``release``, which
has no ``now`` and keeps the record's ``expires_at`` from its claim. In DynamoDB a record's pk is
``msg#<slice>#<idempotency_key>`` in the account-region's state table; attributes: ``state``,
``lease_until``, ``claimed_at``, ``attempts`` (claims so far), ``ses_message_id``, ``sent_at``,
``reason``, ``updated_at``, ``expires_at``, ``duplicate_ses_message_ids`` (string set).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from typing import Any

from functions.common.dynamodb import DynamoDbClient, conditional_check_item, number, number_value
from functions.common.log import log
from functions.sender.ports import Claim, ClaimStatus

SENDING = "SENDING"
SENT = "SENT"
RELEASED = "RELEASED"
AMBIGUOUS = "AMBIGUOUS"
FAILED = "FAILED"

LEASE_EXPIRED = "lease expired while sending"
DEFAULT_TTL_SECONDS = 7 * 86400


@dataclass(frozen=True)
class IdempotencyRecord:
    """A record as stored (for tests, tooling and operators resolving AMBIGUOUS keys)."""

    key: str
    state: str
    expires_at: int
    lease_until: float | None = None
    claimed_at: float | None = None
    attempts: int = 0
    ses_message_id: str | None = None
    sent_at: float | None = None
    reason: str | None = None
    updated_at: float | None = None
    duplicate_ses_message_ids: frozenset[str] = field(default_factory=frozenset)


def _expiry(now: float, ttl_seconds: int) -> int:
    return math.ceil(now) + ttl_seconds


def _answer(record: IdempotencyRecord, now: float) -> Claim | None:
    """What a claim answers for an existing record; ``None`` when the record must change first
    (SENDING with an expired lease, or RELEASED)."""
    if record.state == SENT:
        return Claim(ClaimStatus.SENT, ses_message_id=record.ses_message_id)
    if record.state == FAILED:
        return Claim(ClaimStatus.FAILED, reason=record.reason)
    if record.state == SENDING:
        if record.lease_until is not None and record.lease_until > now:
            return Claim(ClaimStatus.IN_PROGRESS)
        return None
    if record.state == RELEASED:
        return None
    # AMBIGUOUS, or a state this code does not know: never send blind.
    reason = record.reason if record.state == AMBIGUOUS else f"unknown state {record.state!r}"
    return Claim(ClaimStatus.AMBIGUOUS, reason=reason)


def _note_complete(key: str, previous: IdempotencyRecord | None, ses_message_id: str) -> None:
    if previous is None or previous.state != SENDING:
        log(
            "idempotency_complete_unexpected_state",
            level="WARNING",
            idempotency_key=key,
            previous_state=previous.state if previous else None,
            previous_reason=previous.reason if previous else None,
            ses_message_id=ses_message_id,
        )


def _note_duplicate(key: str, first: str | None, second: str) -> None:
    log(
        "idempotency_duplicate_send",
        level="ERROR",
        idempotency_key=key,
        ses_message_id=first,
        duplicate_ses_message_id=second,
    )


class InMemoryIdempotencyStore:
    """The store for one process (tests, simulation, benchmark); thread-safe, same rules."""

    def __init__(self, *, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._records: dict[str, IdempotencyRecord] = {}

    def get(self, key: str) -> IdempotencyRecord | None:
        with self._lock:
            return self._records.get(key)

    def claim(self, key: str, now: float, lease_seconds: float) -> Claim:
        with self._lock:
            record = self._records.get(key)
            if record is not None:
                answer = _answer(record, now)
                if answer is not None:
                    return answer
                if record.state == SENDING:  # lease expired
                    self._records[key] = replace(
                        record,
                        state=AMBIGUOUS,
                        reason=LEASE_EXPIRED,
                        updated_at=now,
                        expires_at=_expiry(now, self.ttl_seconds),
                    )
                    return Claim(ClaimStatus.AMBIGUOUS, reason=LEASE_EXPIRED)
            self._records[key] = IdempotencyRecord(
                key=key,
                state=SENDING,
                lease_until=now + lease_seconds,
                claimed_at=now,
                attempts=(record.attempts if record else 0) + 1,
                updated_at=now,
                expires_at=_expiry(now, self.ttl_seconds),
            )
            return Claim(ClaimStatus.NEW)

    def complete(self, key: str, ses_message_id: str, now: float) -> None:
        with self._lock:
            record = self._records.get(key)
            expires_at = _expiry(now, self.ttl_seconds)
            if record is not None and record.state == SENT:
                if record.ses_message_id != ses_message_id:
                    _note_duplicate(key, record.ses_message_id, ses_message_id)
                    self._records[key] = replace(
                        record,
                        duplicate_ses_message_ids=record.duplicate_ses_message_ids | {ses_message_id},
                        updated_at=now,
                        expires_at=expires_at,
                    )
                return
            _note_complete(key, record, ses_message_id)
            self._records[key] = replace(
                record or IdempotencyRecord(key=key, state=SENT, expires_at=expires_at),
                state=SENT,
                ses_message_id=ses_message_id,
                sent_at=now,
                lease_until=None,
                updated_at=now,
                expires_at=expires_at,
            )

    def release(self, key: str) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is None or record.state != SENDING:
                log(
                    "idempotency_release_ignored",
                    level="WARNING",
                    idempotency_key=key,
                    state=record.state if record else None,
                )
                return
            self._records[key] = replace(record, state=RELEASED, lease_until=None)

    def mark_ambiguous(self, key: str, reason: str, now: float) -> None:
        self._settle(key, AMBIGUOUS, reason, now)

    def mark_failed(self, key: str, reason: str, now: float) -> None:
        self._settle(key, FAILED, reason, now)

    def _settle(self, key: str, state: str, reason: str, now: float) -> None:
        with self._lock:
            record = self._records.get(key)
            if record is not None and record.state == SENT:
                log(
                    f"idempotency_{state.lower()}_ignored",
                    level="WARNING",
                    idempotency_key=key,
                    state=SENT,
                    reason=reason,
                )
                return
            expires_at = _expiry(now, self.ttl_seconds)
            self._records[key] = replace(
                record or IdempotencyRecord(key=key, state=state, expires_at=expires_at),
                state=state,
                reason=reason,
                lease_until=None,
                updated_at=now,
                expires_at=expires_at,
            )


def _record_from_item(key: str, item: dict[str, Any]) -> IdempotencyRecord:
    def text(name: str) -> str | None:
        value = item.get(name)
        return value["S"] if isinstance(value, dict) and "S" in value else None

    expires_at = number(item, "expires_at")
    attempts = number(item, "attempts")
    duplicates = item.get("duplicate_ses_message_ids", {}).get("SS", [])
    return IdempotencyRecord(
        key=key,
        state=text("state") or "",
        expires_at=int(expires_at) if expires_at is not None else 0,
        lease_until=number(item, "lease_until"),
        claimed_at=number(item, "claimed_at"),
        attempts=int(attempts) if attempts is not None else 0,
        ses_message_id=text("ses_message_id"),
        sent_at=number(item, "sent_at"),
        reason=text("reason"),
        updated_at=number(item, "updated_at"),
        duplicate_ses_message_ids=frozenset(duplicates),
    )


class DynamoDbIdempotencyStore:
    """The store in the account-region's state table; every transition is a conditional write.

    ``max_attempts`` bounds how often a claim re-decides after losing a race to another claimer
    (each loss means someone else changed the record; the next look usually settles it); after
    that the claim answers IN_PROGRESS, i.e. "try later".
    """

    def __init__(
        self,
        client: DynamoDbClient,
        table_name: str,
        slice_name: str,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        max_attempts: int = 5,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.slice_name = slice_name
        self.ttl_seconds = ttl_seconds
        self.max_attempts = max_attempts

    def pk(self, key: str) -> str:
        return f"msg#{self.slice_name}#{key}"

    def _key(self, key: str) -> dict[str, Any]:
        return {"pk": {"S": self.pk(key)}}

    def get(self, key: str) -> IdempotencyRecord | None:
        response = self.client.get_item(TableName=self.table_name, Key=self._key(key), ConsistentRead=True)
        item = response.get("Item")
        return _record_from_item(key, item) if isinstance(item, dict) else None

    def _update(
        self,
        key: str,
        expression: str,
        condition: str | None,
        names: dict[str, str],
        values: dict[str, Any],
        *,
        return_values: str = "NONE",
    ) -> tuple[bool, dict[str, Any]]:
        """UpdateItem; (True, old or new attributes) on success, (False, current item or {})
        when the condition failed."""
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": self._key(key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": return_values,
        }
        if condition is not None:
            kwargs["ConditionExpression"] = condition
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        try:
            response = self.client.update_item(**kwargs)
        except Exception as exc:
            current = conditional_check_item(exc)
            if current is None:
                raise
            return False, current
        attributes = response.get("Attributes")
        return True, attributes if isinstance(attributes, dict) else {}

    def claim(self, key: str, now: float, lease_seconds: float) -> Claim:
        lease = number_value(now + lease_seconds)
        expires_at = number_value(_expiry(now, self.ttl_seconds))
        item: dict[str, Any] = {}
        for _ in range(self.max_attempts):
            if not item:  # no record (or none known): create it
                try:
                    self.client.put_item(
                        TableName=self.table_name,
                        Item={
                            **self._key(key),
                            "state": {"S": SENDING},
                            "lease_until": lease,
                            "claimed_at": number_value(now),
                            "attempts": {"N": "1"},
                            "updated_at": number_value(now),
                            "expires_at": expires_at,
                        },
                        ConditionExpression="attribute_not_exists(pk)",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                except Exception as exc:
                    current = conditional_check_item(exc)
                    if current is None:
                        raise
                    item = current or self._read(key)
                    continue
                return Claim(ClaimStatus.NEW)
            record = _record_from_item(key, item)
            answer = _answer(record, now)
            if answer is not None:
                return answer
            names = {"#state": "state", "#lease_until": "lease_until"}
            if record.state == SENDING:  # lease expired: the holder may have sent
                done, item = self._update(
                    key,
                    "SET #state = :ambiguous, #reason = :reason, #updated_at = :now, #expires_at = :exp",
                    "#state = :sending AND #lease_until = :old_lease",
                    {**names, "#reason": "reason", "#updated_at": "updated_at", "#expires_at": "expires_at"},
                    {
                        ":ambiguous": {"S": AMBIGUOUS},
                        ":sending": {"S": SENDING},
                        ":reason": {"S": LEASE_EXPIRED},
                        ":old_lease": item["lease_until"],
                        ":now": number_value(now),
                        ":exp": expires_at,
                    },
                )
                if done:
                    log(
                        "idempotency_lease_expired",
                        level="WARNING",
                        slice=self.slice_name,
                        idempotency_key=key,
                        lease_until=record.lease_until,
                    )
                    return Claim(ClaimStatus.AMBIGUOUS, reason=LEASE_EXPIRED)
                continue
            # RELEASED: claimable again
            done, item = self._update(
                key,
                "SET #state = :sending, #lease_until = :lease, #claimed_at = :now, #updated_at = :now, "
                "#expires_at = :exp ADD #attempts :one",
                "#state = :released",
                {
                    **names,
                    "#claimed_at": "claimed_at",
                    "#updated_at": "updated_at",
                    "#expires_at": "expires_at",
                    "#attempts": "attempts",
                },
                {
                    ":sending": {"S": SENDING},
                    ":released": {"S": RELEASED},
                    ":lease": lease,
                    ":now": number_value(now),
                    ":exp": expires_at,
                    ":one": {"N": "1"},
                },
            )
            if done:
                return Claim(ClaimStatus.NEW)
        log("idempotency_claim_contention", level="WARNING", slice=self.slice_name, idempotency_key=key)
        return Claim(ClaimStatus.IN_PROGRESS, reason="contention on the idempotency record")

    def _read(self, key: str) -> dict[str, Any]:
        response = self.client.get_item(TableName=self.table_name, Key=self._key(key), ConsistentRead=True)
        item = response.get("Item")
        return item if isinstance(item, dict) else {}

    def complete(self, key: str, ses_message_id: str, now: float) -> None:
        names = {
            "#state": "state",
            "#id": "ses_message_id",
            "#sent_at": "sent_at",
            "#updated_at": "updated_at",
            "#expires_at": "expires_at",
            "#lease_until": "lease_until",
        }
        values = {
            ":sent": {"S": SENT},
            ":id": {"S": ses_message_id},
            ":now": number_value(now),
            ":exp": number_value(_expiry(now, self.ttl_seconds)),
        }
        done, old = self._update(
            key,
            "SET #state = :sent, #id = :id, #sent_at = :now, #updated_at = :now, #expires_at = :exp "
            "REMOVE #lease_until",
            "attribute_not_exists(pk) OR #state <> :sent",
            names,
            values,
            return_values="ALL_OLD",
        )
        if done:
            _note_complete(key, _record_from_item(key, old) if old else None, ses_message_id)
            return
        first = _record_from_item(key, old).ses_message_id if old else None
        if first == ses_message_id:
            return  # completed twice with the same id: nothing to do
        _note_duplicate(key, first, ses_message_id)
        self._update(
            key,
            "SET #updated_at = :now ADD #dups :dup",
            None,
            {"#updated_at": "updated_at", "#dups": "duplicate_ses_message_ids"},
            {":now": number_value(now), ":dup": {"SS": [ses_message_id]}},
        )

    def release(self, key: str) -> None:
        done, current = self._update(
            key,
            "SET #state = :released REMOVE #lease_until",
            "#state = :sending",
            {"#state": "state", "#lease_until": "lease_until"},
            {":released": {"S": RELEASED}, ":sending": {"S": SENDING}},
        )
        if not done:
            state = _record_from_item(key, current).state if current else None
            log(
                "idempotency_release_ignored",
                level="WARNING",
                slice=self.slice_name,
                idempotency_key=key,
                state=state,
            )

    def mark_ambiguous(self, key: str, reason: str, now: float) -> None:
        self._settle(key, AMBIGUOUS, reason, now)

    def mark_failed(self, key: str, reason: str, now: float) -> None:
        self._settle(key, FAILED, reason, now)

    def _settle(self, key: str, state: str, reason: str, now: float) -> None:
        done, _ = self._update(
            key,
            "SET #state = :state, #reason = :reason, #updated_at = :now, #expires_at = :exp "
            "REMOVE #lease_until",
            "attribute_not_exists(pk) OR #state <> :sent",
            {
                "#state": "state",
                "#reason": "reason",
                "#updated_at": "updated_at",
                "#expires_at": "expires_at",
                "#lease_until": "lease_until",
            },
            {
                ":state": {"S": state},
                ":sent": {"S": SENT},
                ":reason": {"S": reason},
                ":now": number_value(now),
                ":exp": number_value(_expiry(now, self.ttl_seconds)),
            },
        )
        if not done:
            log(
                f"idempotency_{state.lower()}_ignored",
                level="WARNING",
                slice=self.slice_name,
                idempotency_key=key,
                state=SENT,
                reason=reason,
            )

"""The status table: one item per SES message id, one entry per recipient, written idempotently.

Item (low-level attribute names; ``<r>`` is the lower-cased recipient address)::

    message_id        S  the SES message id (the table's hash key)
    configuration_set S  from the ``ses:configuration-set`` tag     ┐ the same in every event
    slice, lane       S  our sender's tags                          │ of a message: SET on every
    idempotency_key   S  our sender's tag: the application's key    │ write (idempotent)
    sent_at           S  ``mail.timestamp``                         ┘
    rcpt:<r>          M  {state, rank, at, at_ms, [bounce_type, bounce_subtype, status,
                          diagnostic_code, feedback_type, reason, …]}: the recipient's status
    hist:<r>          L  of S: ``"<timestamp> <eventType>[ <detail>]"``, arrival order, the last
                         ``history_limit`` distinct events
    version           N  +1 per write (the slow path's optimistic lock)
    expires_at        N  epoch seconds: DynamoDB's TTL, ``ttl_seconds`` after the latest write

``state`` is the SES ``eventType`` that set it. A recipient's entry only moves to an event of a
higher :attr:`~functions.event_logger.events.SesEvent.state_rank`, or of the same rank and a
later timestamp: the entry is the maximum over the events seen, so duplicates and any arrival
order give the same entry, and a late Delivery never hides a Bounce.

Writes (see the README for why one item per message):

* **fast path**, one ``UpdateItem`` per event: SET each recipient's entry and append to its
  history, conditioned per recipient on "this event outranks the entry, and the history has
  room". Events arriving in order (Send → Delivery → Open …) always take it.
* **slow path**, when the condition fails (duplicate, out of order, history full): the item that
  failed the condition comes back with the error (``ReturnValuesOnConditionCheckFailure``);
  merge in Python; write only what changed, conditioned on ``version``; retry on a race.
  A duplicate changes nothing and writes nothing.

Top-level ``rcpt:<r>`` / ``hist:<r>`` attributes rather than one ``recipients`` map: a nested
``SET recipients.#r`` fails while the map does not exist, which a blind first write cannot know.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.common.dynamodb import DynamoDbClient, conditional_check_item
from functions.event_logger.events import SesEvent

HASH_KEY = "message_id"
TTL_ATTRIBUTE = "expires_at"
RECIPIENT_PREFIX = "rcpt:"
HISTORY_PREFIX = "hist:"
# DynamoDB caps an expression at 4 KB; a recipient costs ~200 characters of condition and update.
RECIPIENTS_PER_WRITE = 16
MAX_ATTEMPTS = 5
MESSAGE_FIELDS = ("configuration_set", "slice", "lane", "idempotency_key", "sent_at")


class Outcome(enum.Enum):
    APPLIED = "applied"  # fast path: one write
    MERGED = "merged"  # slow path: out of order or history full, merged and written
    DUPLICATE = "duplicate"  # nothing new: nothing written


@dataclass(frozen=True)
class Entry:
    """A recipient's status: the state, its rank and time, and the event's details."""

    state: str
    rank: int
    at: str
    at_ms: int
    fields: Mapping[str, str]

    @classmethod
    def of(cls, event: SesEvent, recipient: str) -> Entry:
        return cls(event.event_type, event.state_rank, event.timestamp, event.timestamp_ms,
                   event.status_fields(recipient))  # fmt: skip

    def outranks(self, other: Entry | None) -> bool:
        return other is None or (self.rank, self.at_ms) > (other.rank, other.at_ms)

    def to_item(self) -> dict[str, Any]:
        value: dict[str, Any] = {k: {"S": v} for k, v in self.fields.items()}
        value.update(state={"S": self.state}, rank={"N": str(self.rank)}, at={"S": self.at},
                     at_ms={"N": str(self.at_ms)})  # fmt: skip
        return {"M": value}

    @classmethod
    def from_item(cls, value: Any) -> Entry | None:
        if not isinstance(value, dict) or not isinstance(value.get("M"), dict):
            return None
        m = value["M"]
        try:
            fields = {
                k: v["S"] for k, v in m.items() if k not in {"state", "rank", "at", "at_ms"} and "S" in v
            }
            return cls(m["state"]["S"], int(m["rank"]["N"]), m["at"]["S"], int(m["at_ms"]["N"]), fields)
        except (KeyError, TypeError, ValueError):
            return None  # an entry we cannot read is replaced by what this event says


def _history(value: Any) -> list[str]:
    if not isinstance(value, dict) or not isinstance(value.get("L"), list):
        return []
    return [v["S"] for v in value["L"] if isinstance(v, dict) and "S" in v]


def _message_values(event: SesEvent) -> dict[str, str]:
    values = {"configuration_set": event.configuration_set, "slice": event.slice_name, "lane": event.lane,
              "idempotency_key": event.idempotency_key, "sent_at": event.sent_at}  # fmt: skip
    return {k: v for k, v in values.items() if v}


def chunks(recipients: Sequence[str]) -> list[Sequence[str]]:
    """Recipients in groups small enough for one expression (one group in the common case)."""
    return [recipients[i : i + RECIPIENTS_PER_WRITE] for i in range(0, len(recipients), RECIPIENTS_PER_WRITE)]


def fast_update(
    event: SesEvent, recipients: Sequence[str], *, table: str, expires_at: int, history_limit: int
) -> dict[str, Any]:
    """The fast path's ``UpdateItem`` arguments for ``recipients`` (one chunk) of ``event``."""
    names = {"#k": "rank", "#t": "at_ms", "#ttl": TTL_ATTRIBUTE, "#v": "version"}
    values: dict[str, Any] = {
        ":k": {"N": str(event.state_rank)}, ":t": {"N": str(event.timestamp_ms)},
        ":ttl": {"N": str(expires_at)}, ":one": {"N": "1"}, ":nil": {"L": []},
        ":cap": {"N": str(history_limit)}, ":line": {"L": [{"S": event.history_line()}]},
    }  # fmt: skip
    sets = ["#ttl = :ttl"]
    for field, value in _message_values(event).items():
        names[f"#{field}"] = field
        values[f":{field}"] = {"S": value}
        sets.append(f"#{field} = :{field}")
    conditions = []
    for i, recipient in enumerate(recipients):
        names[f"#r{i}"] = RECIPIENT_PREFIX + recipient
        names[f"#h{i}"] = HISTORY_PREFIX + recipient
        values[f":e{i}"] = Entry.of(event, recipient).to_item()
        sets.append(f"#r{i} = :e{i}, #h{i} = list_append(if_not_exists(#h{i}, :nil), :line)")
        conditions.append(
            f"(attribute_not_exists(#r{i}) OR #r{i}.#k < :k OR (#r{i}.#k = :k AND #r{i}.#t < :t))"
            f" AND (attribute_not_exists(#h{i}) OR size(#h{i}) < :cap)"
        )
    return {
        "TableName": table,
        "Key": {HASH_KEY: {"S": event.message_id}},
        "UpdateExpression": f"SET {', '.join(sets)} ADD #v :one",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def merge_update(
    event: SesEvent, recipients: Sequence[str], old: Mapping[str, Any], *, table: str, expires_at: int,
    history_limit: int,
) -> dict[str, Any] | None:  # fmt: skip
    """The slow path: ``UpdateItem`` arguments writing only what ``event`` changes in ``old``
    (conditioned on ``old``'s version), or ``None`` when it changes nothing (a duplicate)."""
    names = {"#ttl": TTL_ATTRIBUTE, "#v": "version"}
    values: dict[str, Any] = {":ttl": {"N": str(expires_at)}, ":one": {"N": "1"}}
    sets = ["#ttl = :ttl"]
    line = event.history_line()
    changed = False
    for i, recipient in enumerate(recipients):
        entry = Entry.of(event, recipient)
        if entry.outranks(Entry.from_item(old.get(RECIPIENT_PREFIX + recipient))):
            names[f"#r{i}"] = RECIPIENT_PREFIX + recipient
            values[f":e{i}"] = entry.to_item()
            sets.append(f"#r{i} = :e{i}")
            changed = True
        history = _history(old.get(HISTORY_PREFIX + recipient))
        if line not in history:
            history = [*history, line][-history_limit:]
            names[f"#h{i}"] = HISTORY_PREFIX + recipient
            values[f":h{i}"] = {"L": [{"S": h} for h in history]}
            sets.append(f"#h{i} = :h{i}")
            changed = True
    if not changed:
        return None
    for field, value in _message_values(event).items():
        names[f"#{field}"] = field
        values[f":{field}"] = {"S": value}
        sets.append(f"#{field} = :{field}")
    version = old.get("version")
    if isinstance(version, dict) and "N" in version:
        condition = "#v = :old"
        values[":old"] = version
    else:
        condition = "attribute_not_exists(#v)"
    return {
        "TableName": table,
        "Key": {HASH_KEY: {"S": event.message_id}},
        "UpdateExpression": f"SET {', '.join(sets)} ADD #v :one",
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


class StatusStore:
    """Writes events into the status table (``client`` is boto3's low-level ``dynamodb``)."""

    def __init__(self, client: DynamoDbClient, table: str, *, ttl_seconds: int, history_limit: int) -> None:
        self.client = client
        self.table = table
        self.ttl_seconds = ttl_seconds
        self.history_limit = history_limit

    def record(self, event: SesEvent, now: float) -> Outcome:
        """Apply ``event`` to every recipient it concerns; the least-final outcome of its chunks."""
        recipients = event.recipients
        if not recipients:
            return Outcome.DUPLICATE  # nothing to record per recipient (SES always names some)
        outcomes = [self._chunk(event, chunk, now) for chunk in chunks(recipients)]
        for outcome in (Outcome.MERGED, Outcome.APPLIED):
            if outcome in outcomes:
                return outcome
        return Outcome.DUPLICATE

    def _chunk(self, event: SesEvent, recipients: Sequence[str], now: float) -> Outcome:
        expires_at = int(now) + self.ttl_seconds
        kwargs = fast_update(event, recipients, table=self.table, expires_at=expires_at,
                             history_limit=self.history_limit)  # fmt: skip
        for attempt in range(MAX_ATTEMPTS):
            try:
                self.client.update_item(**kwargs)
            except Exception as exc:
                old = conditional_check_item(exc)
                if old is None:
                    raise
            else:
                return Outcome.APPLIED if attempt == 0 else Outcome.MERGED
            merged = merge_update(event, recipients, old, table=self.table, expires_at=expires_at,
                                  history_limit=self.history_limit)  # fmt: skip
            if merged is None:
                return Outcome.DUPLICATE
            kwargs = merged
        raise RuntimeError(f"status of {event.message_id}: {MAX_ATTEMPTS} write races in a row")


def read_status(item: Mapping[str, Any]) -> dict[str, Any]:
    """A status item as plain values: ``{"message_id", …, "recipients": {r: {state, …, history}}}``
    (what applications reading the table get; tests use it too)."""
    out: dict[str, Any] = {k: item[k]["S"] for k in (HASH_KEY, *MESSAGE_FIELDS) if k in item}
    recipients: dict[str, Any] = {}
    for name, value in item.items():
        if name.startswith(RECIPIENT_PREFIX):
            entry = Entry.from_item(value)
            if entry is not None:
                recipient = name[len(RECIPIENT_PREFIX) :]
                history = _history(item.get(HISTORY_PREFIX + recipient))
                recipients[recipient] = {
                    "state": entry.state,
                    "at": entry.at,
                    **entry.fields,
                    "history": history,
                }
    out["recipients"] = recipients
    return out

"""An in-memory DynamoDB table for the send ledger: the low-level ``get_item`` / ``update_item`` /
``put_item`` calls :mod:`functions.common.ledger` makes, with DynamoDB's per-item atomicity (one lock) and
its ConditionalCheckFailedException (returning the item, as ReturnValuesOnConditionCheckFailure
asks). The real ``DynamoDbLimiter`` and heartbeat ``tick`` run over it in the virtual-time
simulations, where moto would be far too slow; moto covers the same calls in the integration
tests.

Understood: ``SET #a = :a, ...``, ``ADD #a :v`` clauses; conditions of the forms
``attribute_not_exists(#a)``, ``#a = :v``, ``#a < :v``, joined by ``OR``.
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any

from botocore.exceptions import ClientError

_CLAUSE = re.compile(r"\b(SET|ADD|REMOVE)\b")


def _value(attribute: dict[str, Any]) -> Any:
    return float(attribute["N"]) if "N" in attribute else attribute.get("S")


def _number(value: float) -> dict[str, str]:
    return {"N": str(int(value)) if float(value).is_integer() else repr(value)}


class LedgerTable:
    """Items by ``pk``; thread-safe; counts calls (``reads``, ``writes``, ``conflicts``)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.reads = self.writes = self.conflicts = 0

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        with self._lock:
            self.reads += 1
            item = self.items.get(kwargs["Key"]["pk"]["S"])
            return {"Item": copy.deepcopy(item)} if item is not None else {}

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        pk = kwargs["Key"]["pk"]["S"]
        with self._lock:
            item = self._checked(pk, kwargs, "UpdateItem")
            updated = copy.deepcopy(item) if item is not None else {"pk": {"S": pk}}
            names = kwargs.get("ExpressionAttributeNames", {})
            self._apply(
                kwargs["UpdateExpression"], updated, names, kwargs.get("ExpressionAttributeValues", {})
            )
            self.items[pk] = updated
            self.writes += 1
            if kwargs.get("ReturnValues") == "ALL_NEW":
                return {"Attributes": copy.deepcopy(updated)}
        return {}

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        pk = kwargs["Item"]["pk"]["S"]
        with self._lock:
            self._checked(pk, kwargs, "PutItem")
            self.items[pk] = copy.deepcopy(kwargs["Item"])
            self.writes += 1
        return {}

    def _checked(self, pk: str, kwargs: dict[str, Any], operation: str) -> dict[str, Any] | None:
        """The stored item, if the write's ConditionExpression holds on it (caller holds the lock);
        else ConditionalCheckFailedException, with the item when ALL_OLD was asked for."""
        item = self.items.get(pk)
        condition = kwargs.get("ConditionExpression")
        names = kwargs.get("ExpressionAttributeNames", {})
        values = kwargs.get("ExpressionAttributeValues", {})
        if not condition or self._holds(condition, item or {}, names, values):
            return item
        self.conflicts += 1
        response: dict[str, Any] = {
            "Error": {"Code": "ConditionalCheckFailedException", "Message": "The conditional request failed"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        if item is not None and kwargs.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD":
            response["Item"] = copy.deepcopy(item)
        raise ClientError(response, operation)

    @staticmethod
    def _apply(expression: str, item: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> None:
        parts = _CLAUSE.split(expression)
        for keyword, body in zip(parts[1::2], parts[2::2], strict=True):
            for action in (a.strip() for a in body.split(",") if a.strip()):
                if keyword == "SET":
                    name, value = (x.strip() for x in action.split("="))
                    item[names.get(name, name)] = copy.deepcopy(values[value])
                elif keyword == "ADD":
                    name, value = action.split()
                    key = names.get(name, name)
                    current = _value(item[key]) if key in item else 0.0
                    item[key] = _number(current + _value(values[value]))
                else:
                    item.pop(names.get(action, action), None)

    @staticmethod
    def _holds(condition: str, item: dict[str, Any], names: dict[str, str], values: dict[str, Any]) -> bool:
        for term in (t.strip() for t in condition.split(" OR ")):
            if match := re.fullmatch(r"attribute_not_exists\((#?\w+)\)", term):
                if names.get(match[1], match[1]) not in item:
                    return True
                continue
            name, operator, value = term.split()
            key = names.get(name, name)
            if key not in item:
                continue
            left, right = _value(item[key]), _value(values[value])
            if (operator == "=" and left == right) or (operator == "<" and left < right):
                return True
        return False


def in_memory_limiter(
    rate_per_second: float, *, slice_name: str = "at-de", account_rate: float | None = None,
    table: LedgerTable | None = None,
) -> Any:  # fmt: skip
    """The real ``DynamoDbLimiter`` over an in-memory table (a fresh one unless ``table`` is
    shared): one slice whose account capacity is ``account_rate`` (default: its own rate)."""
    from functions.sender.limiter import DynamoDbLimiter

    return DynamoDbLimiter(
        table if table is not None else LedgerTable(), "state", slice_name, rate_per_second,
        account_rate_per_second=account_rate if account_rate is not None else rate_per_second,
    )  # fmt: skip

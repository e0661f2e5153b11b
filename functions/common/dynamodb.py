"""Low-level DynamoDB helpers shared by the jobs' stores (no boto3 import: errors are matched
by their code, so the helpers also serve fakes and moto)."""

from __future__ import annotations

import math
from typing import Any, Protocol


class DynamoDbClient(Protocol):
    """The part of boto3's low-level ``dynamodb`` client the sender's stores call."""

    def get_item(self, **kwargs: Any) -> dict[str, Any]: ...

    def put_item(self, **kwargs: Any) -> dict[str, Any]: ...

    def update_item(self, **kwargs: Any) -> dict[str, Any]: ...

    def delete_item(self, **kwargs: Any) -> dict[str, Any]: ...


_NO_ITEM: dict[str, Any] = {}


def conditional_check_item(exc: BaseException) -> dict[str, Any] | None:
    """For a ConditionalCheckFailedException: the item it returned (``{}`` when it returned none,
    e.g. the item does not exist). ``None`` for any other exception (re-raise it)."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    if response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
        return None
    item = response.get("Item")
    return item if isinstance(item, dict) else _NO_ITEM


def number(item: dict[str, Any], name: str) -> float | None:
    """A number attribute of a low-level item, or ``None`` when absent or not a number."""
    value = item.get(name)
    if isinstance(value, dict) and "N" in value:
        return float(value["N"])
    return None


def number_value(value: float) -> dict[str, str]:
    """A low-level number attribute value; finite, without exponent notation."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if float(value).is_integer():
        return {"N": str(int(value))}
    return {"N": f"{value:.6f}".rstrip("0").rstrip(".")}

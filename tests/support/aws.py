"""Test fixtures shared by the moto-backed tests."""

from __future__ import annotations

from typing import Any


def create_state_table(dynamodb: Any, name: str) -> None:
    """The account-region state table as the construct defines it: string ``pk``, on demand, TTL."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )

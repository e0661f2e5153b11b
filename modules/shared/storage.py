"""The encrypted parts two constructs build alike: a customer-managed key with its alias, and a
DynamoDB table encrypted with it. One definition, so the stack foundation's state table and the
event pipeline's status table cannot drift apart in what keeps them safe (key rotation, point-in-
time recovery, deletion protection, encryption with the customer key)."""

from __future__ import annotations

from collections.abc import Mapping

from cdktn_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from constructs import Construct


def customer_key(
    scope: Construct, *, description: str, alias: str, policy: str, logical_id: str,
    tags: Mapping[str, str] | None,
) -> KmsKey:  # fmt: skip
    """A rotating customer-managed key (construct ids ``key`` and ``alias`` in ``scope``) with
    ``alias/<alias>``; both keep ``logical_id`` as their Terraform name."""
    key = KmsKey(
        scope,
        "key",
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        tags=dict(tags) if tags is not None else None,
    )
    key.override_logical_id(logical_id)
    KmsAlias(scope, "alias", name=f"alias/{alias}", target_key_id=key.key_id).override_logical_id(logical_id)
    return key


def encrypted_table(
    scope: Construct, construct_id: str, *, name: str, hash_key: str, ttl_attribute: str, key: KmsKey,
    logical_id: str, tags: Mapping[str, str] | None,
) -> DynamodbTable:  # fmt: skip
    """An on-demand table keyed by one string attribute, items expiring by ``ttl_attribute``,
    encrypted with ``key``, with point-in-time recovery and deletion protection."""
    table = DynamodbTable(
        scope,
        construct_id,
        name=name,
        billing_mode="PAY_PER_REQUEST",
        hash_key=hash_key,
        attribute=[DynamodbTableAttribute(name=hash_key, type="S")],
        ttl=DynamodbTableTtl(attribute_name=ttl_attribute, enabled=True),
        point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
        server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=key.arn),
        deletion_protection_enabled=True,
        tags=dict(tags) if tags is not None else None,
    )
    table.override_logical_id(logical_id)
    return table

"""IAM policy documents, built in one place: JSON with the version every document here uses,
every statement's actions named one by one (no ``*``, no ``NotAction``: least privilege is checked
at synth, not left to review)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def policy_document(owner: str, *statements: dict[str, Any]) -> str:
    """The policy JSON of ``statements``; ``ValueError`` naming ``owner`` if one allows a wildcard
    action or uses ``NotAction``."""
    policy = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    check_no_wildcard_actions(policy, owner)
    return policy


def policy_statements(policy_json: str) -> list[dict[str, Any]]:
    """The statements of an IAM policy document (a single statement object becomes a list)."""
    document = json.loads(policy_json)
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def statement_actions(statement: Mapping[str, Any]) -> list[str]:
    actions = statement.get("Action", [])
    return [actions] if isinstance(actions, str) else list(actions)


def check_no_wildcard_actions(policy_json: str, name: str) -> None:
    """Raise ``ValueError`` if any statement allows an action with ``*`` or uses ``NotAction``."""
    for statement in policy_statements(policy_json):
        if "NotAction" in statement:
            raise ValueError(f"policy {name!r}: NotAction grants everything else; list the actions")
        wild = [action for action in statement_actions(statement) if "*" in action]
        if wild:
            raise ValueError(f"policy {name!r}: actions must be named one by one, got {', '.join(wild)}")

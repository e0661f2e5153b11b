"""The few input checks every construct's props share (no cdktn import: cheap for the config layer).

Each raises ``ValueError`` with a message that names the field and says what was given.
"""

from __future__ import annotations

import re

NAME = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
"""Environment and slice names: they become parts of AWS resource names."""


def check_name(key: str, value: str) -> None:
    if not NAME.fullmatch(value):
        raise ValueError(f"{key} must be lower-case letters, digits and hyphens, got {value!r}")


def check_account_id(value: str) -> None:
    if not re.fullmatch(r"[0-9]{12}", value):
        raise ValueError(f"account_id must be 12 digits, got {value!r}")


def check_range(key: str, value: int, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}-{maximum}" if maximum is not None else f"≥ {minimum}"
        raise ValueError(f"{key} must be {bounds}, got {value}")


def partition(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"

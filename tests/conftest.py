"""Session-wide test set-up: silence jsii's Node 20 banner, share a synth helper."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def synth() -> Callable[..., dict[str, Any]]:
    """Build constructs inside a fresh stack with ``build(stack)`` and return the stack JSON."""
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    def run(build: Callable[[Any], object], region: str = "eu-central-1") -> dict[str, Any]:
        app = Testing.app()
        stack = TerraformStack(app, "test")
        AwsProvider(stack, "aws", region=region)
        build(stack)
        return json.loads(Testing.synth(stack))

    return run


# Property tests explore new examples locally; in CI they replay a fixed set, so a landing never
# depends on the luck of the draw (a failure found locally becomes a regular test case).
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    _hypothesis_settings.load_profile("ci")

"""Session-wide test set-up: silence jsii's Node 20 banner, share a synth helper."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@dataclass(frozen=True)
class SynthesizedEnv:
    """One env of ``envs/`` as ``make synth`` writes it: the output folder, the app's stacks (for
    the summary) and each stack's ``cdk.tf.json``, parsed afresh on each call (tests may edit it)."""

    out: Path
    stacks: list[Any]

    def documents(self) -> dict[str, dict[str, Any]]:
        return {
            s.target.name: json.loads((self.out / "stacks" / s.target.name / "cdk.tf.json").read_text())
            for s in self.stacks
        }


@pytest.fixture(scope="session")
def synthesized_env(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], SynthesizedEnv]:
    """Each env synthesized in-process at most once per test session, for every test that only
    reads its stacks (a synth takes seconds; six tests used to repeat it). A test that changes an
    env or its output synthesizes its own."""
    from modules.config import load_env
    from modules.platform.app import build_app

    done: dict[str, SynthesizedEnv] = {}

    def get(name: str) -> SynthesizedEnv:
        if name not in done:
            out = tmp_path_factory.mktemp(f"synth-{name}")
            _app, stacks = build_app(load_env(REPO_ROOT / "envs" / name), out, repo_root=REPO_ROOT)
            _app.synth()
            done[name] = SynthesizedEnv(out, list(stacks))
        return done[name]

    return get


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

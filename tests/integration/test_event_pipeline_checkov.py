"""The event pipeline as the stack wires it (subscribed to the example env's configuration set
topic) and checkov (built-in checks and ours) with 0 failed."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from modules.platform import scan
from modules.platform.scan import ScanResult

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOV_BIN = os.environ.get("CHECKOV_BIN", str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
CHECKED_TYPES = {"aws_kms_key", "aws_dynamodb_table", "aws_sqs_queue", "aws_lambda_function",
                 "aws_cloudwatch_log_group"}  # fmt: skip


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from cdktn import App

    from modules.config import load_env
    from modules.platform.stack import SesStack

    env = load_env(REPO_ROOT / "envs" / "example")
    out = tmp_path_factory.mktemp("events")
    app = App(outdir=str(out))
    (target,) = env.stacks()
    stack = SesStack(app, target, backend=env.backend, tags=dict(env.tags), state_dir="state")
    assert stack.event_pipeline is not None  # the transactional set's SNS topic brought it
    app.synth()
    stack_file = out / "stacks" / target.name / "cdk.tf.json"
    return out, json.loads(stack_file.read_text())


def test_the_stack_subscribes_the_logger_to_its_set_topic_and_alarms_to_the_alarm_topic(
    synthesized: tuple[Path, dict[str, Any]],
) -> None:
    _, doc = synthesized
    topics = [s["topic_arn"] for s in doc["resource"]["aws_sns_topic_subscription"].values()]
    assert "${aws_sns_topic.transactional_events.arn}" in topics  # one subscription per set with SNS events
    alarm = doc["resource"]["aws_cloudwatch_metric_alarm"]["event_malformed"]
    assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]


@pytest.mark.checkov
def test_the_event_pipeline_passes_checkov(synthesized: tuple[Path, dict[str, Any]]) -> None:
    if not Path(CHECKOV_BIN).is_file():
        pytest.fail(f"checkov not found at {CHECKOV_BIN}: run `make test` (builds .venv-checkov)")
    out, _ = synthesized
    result: ScanResult = scan.scan(CHECKOV_BIN, out)
    assert result.problems() == []
    assert [f"{f.check_id} {f.resource}" for f in result.failed] == []
    checked = {f.resource.split(".")[0] for s in result.stacks for f in s.passed if ".event" in f.resource}
    assert checked >= CHECKED_TYPES
    skipped = {(f.check_id, f.resource) for s in result.stacks for f in s.skipped}
    assert ("CKV_AWS_117", "aws_lambda_function.event_logger") in skipped

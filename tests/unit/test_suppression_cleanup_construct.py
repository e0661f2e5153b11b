"""The scheduled suppression-list cleanup construct: least-privilege role (delete only when asked),
the Lambda's filters, its schedule and alarm; and the stack that gets it without slices."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.suppression_cleanup.props import SuppressionCleanupProps

BASE: dict[str, Any] = {
    "environment": "prod",
    "account_id": "111111111111",
    "region": "eu-central-1",
    "key_arn": "arn:aws:kms:eu-central-1:111111111111:key/sending",
    "alarm_topic_arn": "arn:aws:sns:eu-central-1:111111111111:prod-ses-alarms",
    "recipient_domains": ["privaterelay.appleid.com"],
    "reasons": ["BOUNCE"],
}


def build(synth: Callable[..., dict[str, Any]], **fields: Any) -> dict[str, Any]:
    from modules.suppression_cleanup.construct import SuppressionCleanup

    props = SuppressionCleanupProps(**{**BASE, **fields})
    return synth(lambda stack: SuppressionCleanup(stack, "suppression_cleanup", props))["resource"]


@pytest.fixture
def report_only(synth: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return build(synth)


def actions(resources: dict[str, Any]) -> list[str]:
    policy = json.loads(resources["aws_iam_role_policy"]["suppression_cleanup_suppression_list"]["policy"])
    return [a for s in policy["Statement"] for a in s["Action"]]


def test_a_report_only_cleanup_may_list_but_not_delete(report_only: dict[str, Any]) -> None:
    assert actions(report_only) == ["ses:ListSuppressedDestinations"]


def test_a_deleting_cleanup_may_also_delete(synth: Callable[..., dict[str, Any]]) -> None:
    resources = build(synth, delete=True)
    assert actions(resources) == ["ses:ListSuppressedDestinations", "ses:DeleteSuppressedDestination"]
    function = resources["aws_lambda_function"]["suppression_cleanup"]
    assert function["environment"]["variables"]["DELETE"] == "true"


def test_the_lambda_gets_the_filters_report_mode_and_a_paced_runs_length(report_only: dict[str, Any]) -> None:
    function = report_only["aws_lambda_function"]["suppression_cleanup"]
    variables = function["environment"]["variables"]
    assert json.loads(variables["FILTERS"]) == {
        "domains": ["privaterelay.appleid.com"],
        "reasons": ["BOUNCE"],
        "pattern": None,
        "older_than_days": None,
        "newer_than_days": None,
    }
    assert variables["DELETE"] == "false"
    assert function["handler"] == "functions.suppression.handler.lambda_handler"
    assert (function["timeout"], function["reserved_concurrent_executions"]) == (900, 1)
    assert function["kms_key_arn"] == BASE["key_arn"]


def test_the_schedule_runs_weekly_encrypted_with_a_role_that_may_only_invoke_it(
    report_only: dict[str, Any],
) -> None:
    schedule = report_only["aws_scheduler_schedule"]["suppression_cleanup"]
    assert schedule["schedule_expression"] == "cron(0 5 ? * MON *)"
    assert schedule["kms_key_arn"] == BASE["key_arn"]
    policy = json.loads(report_only["aws_iam_role_policy"]["suppression_cleanup_scheduler"]["policy"])
    assert [s["Action"] for s in policy["Statement"]] == [["lambda:InvokeFunction"], ["kms:Decrypt"]]


def test_a_failed_run_raises_the_errors_alarm_on_the_stack_topic(report_only: dict[str, Any]) -> None:
    alarm = report_only["aws_cloudwatch_metric_alarm"]["suppression_cleanup_errors"]
    assert (alarm["namespace"], alarm["metric_name"]) == ("AWS/Lambda", "Errors")
    assert alarm["alarm_actions"] == [BASE["alarm_topic_arn"]]


def test_log_group_is_encrypted_with_the_stack_key(report_only: dict[str, Any]) -> None:
    assert report_only["aws_cloudwatch_log_group"]["suppression_cleanup"]["kms_key_id"] == BASE["key_arn"]


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"recipient_domains": [], "delete": True}, "delete=True needs"),
        ({"reasons": ["SPAM"]}, "BOUNCE or COMPLAINT"),
        ({"pattern": "a("}, "not a regular expression"),
        ({"older_than_days": 30, "newer_than_days": 7}, "newer_than_days must be more"),
        ({"timeout_seconds": 901}, "timeout_seconds must be 60-900"),
        ({"schedule_expression": "cron(bogus)"}, "six cron fields"),
        ({"schedule_expression": "rate(5 minutes)"}, "at most one run an hour"),
        ({"timezone": "Europe/Vienne"}, "expected an IANA time zone"),
    ],
)
def test_bad_props_are_refused_at_synth(fields: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        SuppressionCleanupProps(**{**BASE, **fields})


def test_a_stack_with_nothing_else_gets_the_sending_key_and_alarm_topic(
    repo_root: Path, tmp_path: Path
) -> None:
    from modules.config import load_env
    from modules.platform.app import build_app

    env_dir = tmp_path / "bare"
    env_dir.mkdir()
    (env_dir / "ses.hcl").write_text(
        'environment = "bare"\naccount "media" {\n  id = "111111111111"\n'
        '  region "eu-central-1" {\n    max_send_rate = 10\n    max_24_hour_send = 1000\n  }\n}\n'
        "suppression_cleanup {}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    app, _ = build_app(load_env(env_dir, display_root=tmp_path), out, repo_root=repo_root)
    app.synth()
    document = json.loads((out / "stacks" / "bare-media-eu-central-1" / "cdk.tf.json").read_text())
    resources = document["resource"]
    key = resources["aws_lambda_function"]["suppression_cleanup"]["kms_key_arn"]
    assert key.startswith("${aws_kms_key.")
    assert "sending" in key
    assert resources["aws_cloudwatch_metric_alarm"]["suppression_cleanup_errors"]["alarm_actions"]

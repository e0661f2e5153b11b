"""ReputationMonitor: rate alarms by metric math, SES's own reputation alarms, throttle alarms, the
dashboard body and the breaker's rule, permissions and least-privilege policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.configuration_set.props import ReputationAlarms
from modules.reputation.dashboard import dashboard_body
from modules.reputation.props import MonitoredSet, MonitoredSlice, ReputationProps

ACCOUNT = "111111111111"
TOPIC = f"arn:aws:sns:eu-central-1:{ACCOUNT}:prod-ses-alarms"
KEY = f"arn:aws:kms:eu-central-1:{ACCOUNT}:key/1234"
TABLE_ARN = f"arn:aws:dynamodb:eu-central-1:{ACCOUNT}:table/prod-ses-sending-state"


def props(**overrides: Any) -> ReputationProps:
    values: dict[str, Any] = {
        "environment": "prod",
        "account_id": ACCOUNT,
        "region": "eu-central-1",
        "configuration_sets": [
            MonitoredSet(name="transactional", slices=("at-de",)),
            MonitoredSet(name="bulk", alarms=ReputationAlarms(breaker=False, minimum_sends=500)),
        ],
        "max_send_rate": 100,
        "alarm_topic_arn": TOPIC,
        "alarm_topic_key_arn": KEY,
        "slices": [MonitoredSlice(name="at-de", rate_per_second=60, dlq_name="prod-at-de-dlq")],
        "state_table_name": "prod-ses-sending-state",
        "state_table_arn": TABLE_ARN,
    }
    return ReputationProps(**{**values, **overrides})


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.reputation.construct import ReputationMonitor

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    ReputationMonitor(stack, "reputation", props())
    return dict(json.loads(Testing.synth(stack)))


def alarms(doc: dict[str, Any]) -> dict[str, Any]:
    return {a["alarm_name"]: a for a in doc["resource"]["aws_cloudwatch_metric_alarm"].values()}


def test_each_set_gets_warning_and_critical_alarms_for_bounces_and_complaints_and_sess_own(
    doc: dict[str, Any],
) -> None:
    names = sorted(n for n in alarms(doc) if n.startswith("prod-transactional-"))
    assert names == [
        "prod-transactional-bounce-rate-critical",
        "prod-transactional-bounce-rate-warning",
        "prod-transactional-complaint-rate-critical",
        "prod-transactional-complaint-rate-warning",
        "prod-transactional-ses-bounce-rate",
        "prod-transactional-ses-complaint-rate",
    ]


def test_bounce_rate_is_metric_math_over_the_event_loggers_recipient_counts(doc: dict[str, Any]) -> None:
    alarm = alarms(doc)["prod-transactional-bounce-rate-critical"]
    queries = {q["id"]: q for q in alarm["metric_query"]}
    assert queries["rate"]["expression"] == "IF(sent >= 100, 100 * FILL(failed, 0) / sent, 0)"
    assert queries["rate"]["return_data"] is True
    assert queries["sent"]["metric"] == {
        "namespace": "SesPlatform/Events",
        "metric_name": "Recipients",
        "dimensions": {"ConfigurationSet": "transactional", "EventType": "Send"},
        "period": 3600,
        "stat": "Sum",
    }
    assert queries["failed"]["metric"]["dimensions"]["EventType"] == "Bounce"
    assert (alarm["threshold"], alarm["comparison_operator"]) == (4, "GreaterThanOrEqualToThreshold")


def test_default_levels_sit_below_ses_review_thresholds(doc: dict[str, Any]) -> None:
    found = alarms(doc)
    assert [
        found[f"prod-transactional-bounce-rate-{level}"]["threshold"] for level in ("warning", "critical")
    ] == [
        2,
        4,
    ]
    assert [
        found[f"prod-transactional-complaint-rate-{level}"]["threshold"] for level in ("warning", "critical")
    ] == [0.05, 0.08]


def test_minimum_sends_of_a_set_is_in_its_expression(doc: dict[str, Any]) -> None:
    queries = {q["id"]: q for q in alarms(doc)["prod-bulk-complaint-rate-warning"]["metric_query"]}
    assert queries["rate"]["expression"].startswith("IF(sent >= 500,")
    assert queries["failed"]["metric"]["dimensions"]["EventType"] == "Complaint"


def test_ses_reputation_alarm_reads_the_sets_dimension_as_a_fraction(doc: dict[str, Any]) -> None:
    alarm = alarms(doc)["prod-transactional-ses-complaint-rate"]
    (query,) = alarm["metric_query"]
    assert query["metric"]["namespace"] == "AWS/SES"
    assert query["metric"]["metric_name"] == "Reputation.ComplaintRate"
    assert query["metric"]["dimensions"] == {"ses:configuration-set": "transactional"}
    assert alarm["threshold"] == pytest.approx(0.0008)


def test_every_alarm_notifies_the_alarm_topic_and_treats_missing_data_as_ok(doc: dict[str, Any]) -> None:
    for alarm in alarms(doc).values():
        assert alarm["alarm_actions"] == [TOPIC]
        assert alarm["ok_actions"] == [TOPIC]
        assert alarm["treat_missing_data"] == "notBreaching"


def test_each_slice_gets_a_throttle_alarm(doc: dict[str, Any]) -> None:
    (query,) = alarms(doc)["prod-at-de-throttled"]["metric_query"]
    assert query["metric"]["namespace"] == "SesPlatform"
    assert query["metric"]["metric_name"] == "Throttled"
    assert query["metric"]["dimensions"] == {"Slice": "at-de"}


def test_breaker_rule_matches_only_critical_alarms_of_sets_with_the_breaker_on(doc: dict[str, Any]) -> None:
    (rule,) = doc["resource"]["aws_cloudwatch_event_rule"].values()
    pattern = json.loads(rule["event_pattern"])
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"]["state"] == {"value": ["ALARM"]}
    assert pattern["detail"]["alarmName"] == [
        "prod-transactional-bounce-rate-critical",
        "prod-transactional-complaint-rate-critical",
        "prod-transactional-ses-bounce-rate",
        "prod-transactional-ses-complaint-rate",
    ]


def test_breaker_knows_which_set_and_slices_each_alarm_pauses(doc: dict[str, Any]) -> None:
    function = doc["resource"]["aws_lambda_function"]["reputation_breaker"]
    assert function["function_name"] == "prod-ses-breaker-eu-central-1"
    targets = json.loads(function["environment"]["variables"]["BREAKER_TARGETS"])
    assert targets["prod-transactional-ses-bounce-rate"] == {
        "configuration_set": "transactional",
        "slices": ["at-de"],
    }
    assert function["dead_letter_config"] == {"target_arn": TOPIC}


def test_only_eventbridge_rule_may_invoke_the_breaker(doc: dict[str, Any]) -> None:
    (permission,) = doc["resource"]["aws_lambda_permission"].values()
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["source_arn"] == "${aws_cloudwatch_event_rule.reputation_breaker.arn}"


def test_breaker_may_pause_only_its_sets_and_its_slices_in_the_ledger(doc: dict[str, Any]) -> None:
    policy = json.loads(doc["resource"]["aws_iam_role_policy"]["reputation_breaker_breaker"]["policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert statements["PauseOwnConfigurationSets"]["Resource"] == [
        f"arn:aws:ses:eu-central-1:{ACCOUNT}:configuration-set/transactional"
    ]
    limiter = statements["PauseOwnSlicesInLedger"]
    assert limiter["Action"] == ["dynamodb:UpdateItem"]
    assert limiter["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ledger"]}}


def test_dashboard_body_is_valid_json_of_placed_widgets_within_the_grid(doc: dict[str, Any]) -> None:
    (dashboard,) = doc["resource"]["aws_cloudwatch_dashboard"].values()
    assert dashboard["dashboard_name"] == "prod-ses-eu-central-1"
    body = json.loads(dashboard["dashboard_body"])
    assert set(body) == {"widgets"}
    for widget in body["widgets"]:
        assert widget["type"] in {"text", "alarm", "metric", "log"}
        assert {"x", "y", "width", "height", "properties"} <= set(widget)
        assert widget["x"] + widget["width"] <= 24


def test_dashboard_shows_mails_per_slice_rates_per_set_rate_vs_quota_and_bouncing_domains() -> None:
    widgets = dashboard_body(props())["widgets"]
    titles = [w["properties"].get("title", "") for w in widgets]
    assert "Mails — slice at-de" in titles
    assert "Bounce and complaint rate — configuration set transactional" in titles
    assert "Sending rate used vs the SES quota (recipients per second)" in titles
    rate = next(w for w in widgets if w["properties"].get("title", "").startswith("Sending rate used"))
    assert rate["properties"]["annotations"]["horizontal"][0]["value"] == 100
    slice_widget = next(w for w in widgets if w["properties"].get("title") == "Mails — slice at-de")
    assert [m[5] for m in slice_widget["properties"]["metrics"]] == [
        "Send",
        "Delivery",
        "Bounce",
        "Complaint",
    ]
    logs = next(w for w in widgets if w["type"] == "log")
    assert logs["properties"]["query"].startswith("SOURCE '/aws/lambda/prod-ses-event-logger' |")
    assert "stats count(*) as bounces by domain" in logs["properties"]["query"]


def test_dashboard_alarm_widget_lists_every_set_alarm_by_arn() -> None:
    (alarm_widget,) = [w for w in dashboard_body(props())["widgets"] if w["type"] == "alarm"]
    arns = alarm_widget["properties"]["alarms"]
    assert f"arn:aws:cloudwatch:eu-central-1:{ACCOUNT}:alarm:prod-bulk-bounce-rate-critical" in arns
    assert len(arns) == 12


def test_without_any_breaker_there_is_no_breaker_function(synth: Any) -> None:
    from modules.reputation.construct import ReputationMonitor

    quiet = [MonitoredSet(name="bulk", alarms=ReputationAlarms(breaker=False))]
    doc = synth(lambda stack: ReputationMonitor(stack, "r", props(configuration_sets=quiet)))
    assert "aws_lambda_function" not in doc["resource"]
    assert "aws_cloudwatch_event_rule" not in doc["resource"]


def test_slices_without_a_state_table_are_rejected() -> None:
    with pytest.raises(ValueError, match="state_table_name and state_table_arn are required with slices"):
        props(state_table_name=None)

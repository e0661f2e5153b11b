"""Heartbeat: Express loop, schedule, Lambda environment, least-privilege IAM, logging, alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.heartbeat.props import HeartbeatProps, HeartbeatSlice
from modules.shared.iam import policy_statements, statement_actions

ACCOUNT = "111111111111"
KEY = "${aws_kms_key.sending.arn}"
TABLE_ARN = "${aws_dynamodb_table.sending_state.arn}"
TOPIC = "${aws_sns_topic.alarms.arn}"
FUNCTION_ARN = "${aws_lambda_function.heartbeat.arn}"
STATE_MACHINE_ARN = "${aws_sfn_state_machine.heartbeat.arn}"
LANES = {
    "at-de": ("at_de_transactional", "at_de_bulk"),
    "bulk": ("bulk_transactional", "bulk_bulk"),
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """One stack: the foundation, two slices ("at-de" 60/s, "bulk" 12.5/s) and their heartbeat."""
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.capacity_slice.construct import CapacitySlice
    from modules.capacity_slice.props import CapacitySliceProps
    from modules.heartbeat.construct import Heartbeat
    from modules.identity.construct import DomainIdentity, DomainIdentityProps
    from modules.shared.foundation import FoundationProps, StackFoundation

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    news = DomainIdentity(
        stack,
        "news",
        DomainIdentityProps(domain="news.example.at", region="eu-central-1", account_id=ACCOUNT),
    )
    foundation = StackFoundation(
        stack, "sending", FoundationProps(environment="prod", account_id=ACCOUNT, region="eu-central-1")
    )
    slices = [
        CapacitySlice(
            stack,
            name.replace("-", "_"),
            CapacitySliceProps(environment="prod", name=name, rate_per_second=rate, identities=[news]),
            foundation=foundation,
        )
        for name, rate in (("at-de", 60), ("bulk", 12.5))
    ]
    Heartbeat(
        stack,
        "heartbeat",
        HeartbeatProps(
            environment="prod",
            account_id=ACCOUNT,
            region="eu-central-1",
            slices=[HeartbeatSlice.of(s) for s in slices],
            headroom=0.95,
        ),
        foundation=foundation,
    )
    return dict(json.loads(Testing.synth(stack)))


def resources(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return dict(doc["resource"][kind])


def state_machine(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(resources(doc, "aws_sfn_state_machine")["heartbeat"])


def definition(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(state_machine(doc)["definition"]))


def policy(doc: dict[str, Any], address: str) -> list[dict[str, Any]]:
    return policy_statements(resources(doc, "aws_iam_role_policy")[address]["policy"])


def by_sid(statements: list[dict[str, Any]], sid: str) -> dict[str, Any]:
    return next(s for s in statements if s.get("Sid") == sid)


# --- state machine ------------------------------------------------------------------------------


def test_state_machine_is_express_named_after_the_environment(doc: dict[str, Any]) -> None:
    machine = state_machine(doc)
    assert machine["type"] == "EXPRESS"
    assert machine["name"] == "prod-ses-heartbeat"
    assert machine["role_arn"] == "${aws_iam_role.heartbeat_states.arn}"


def test_definition_is_a_loop_tick_choice_wait_back_to_tick(doc: dict[str, Any]) -> None:
    d = definition(doc)
    states = d["States"]
    assert d["QueryLanguage"] == "JSONata"
    assert d["StartAt"] == "Start"
    assert states["Start"]["Next"] == "Tick"
    assert states["Tick"]["Type"] == "Task"
    assert states["Tick"]["Next"] == "Continue?"
    assert states["Continue?"]["Type"] == "Choice"
    assert [c["Next"] for c in states["Continue?"]["Choices"]] == ["GiveUp", "NextSecond"]
    assert states["Continue?"]["Default"] == "Done"
    assert states["NextSecond"]["Type"] == "Wait"
    assert states["NextSecond"]["Next"] == "Tick"
    assert states["Done"]["Type"] == "Succeed"
    assert states["GiveUp"]["Type"] == "Fail"
    # every state is reachable and every Next names a state
    targets = {"Start"} | {
        n for s in states.values() for n in [s.get("Next"), s.get("Default")] + [
            c["Next"] for c in s.get("Choices", []) + s.get("Catch", [])
        ] if n
    }  # fmt: skip
    assert targets == set(states)


def test_tick_invokes_the_heartbeat_lambda_and_discards_its_output(doc: dict[str, Any]) -> None:
    tick = definition(doc)["States"]["Tick"]
    assert tick["Resource"] == "arn:aws:states:::lambda:invoke"
    assert tick["Arguments"]["FunctionName"] == FUNCTION_ARN
    assert tick["Output"] == {}
    assert tick["TimeoutSeconds"] == 5
    (catch,) = tick["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"]
    assert catch["Next"] == "Continue?"
    assert catch["Output"] == {}
    assert catch["Assign"]["failed"] == "{% $failed + 1 %}"


def test_wait_is_aligned_to_the_next_whole_second(doc: dict[str, Any]) -> None:
    states = definition(doc)["States"]
    assert states["Tick"]["Assign"]["next"] == "{% ($floor($millis() / 1000) + 1) * 1000 %}"
    assert states["Tick"]["Catch"][0]["Assign"]["next"] == states["Tick"]["Assign"]["next"]
    wait = states["NextSecond"]
    assert "Seconds" not in wait
    assert wait["Timestamp"] == "{% $fromMillis($next, '[Y0001]-[M01]-[D01]T[H01]:[m01]:[s01]Z') %}"


def test_loop_stops_after_the_execution_s_minute(doc: dict[str, Any]) -> None:
    states = definition(doc)["States"]
    # The last tick is due 59 s after the start: 60 ticks, then the next minute's run takes over.
    assert states["Start"]["Assign"] == {
        "last": "{% $toMillis($states.context.Execution.StartTime) + 59000 %}",
        "tick": 0,
        "failed": 0,
    }
    give_up, wait = states["Continue?"]["Choices"]
    assert give_up["Condition"] == "{% $failed >= 10 %}"
    assert wait["Condition"] == "{% $next <= $last %}"
    assert definition(doc)["TimeoutSeconds"] <= 300  # the Express maximum


def test_definition_holds_no_terraform_template_sequence_but_the_function_arn(doc: dict[str, Any]) -> None:
    text = state_machine(doc)["definition"]
    assert "%{" not in text
    assert text.count("${") == 1
    assert FUNCTION_ARN in text


def test_state_machine_logs_errors_to_a_kms_encrypted_log_group(doc: dict[str, Any]) -> None:
    logging = state_machine(doc)["logging_configuration"]
    assert logging == {
        "include_execution_data": True,
        "level": "ERROR",
        "log_destination": "${aws_cloudwatch_log_group.heartbeat_states.arn}:*",
    }
    group = resources(doc, "aws_cloudwatch_log_group")["heartbeat_states"]
    assert group["name"] == "/aws/lambda/prod-ses-heartbeat-states"
    assert group["kms_key_id"] == KEY
    assert group["retention_in_days"] == 365


def test_state_machine_traces_with_x_ray(doc: dict[str, Any]) -> None:
    assert state_machine(doc)["tracing_configuration"] == {"enabled": True}


# --- schedule -----------------------------------------------------------------------------------


def test_schedule_starts_the_state_machine_every_minute_without_a_flexible_window(
    doc: dict[str, Any],
) -> None:
    schedule = resources(doc, "aws_scheduler_schedule")["heartbeat"]
    assert schedule["schedule_expression"] == "rate(1 minute)"
    assert schedule["flexible_time_window"] == {"mode": "OFF"}
    assert schedule["state"] == "ENABLED"
    assert schedule["kms_key_arn"] == KEY
    target = schedule["target"]
    assert target["arn"] == STATE_MACHINE_ARN
    assert target["role_arn"] == "${aws_iam_role.heartbeat_scheduler.arn}"
    assert target["retry_policy"] == {"maximum_event_age_in_seconds": 60, "maximum_retry_attempts": 2}


def test_scheduler_role_may_only_start_this_state_machine(doc: dict[str, Any]) -> None:
    role = resources(doc, "aws_iam_role")["heartbeat_scheduler"]
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert trust["Condition"]["ArnEquals"] == {
        "aws:SourceArn": f"arn:aws:scheduler:eu-central-1:{ACCOUNT}:schedule/default/prod-ses-heartbeat"
    }
    statements = policy(doc, "heartbeat_scheduler")
    start = by_sid(statements, "StartHeartbeat")
    assert (start["Action"], start["Resource"]) == (["states:StartExecution"], STATE_MACHINE_ARN)
    assert by_sid(statements, "DecryptSchedule")["Resource"] == KEY
    assert len(statements) == 2


def test_state_machine_role_invokes_only_the_heartbeat_function_and_its_versions(doc: dict[str, Any]) -> None:
    role = resources(doc, "aws_iam_role")["heartbeat_states"]
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    statements = policy(doc, "heartbeat_states")
    invoke = by_sid(statements, "InvokeHeartbeat")
    assert invoke["Action"] == ["lambda:InvokeFunction"]
    assert invoke["Resource"] == [FUNCTION_ARN, f"{FUNCTION_ARN}:*"]
    assert "logs:CreateLogDelivery" in by_sid(statements, "DeliverLogs")["Action"]
    assert "xray:PutTraceSegments" in by_sid(statements, "XRayTraces")["Action"]
    # "*" as a resource only where AWS offers nothing narrower
    assert {s["Sid"] for s in statements if s["Resource"] == "*"} == {"DeliverLogs", "XRayTraces"}


# --- Lambda -------------------------------------------------------------------------------------


def test_heartbeat_lambda_runs_the_heartbeat_job_small_and_fast(doc: dict[str, Any]) -> None:
    fn = resources(doc, "aws_lambda_function")["heartbeat"]
    assert fn["function_name"] == "prod-ses-heartbeat"
    assert fn["handler"] == "functions.heartbeat.handler.lambda_handler"
    assert (fn["runtime"], fn["architectures"]) == ("python3.12", ["arm64"])
    assert (fn["timeout"], fn["memory_size"], fn["reserved_concurrent_executions"]) == (5, 128, 2)
    assert fn["kms_key_arn"] == KEY
    assert fn["tracing_config"] == {"mode": "Active"}
    group = resources(doc, "aws_cloudwatch_log_group")["heartbeat"]
    assert (group["name"], group["kms_key_id"]) == ("/aws/lambda/prod-ses-heartbeat", KEY)


def test_heartbeat_environment_lists_each_slice_with_rate_and_lane_urls(doc: dict[str, Any]) -> None:
    variables = resources(doc, "aws_lambda_function")["heartbeat"]["environment"]["variables"]
    assert variables["STATE_TABLE"] == "${aws_dynamodb_table.sending_state.name}"
    assert variables["HEADROOM"] == "0.95"
    assert variables["TICK_SECONDS"] == "1"
    slices = json.loads(variables["SLICES"])
    assert slices == [
        {
            "name": name,
            "rate_per_second": rate,
            "queue_urls": [f"${{aws_sqs_queue.{lane}.url}}" for lane in LANES[name]],
        }
        for name, rate in (("at-de", 60), ("bulk", 12.5))
    ]


def test_heartbeat_policy_reads_quota_and_lanes_and_writes_only_the_ledger(doc: dict[str, Any]) -> None:
    statements = policy(doc, "heartbeat_heartbeat")
    ses = by_sid(statements, "ReadSesQuota")
    assert (ses["Action"], ses["Resource"]) == (["ses:GetAccount"], "*")
    sqs = by_sid(statements, "ReadLaneDepth")
    assert sqs["Action"] == ["sqs:GetQueueAttributes"]
    assert sqs["Resource"] == [f"${{aws_sqs_queue.{lane}.arn}}" for lanes in LANES.values() for lane in lanes]
    table = by_sid(statements, "WriteSliceCaps")
    assert table["Action"] == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    assert table["Resource"] == TABLE_ARN
    assert table["Condition"] == {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["ledger"]}}
    key = by_sid(statements, "StackKey")
    assert (key["Action"], key["Resource"]) == (["kms:Decrypt", "kms:GenerateDataKey"], KEY)
    assert len(statements) == 4


def test_no_iam_policy_in_the_stack_has_a_wildcard_action(doc: dict[str, Any]) -> None:
    documents = [p["policy"] for p in resources(doc, "aws_iam_role_policy").values()]
    documents += [r["assume_role_policy"] for r in resources(doc, "aws_iam_role").values()]
    for document in documents:
        for statement in policy_statements(document):
            assert "NotAction" not in statement
            assert all("*" not in action for action in statement_actions(statement))


# --- alarms and outputs -------------------------------------------------------------------------


def test_alarms_on_failed_executions_lambda_errors_and_a_stopped_heartbeat(doc: dict[str, Any]) -> None:
    alarms = {
        k: v for k, v in resources(doc, "aws_cloudwatch_metric_alarm").items() if k.startswith("heartbeat")
    }
    assert set(alarms) == {"heartbeat_executions_failed", "heartbeat_errors", "heartbeat_not_running"}
    failed = alarms["heartbeat_executions_failed"]
    assert (failed["namespace"], failed["metric_name"]) == ("AWS/States", "ExecutionsFailed")
    assert failed["dimensions"] == {"StateMachineArn": STATE_MACHINE_ARN}
    assert (failed["threshold"], failed["comparison_operator"]) == (1, "GreaterThanOrEqualToThreshold")
    errors = alarms["heartbeat_errors"]
    assert (errors["namespace"], errors["metric_name"]) == ("AWS/Lambda", "Errors")
    assert errors["dimensions"] == {"FunctionName": "${aws_lambda_function.heartbeat.function_name}"}
    stopped = alarms["heartbeat_not_running"]
    assert (stopped["metric_name"], stopped["comparison_operator"]) == (
        "ExecutionsStarted",
        "LessThanThreshold",
    )
    assert (stopped["evaluation_periods"], stopped["treat_missing_data"]) == (3, "breaching")
    for alarm in alarms.values():
        assert alarm["alarm_actions"] == [TOPIC]
        assert alarm["ok_actions"] == [TOPIC]


def test_outputs_name_the_state_machine_and_function_with_descriptions(doc: dict[str, Any]) -> None:
    outputs = doc["output"]
    assert outputs["heartbeat_state_machine_arn"]["value"] == STATE_MACHINE_ARN
    assert outputs["heartbeat_function_name"]["value"] == "${aws_lambda_function.heartbeat.function_name}"
    for name in ("heartbeat_state_machine_arn", "heartbeat_function_name"):
        assert len(outputs[name]["description"]) > 20


# --- in the platform ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_region(synthesized_env: Any) -> dict[str, dict[str, Any]]:
    return synthesized_env("multi-region").documents()


def test_a_stack_whose_region_opts_in_gets_one_heartbeat_for_all_its_slices(
    multi_region: dict[str, dict[str, Any]],
) -> None:
    opted_in = multi_region["multi-region-shop-us-east-1"]
    (machine,) = opted_in["resource"]["aws_sfn_state_machine"].values()
    assert machine["type"] == "EXPRESS"
    # one heartbeat schedule (the stack's others: its dedicated IP pool's blocklist monitor and
    # warm-up, the bounce report, the suppression-list cleanup)
    assert "heartbeat" in opted_in["resource"]["aws_scheduler_schedule"]
    assert set(opted_in["resource"]["aws_scheduler_schedule"]) <= {
        "heartbeat",
        "blocklist",
        "warmup",
        "bounce_report",
        "suppression_cleanup",
    }
    fn = opted_in["resource"]["aws_lambda_function"]["heartbeat"]
    slices = json.loads(fn["environment"]["variables"]["SLICES"])
    assert [s["name"] for s in slices] == ["shop-orders", "shop-partner"]
    assert fn["environment"]["variables"]["HEADROOM"] == "0.95"
    # Both media regions opted in too: one heartbeat each, for that region's slice only.
    for name, slice_name, headroom in (
        ("multi-region-media-eu-central-1", "at-news", "0.95"),
        ("multi-region-media-eu-west-1", "at-news-west", "1.0"),
    ):
        variables = multi_region[name]["resource"]["aws_lambda_function"]["heartbeat"]["environment"]
        assert [s["name"] for s in json.loads(variables["variables"]["SLICES"])] == [slice_name]
        assert variables["variables"]["HEADROOM"] == headroom


def test_heartbeat_lambda_carries_its_three_checkov_skips_with_reasons(
    multi_region: dict[str, dict[str, Any]],
) -> None:
    fn = multi_region["multi-region-shop-us-east-1"]["resource"]["aws_lambda_function"]["heartbeat"]
    skips = {s["id"]: s["comment"] for s in fn["//"]["checkov"]["skip"]}
    assert set(skips) == {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272"}
    assert all(len(reason) > 40 for reason in skips.values())


def test_stack_without_heartbeat_when_disabled(tmp_path: Any) -> None:
    from cdktn import Testing

    from modules.config.model import (
        Account,
        Backend,
        Domain,
        HeartbeatSettings,
        RegionQuota,
        Slice,
        StackTarget,
    )
    from modules.platform.stack import SesStack

    quota = RegionQuota(
        name="eu-central-1",
        max_send_rate=10,
        max_24_hour_send=1000,
        heartbeat=HeartbeatSettings(enabled=False),
    )
    target = StackTarget(
        environment="off",
        account=Account(alias="media", id=ACCOUNT, regions=(quota,)),
        region=quota,
        domains=(Domain(name="news.example.at", account="media", regions=("eu-central-1",), source="x",
                        hosted_zone_id="Z0123456789ABCDEFGHIJ"),),
        slices=(Slice(name="at-de", account="media", region="eu-central-1", rate_per_second=5,
                      from_domains=("news.example.at",), source="x"),),
    )  # fmt: skip
    stack = SesStack(Testing.app(), target, backend=Backend(), tags={}, state_dir=str(tmp_path))
    document = json.loads(Testing.synth(stack))
    assert stack.heartbeat is None
    assert "aws_sfn_state_machine" not in document["resource"]
    assert "aws_lambda_function" in document["resource"]  # the sender is still there


# --- props --------------------------------------------------------------------------------------


def lane(name: str) -> HeartbeatSlice:
    return HeartbeatSlice(name=name, rate_per_second=10, queue_urls=["u"], queue_arns=["a"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"headroom": 0}, "headroom must be 0 < headroom ≤ 1"),
        ({"headroom": 1.01}, "headroom must be 0 < headroom ≤ 1"),
        ({"slices": []}, "at least one slice"),
        ({"slices": [lane("a1"), lane("a1")]}, "slice names must be unique"),
        ({"duration_seconds": 301}, "duration_seconds must be 10-300"),
        ({"timeout_seconds": 11}, "timeout_seconds must be 1-10"),
        ({"log_level": "OFF"}, "log_level must be one of"),
        ({"log_retention_days": 2}, "log_retention_days"),
        ({"account_id": "123"}, "account_id must be 12 digits"),
    ],
)
def test_bad_props_are_rejected_with_a_readable_message(changes: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "environment": "prod",
        "account_id": ACCOUNT,
        "region": "eu-central-1",
        "slices": [lane("a1")],
    }
    with pytest.raises(ValueError, match=message):
        HeartbeatProps(**{**base, **changes})


def test_slice_without_lanes_or_rate_is_rejected() -> None:
    with pytest.raises(ValueError, match="rate_per_second must be > 0"):
        HeartbeatSlice(name="a1", rate_per_second=0, queue_urls=["u"], queue_arns=["a"])
    with pytest.raises(ValueError, match="each lane's URL and ARN"):
        HeartbeatSlice(name="a1", rate_per_second=1, queue_urls=["u"], queue_arns=[])

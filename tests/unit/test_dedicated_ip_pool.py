"""Dedicated IP pool constructs: the pool, the warm-up controller (daily schedule, least-privilege
role, alarms), the blocklist monitor, and a slice routed to a warming pool."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.dedicated_ip_pool.props import BlocklistMonitorProps, WarmupPlan
from modules.shared.iam import policy_statements, statement_actions
from tests.unit.test_capacity_slice import env_of, policies_of, resources

ACCOUNT = "111111111111"
TABLE_ARN = "${aws_dynamodb_table.sending_state.arn}"
KEY = "${aws_kms_key.sending.arn}"
PLAN = WarmupPlan(
    pool="at-pool", start="2026-12-01", caps=[2000, 5000, 10000], period_days=7, full_volume=9800
)


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.capacity_slice.construct import CapacitySlice
    from modules.capacity_slice.props import CapacitySliceProps
    from modules.dedicated_ip_pool.blocklist import BlocklistMonitor
    from modules.dedicated_ip_pool.construct import DedicatedIpPool
    from modules.dedicated_ip_pool.props import DedicatedIpPoolProps, WarmupControllerProps
    from modules.dedicated_ip_pool.warmup import WarmupController
    from modules.identity.construct import DomainIdentity, DomainIdentityProps
    from modules.shared.foundation import FoundationProps, StackFoundation

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    where = {"environment": "prod", "account_id": ACCOUNT, "region": "eu-central-1"}
    foundation = StackFoundation(stack, "sending", FoundationProps(**where))
    news = DomainIdentity(
        stack,
        "news",
        DomainIdentityProps(domain="news.example.at", region="eu-central-1", account_id=ACCOUNT),
    )
    CapacitySlice(
        stack,
        "at_de",
        CapacitySliceProps(
            environment="prod",
            name="at-de",
            rate_per_second=10,
            identities=[news],
            configuration_set="shared",
            warmup_pool="at-pool",
            dedicated_configuration_set="at-dedicated",
        ),
        foundation=foundation,
    )
    DedicatedIpPool(stack, "pool", DedicatedIpPoolProps(name="at-pool"))
    WarmupController(stack, "warmup", WarmupControllerProps(**where, plans=[PLAN]), foundation=foundation)
    zones = ["bl.spamcop.net", "b.barracudacentral.org"]
    BlocklistMonitor(stack, "blocklist", BlocklistMonitorProps(**where, zones=zones), foundation=foundation)
    return dict(json.loads(Testing.synth(stack)))


def test_the_pool_is_a_standard_sesv2_dedicated_ip_pool(doc: dict[str, Any]) -> None:
    pool = resources(doc, "aws_sesv2_dedicated_ip_pool")["at-pool".replace("-", "_")]
    assert (pool["pool_name"], pool["scaling_mode"]) == ("at-pool", "STANDARD")
    assert "at_pool_dedicated_ip_pool_arn" in doc["output"]


def test_controller_gets_each_plan_with_its_full_daily_volume(doc: dict[str, Any]) -> None:
    env = env_of(doc, "warmup")
    assert json.loads(env["POOLS"]) == [
        {"pool": "at-pool", "start": "2026-12-01", "caps": [2000, 5000, 10000], "period_days": 7,
         "full_daily_volume": 1400},
    ]  # fmt: skip
    assert (env["STATE_TABLE"], env["LOOKAHEAD_DAYS"]) == ("${aws_dynamodb_table.sending_state.name}", "2")


def test_controller_runs_daily_just_after_midnight_utc_with_an_encrypted_schedule(
    doc: dict[str, Any],
) -> None:
    schedule = resources(doc, "aws_scheduler_schedule")["warmup"]
    assert (schedule["schedule_expression"], schedule["schedule_expression_timezone"]) == (
        "cron(5 0 * * ? *)",
        "UTC",
    )
    assert schedule["target"]["arn"] == "${aws_lambda_function.warmup.arn}"
    assert schedule["kms_key_arn"] == KEY


def test_the_scheduler_role_trusts_only_this_schedule_of_this_account(doc: dict[str, Any]) -> None:
    trust = json.loads(resources(doc, "aws_iam_role")["warmup_scheduler"]["assume_role_policy"])
    condition = trust["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    assert condition["ArnEquals"] == {
        "aws:SourceArn": f"arn:aws:scheduler:eu-central-1:{ACCOUNT}:schedule/default/prod-ses-warmup"
    }


def test_the_controller_writes_only_its_pools_warmup_items(doc: dict[str, Any]) -> None:
    (statement,) = [
        s for s in policy_statements(json.dumps(policies_of(doc, "warmup")["warmup"])) if "Condition" in s
    ]
    assert statement["Resource"] == TABLE_ARN
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["warmup#at-pool#*"]}
    }
    assert statement_actions(statement) == ["dynamodb:GetItem", "dynamodb:UpdateItem"]


def test_no_role_of_the_pool_parts_allows_a_wildcard_action(doc: dict[str, Any]) -> None:
    for role in ("warmup", "blocklist", "warmup_scheduler", "blocklist_scheduler"):
        for document in policies_of(doc, role).values():
            for statement in policy_statements(json.dumps(document)):
                assert all("*" not in action for action in statement_actions(statement)), role


def test_the_monitor_only_reads_the_dedicated_ips(doc: dict[str, Any]) -> None:
    statements = policy_statements(json.dumps(policies_of(doc, "blocklist")["blocklist"]))
    assert [statement_actions(s) for s in statements] == [["ses:GetDedicatedIps"]]


def test_the_monitor_checks_the_zones_hourly(doc: dict[str, Any]) -> None:
    assert env_of(doc, "blocklist")["ZONES"] == "bl.spamcop.net,b.barracudacentral.org"
    assert resources(doc, "aws_scheduler_schedule")["blocklist"]["schedule_expression"] == "rate(1 hour)"


def test_any_listing_raises_the_listed_alarm(doc: dict[str, Any]) -> None:
    alarm = resources(doc, "aws_cloudwatch_metric_alarm")["blocklist_listed"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["dimensions"]) == (
        "SesPlatform", "Listings", {"Monitor": "prod-eu-central-1"},
    )  # fmt: skip
    assert (alarm["threshold"], alarm["comparison_operator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]


def test_a_controller_that_stops_running_raises_an_alarm_within_two_days(doc: dict[str, Any]) -> None:
    alarm = resources(doc, "aws_cloudwatch_metric_alarm")["warmup_not_running"]
    assert (alarm["period"], alarm["evaluation_periods"], alarm["treat_missing_data"]) == (
        86400,
        2,
        "breaching",
    )


def test_a_warming_slice_tells_its_sender_the_pool_and_both_configuration_sets(doc: dict[str, Any]) -> None:
    env = env_of(doc, "at_de_sender")
    assert (env["WARMUP_POOL"], env["DEDICATED_CONFIGURATION_SET"], env["CONFIGURATION_SET"]) == (
        "at-pool", "at-dedicated", "shared",
    )  # fmt: skip


def test_a_warming_slices_sender_may_count_on_the_pools_items_and_send_with_both_sets(
    doc: dict[str, Any],
) -> None:
    policies = policies_of(doc, "at_de_sender")
    state = next(
        s for s in policy_statements(json.dumps(policies["sender"])) if s["Sid"] == "OwnKeysInStateTable"
    )
    assert "warmup#at-pool#*" in state["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    send = json.dumps(policies["ses-send-news.example.at"])
    assert "configuration-set/shared" in send
    assert "configuration-set/at-dedicated" in send


def test_a_schedule_that_decreases_is_rejected_at_synth() -> None:
    with pytest.raises(ValueError, match="caps must not decrease"):
        WarmupPlan(pool="p", start="2026-12-01", caps=[5, 3], period_days=1, full_volume=3)


def test_a_bad_blocklist_zone_is_rejected_at_synth() -> None:
    with pytest.raises(ValueError, match="expected DNS zones"):
        BlocklistMonitorProps(
            environment="prod", account_id=ACCOUNT, region="eu-central-1", zones=["bad zone"]
        )

"""CapacitySlice and StackFoundation: queues, sender, IAM, alarms, key, state table, alarm topic."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.sender.contract import SQS_MESSAGE_BYTES
from modules.capacity_slice.props import CapacitySliceProps
from modules.shared.foundation import FoundationProps

ACCOUNT = "111111111111"
KEY = "${aws_kms_key.sending.arn}"
TABLE_ARN = "${aws_dynamodb_table.sending_state.arn}"
TOPIC = "${aws_sns_topic.alarms.arn}"
NEWS_ARN = "${aws_sesv2_email_identity.news_example_at.arn}"
SHOP_ARN = "${aws_sesv2_email_identity.shop_example_com.arn}"
CONFIG_SET_ARN = f"arn:aws:ses:eu-central-1:{ACCOUNT}:configuration-set/"


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    """One stack: two identities, the foundation, a tuned slice "at-de" and a default slice "bulk"."""
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.capacity_slice.construct import CapacitySlice
    from modules.identity.construct import DomainIdentity, DomainIdentityProps
    from modules.shared.foundation import StackFoundation

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    news = DomainIdentity(
        stack,
        "news",
        DomainIdentityProps(domain="news.example.at", region="eu-central-1", account_id=ACCOUNT),
    )
    shop = DomainIdentity(
        stack,
        "shop",
        DomainIdentityProps(
            domain="shop.example.com",
            region="eu-central-1",
            account_id=ACCOUNT,
            configuration_set_name="marketing",
        ),
    )
    foundation = StackFoundation(
        stack, "sending", FoundationProps(environment="prod", account_id=ACCOUNT, region="eu-central-1")
    )
    CapacitySlice(
        stack,
        "at_de",
        CapacitySliceProps(
            environment="prod",
            name="at-de",
            rate_per_second=60,
            identities=[news, shop],
            configuration_set="transactional",
            max_receive_count=7,
            sender_max_concurrency=4,
            batch_size=5,
            log_retention_days=731,
            dlq_alarm_threshold=3,
            oldest_message_alarm_seconds=600,
        ),
        foundation=foundation,
    )
    CapacitySlice(
        stack,
        "bulk",
        CapacitySliceProps(environment="prod", name="bulk", rate_per_second=12.5, identities=[news]),
        foundation=foundation,
    )
    return dict(json.loads(Testing.synth(stack)))


def resources(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return dict(doc["resource"][kind])


def policies_of(doc: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    """Inline policies of a role by name, parsed."""
    return {
        p["name"]: json.loads(p["policy"])
        for p in resources(doc, "aws_iam_role_policy").values()
        if p["role"] == f"${{aws_iam_role.{role}.name}}"
    }


def statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def env_of(doc: dict[str, Any], function: str) -> dict[str, str]:
    return dict(resources(doc, "aws_lambda_function")[function]["environment"]["variables"])


# --- queues ------------------------------------------------------------------------------------


def test_each_slice_has_two_lanes_and_a_dlq_named_env_slice_part(doc: dict[str, Any]) -> None:
    queues = resources(doc, "aws_sqs_queue")
    assert {k: q["name"] for k, q in queues.items() if k.startswith("at_de")} == {
        "at_de_transactional": "prod-at-de-transactional",
        "at_de_bulk": "prod-at-de-bulk",
        "at_de_dlq": "prod-at-de-dlq",
    }
    assert len(queues) == 6


def test_lanes_redrive_to_the_shared_dlq_after_max_receive_count(doc: dict[str, Any]) -> None:
    queues = resources(doc, "aws_sqs_queue")
    for slug, count in (("at_de", 7), ("bulk", 5)):
        for lane in ("transactional", "bulk"):
            assert json.loads(queues[f"{slug}_{lane}"]["redrive_policy"]) == {
                "deadLetterTargetArn": f"${{aws_sqs_queue.{slug}_dlq.arn}}",
                "maxReceiveCount": count,
            }
        assert "redrive_policy" not in queues[f"{slug}_dlq"]


def test_dlq_accepts_redrive_only_from_its_own_lanes(doc: dict[str, Any]) -> None:
    allow = resources(doc, "aws_sqs_queue_redrive_allow_policy")["at_de_dlq"]
    assert allow["queue_url"] == "${aws_sqs_queue.at_de_dlq.url}"
    assert json.loads(allow["redrive_allow_policy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": ["${aws_sqs_queue.at_de_transactional.arn}", "${aws_sqs_queue.at_de_bulk.arn}"],
    }


def test_queues_are_kms_encrypted_with_visibility_six_times_the_sender_timeout(doc: dict[str, Any]) -> None:
    timeout = resources(doc, "aws_lambda_function")["at_de_sender"]["timeout"]
    for queue in resources(doc, "aws_sqs_queue").values():
        assert queue["kms_master_key_id"] == KEY
        assert "sqs_managed_sse_enabled" not in queue
        assert queue["visibility_timeout_seconds"] >= 6 * timeout


def test_every_queue_states_its_message_size_and_the_dlq_takes_whatever_a_lane_holds(
    doc: dict[str, Any],
) -> None:
    sizes = {name: q["max_message_size"] for name, q in resources(doc, "aws_sqs_queue").items()}
    assert {"at_de_dlq", "at_de_transactional", "at_de_bulk"} <= set(sizes)
    assert set(sizes.values()) == {SQS_MESSAGE_BYTES}  # the size the sender's contract is built for


def test_dlq_keeps_messages_14_days_longer_than_the_lanes(doc: dict[str, Any]) -> None:
    queues = resources(doc, "aws_sqs_queue")
    assert queues["at_de_dlq"]["message_retention_seconds"] == 14 * 24 * 3600
    assert queues["at_de_transactional"]["message_retention_seconds"] < 14 * 24 * 3600


# --- the sender and its event source mappings --------------------------------------------------


def test_each_lane_feeds_the_sender_with_partial_batch_responses_and_max_concurrency(
    doc: dict[str, Any],
) -> None:
    mappings = resources(doc, "aws_lambda_event_source_mapping")
    assert set(mappings) == {"at_de_transactional", "at_de_bulk", "bulk_transactional", "bulk_bulk"}
    for lane in ("transactional", "bulk"):
        mapping = mappings[f"at_de_{lane}"]
        assert mapping["event_source_arn"] == f"${{aws_sqs_queue.at_de_{lane}.arn}}"
        assert mapping["function_name"] == "${aws_lambda_function.at_de_sender.arn}"
        assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert mapping["scaling_config"] == {"maximum_concurrency": 4}
        assert mapping["batch_size"] == 5
        assert 0 < mapping["maximum_batching_window_in_seconds"] <= 5
        assert "aws_iam_role_policy.at_de_sender_sender" in mapping["depends_on"]
    assert mappings["bulk_bulk"]["scaling_config"] == {"maximum_concurrency": 5}
    assert mappings["bulk_bulk"]["batch_size"] == 10


def test_sender_reserves_the_concurrency_of_both_lanes(doc: dict[str, Any]) -> None:
    functions = resources(doc, "aws_lambda_function")
    assert functions["at_de_sender"]["reserved_concurrent_executions"] == 8
    assert functions["bulk_sender"]["reserved_concurrent_executions"] == 10


def test_sender_runs_the_sender_job_on_arm64_with_xray_and_its_dlq(doc: dict[str, Any]) -> None:
    sender = resources(doc, "aws_lambda_function")["at_de_sender"]
    assert sender["function_name"] == "prod-at-de-sender"
    assert sender["handler"] == "functions.sender.handler.lambda_handler"
    assert (sender["runtime"], sender["architectures"]) == ("python3.12", ["arm64"])
    assert (sender["timeout"], sender["memory_size"]) == (60, 256)
    assert sender["tracing_config"] == {"mode": "Active"}
    assert sender["dead_letter_config"] == {"target_arn": "${aws_sqs_queue.at_de_dlq.arn}"}
    assert sender["kms_key_arn"] == KEY


def test_sender_environment_is_exactly_the_contract(doc: dict[str, Any]) -> None:
    assert env_of(doc, "at_de_sender") == {
        "SLICE_NAME": "at-de",
        "RATE_PER_SECOND": "60",
        "ACCOUNT_RATE_PER_SECOND": "60",  # none given: the slice's own rate (it never borrows beyond it)
        "STATE_TABLE": "${aws_dynamodb_table.sending_state.name}",
        "DLQ_URL": "${aws_sqs_queue.at_de_dlq.url}",
        "QUEUE_URLS": "${jsonencode(zipmap("
        "[aws_sqs_queue.at_de_transactional.arn, aws_sqs_queue.at_de_bulk.arn], "
        "[aws_sqs_queue.at_de_transactional.url, aws_sqs_queue.at_de_bulk.url]))}",
        "CONFIGURATION_SET": "transactional",
        "ALLOWED_FROM_DOMAINS": "news.example.at,shop.example.com",
        "METRICS_NAMESPACE": "SesPlatform",
        "MAX_RECEIVE_COUNT": "7",
        "WARMUP_POOL": "",  # no dedicated IP pool warming up: no routing
        "DEDICATED_CONFIGURATION_SET": "",
        "ARCHIVE_ADDRESS": "",  # no shadow-copy archive
    }


def test_sender_environment_is_what_the_handler_reads(doc: dict[str, Any]) -> None:
    from functions.sender.handler import ENVIRONMENT_VARIABLES

    assert set(env_of(doc, "at_de_sender")) == set(ENVIRONMENT_VARIABLES)


def test_sender_environment_defaults_without_configuration_set(doc: dict[str, Any]) -> None:
    env = env_of(doc, "bulk_sender")
    assert (env["RATE_PER_SECOND"], env["CONFIGURATION_SET"], env["ALLOWED_FROM_DOMAINS"]) == (
        "12.5",
        "",
        "news.example.at",
    )


def test_sender_log_group_keeps_the_configured_retention_encrypted(doc: dict[str, Any]) -> None:
    group = resources(doc, "aws_cloudwatch_log_group")["at_de_sender"]
    assert (group["name"], group["retention_in_days"], group["kms_key_id"]) == (
        "/aws/lambda/prod-at-de-sender",
        731,
        KEY,
    )


# --- IAM ---------------------------------------------------------------------------------------


def test_no_policy_anywhere_allows_a_wildcard_action(doc: dict[str, Any]) -> None:
    documents = [json.loads(p["policy"]) for p in resources(doc, "aws_iam_role_policy").values()]
    documents += [json.loads(r["assume_role_policy"]) for r in resources(doc, "aws_iam_role").values()]
    documents.append(json.loads(resources(doc, "aws_kms_key")["sending"]["policy"]))
    documents.append(json.loads(resources(doc, "aws_sns_topic_policy")["alarms"]["policy"]))
    actions = []
    for document in documents:
        for statement in document["Statement"]:
            assert "NotAction" not in statement
            action = statement["Action"]
            actions += [action] if isinstance(action, str) else action
    assert actions
    assert [a for a in actions if "*" in a] == []


def test_sender_role_has_exactly_its_inline_policies(doc: dict[str, Any]) -> None:
    assert set(policies_of(doc, "at_de_sender")) == {
        "runtime",
        "sender",
        "ses-send-news.example.at",
        "ses-send-shop.example.com",
    }
    assert set(policies_of(doc, "bulk_sender")) == {"runtime", "sender", "ses-send-news.example.at"}


def test_ses_send_is_limited_to_the_from_domain_identities_and_configuration_sets(
    doc: dict[str, Any],
) -> None:
    policies = policies_of(doc, "at_de_sender")
    ses = {name: p["Statement"] for name, p in policies.items() if name.startswith("ses-send-")}
    assert ses == {
        "ses-send-news.example.at": [
            {
                "Sid": "SendAsIdentity",
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": [NEWS_ARN, CONFIG_SET_ARN + "transactional"],
            }
        ],
        # The identity's own default configuration set may apply too.
        "ses-send-shop.example.com": [
            {
                "Sid": "SendAsIdentity",
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": [SHOP_ARN, CONFIG_SET_ARN + "transactional", CONFIG_SET_ARN + "marketing"],
            }
        ],
    }
    assert policies_of(doc, "bulk_sender")["ses-send-news.example.at"]["Statement"][0]["Resource"] == [
        NEWS_ARN
    ]
    others = [s for name, p in policies.items() if name not in ses for s in p["Statement"]]
    assert not any(a.startswith("ses:") for s in others for a in s["Action"])  # SES only per identity


def test_sender_queue_table_and_key_statements_are_exact(doc: dict[str, Any]) -> None:
    sender = statements(policies_of(doc, "at_de_sender")["sender"])
    lanes = ["${aws_sqs_queue.at_de_transactional.arn}", "${aws_sqs_queue.at_de_bulk.arn}"]
    assert sender == {
        "ConsumeAndRequeueOwnLanes": {
            "Sid": "ConsumeAndRequeueOwnLanes",
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:ChangeMessageVisibility",
                "sqs:SendMessage",
            ],
            "Resource": lanes,
        },
        "DeadLetterOwnDlq": {
            "Sid": "DeadLetterOwnDlq",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": "${aws_sqs_queue.at_de_dlq.arn}",
        },
        "OwnKeysInStateTable": {
            "Sid": "OwnKeysInStateTable",
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            "Resource": TABLE_ARN,
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["ledger", "msg#at-de#*"]}},
        },
        "QueueMessagesKey": {
            "Sid": "QueueMessagesKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": KEY,
        },
    }


def test_only_xray_has_a_wildcard_resource(doc: dict[str, Any]) -> None:
    wildcard = [
        (s["Sid"], s["Action"])
        for p in resources(doc, "aws_iam_role_policy").values()
        for s in json.loads(p["policy"])["Statement"]
        if "*" in ([s["Resource"]] if isinstance(s["Resource"], str) else s["Resource"])
    ]
    assert wildcard
    assert {sid for sid, _ in wildcard} == {"XRayTraces"}
    assert all(actions == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"] for _, actions in wildcard)


def test_sender_writes_only_its_own_log_group(doc: dict[str, Any]) -> None:
    runtime = statements(policies_of(doc, "at_de_sender")["runtime"])
    assert runtime["WriteOwnLogs"]["Resource"] == "${aws_cloudwatch_log_group.at_de_sender.arn}:*"


# --- alarms ------------------------------------------------------------------------------------


def test_slice_alarms_watch_the_dlq_lane_age_errors_and_pause(doc: dict[str, Any]) -> None:
    alarms = {k: a for k, a in resources(doc, "aws_cloudwatch_metric_alarm").items() if k.startswith("at_de")}
    summary = {
        key: (a["namespace"], a["metric_name"], a["dimensions"], a["statistic"], a["threshold"])
        for key, a in alarms.items()
    }
    assert summary == {
        "at_de_dlq_messages": (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            {"QueueName": "${aws_sqs_queue.at_de_dlq.name}"},
            "Maximum",
            3,
        ),
        "at_de_transactional_oldest_message": (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": "${aws_sqs_queue.at_de_transactional.name}"},
            "Maximum",
            600,
        ),
        "at_de_bulk_oldest_message": (
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": "${aws_sqs_queue.at_de_bulk.name}"},
            "Maximum",
            600,
        ),
        "at_de_sender_errors": (
            "AWS/Lambda",
            "Errors",
            {"FunctionName": "${aws_lambda_function.at_de_sender.function_name}"},
            "Sum",
            1,
        ),
        "at_de_paused": ("SesPlatform", "SlicePaused", {"Slice": "at-de"}, "Maximum", 1),
    }
    for alarm in alarms.values():
        assert alarm["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["alarm_actions"] == [TOPIC]
        assert alarm["ok_actions"] == [TOPIC]
        assert alarm["alarm_name"].startswith("prod-at-de-")


def test_default_slice_alarms_use_default_thresholds(doc: dict[str, Any]) -> None:
    alarms = resources(doc, "aws_cloudwatch_metric_alarm")
    assert alarms["bulk_dlq_messages"]["threshold"] == 1
    assert alarms["bulk_bulk_oldest_message"]["threshold"] == 300


# --- the foundation: one key, one table, one topic per stack -----------------------------------


def test_one_key_table_and_topic_per_stack_however_many_slices(doc: dict[str, Any]) -> None:
    assert list(resources(doc, "aws_kms_key")) == ["sending"]
    assert list(resources(doc, "aws_dynamodb_table")) == ["sending_state"]
    assert list(resources(doc, "aws_sns_topic")) == ["alarms"]


def test_key_rotates_and_its_policy_names_account_logs_and_cloudwatch(doc: dict[str, Any]) -> None:
    key = resources(doc, "aws_kms_key")["sending"]
    assert key["enable_key_rotation"] is True
    policy = statements(json.loads(key["policy"]))
    assert policy["AccountAdministersThroughIam"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert "kms:PutKeyPolicy" in policy["AccountAdministersThroughIam"]["Action"]
    logs = policy["CloudWatchLogsForLambdaLogGroups"]
    assert logs["Principal"] == {"Service": "logs.eu-central-1.amazonaws.com"}
    groups = f"arn:aws:logs:eu-central-1:{ACCOUNT}:log-group:/aws/lambda/prod-*"
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": groups}}
    assert policy["CloudWatchAlarmsToEncryptedTopic"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    principals = [json.dumps(s["Principal"]) for s in policy.values()]
    assert not any('"*"' in p for p in principals)
    assert resources(doc, "aws_kms_alias")["sending"]["name"] == "alias/prod-ses-sending"


def test_state_table_has_pitr_ttl_kms_and_deletion_protection(doc: dict[str, Any]) -> None:
    table = resources(doc, "aws_dynamodb_table")["sending_state"]
    assert table["name"] == "prod-ses-sending-state"
    assert (table["billing_mode"], table["hash_key"]) == ("PAY_PER_REQUEST", "pk")
    assert table["attribute"] == [{"name": "pk", "type": "S"}]
    assert table["point_in_time_recovery"] == {"enabled": True}
    assert table["ttl"] == {"attribute_name": "expires_at", "enabled": True}
    assert table["server_side_encryption"] == {"enabled": True, "kms_key_arn": KEY}
    assert table["deletion_protection_enabled"] is True


def test_alarm_topic_is_encrypted_and_only_this_accounts_cloudwatch_may_publish(doc: dict[str, Any]) -> None:
    topic = resources(doc, "aws_sns_topic")["alarms"]
    assert (topic["name"], topic["kms_master_key_id"]) == ("prod-ses-alarms", KEY)
    policy = resources(doc, "aws_sns_topic_policy")["alarms"]
    assert policy["arn"] == TOPIC
    (statement,) = json.loads(policy["policy"])["Statement"]
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert (statement["Action"], statement["Resource"]) == ("sns:Publish", TOPIC)
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:eu-central-1:{ACCOUNT}:alarm:*"},
    }


# --- outputs and props -------------------------------------------------------------------------


def test_outputs_give_applications_the_lane_and_dlq_urls_with_descriptions(doc: dict[str, Any]) -> None:
    outputs = doc["output"]
    for name, value in (
        ("at_de_transactional_queue_url", "${aws_sqs_queue.at_de_transactional.url}"),
        ("at_de_bulk_queue_url", "${aws_sqs_queue.at_de_bulk.url}"),
        ("at_de_dlq_url", "${aws_sqs_queue.at_de_dlq.url}"),
        ("alarm_topic_arn", TOPIC),
    ):
        assert outputs[name]["value"] == value
        assert outputs[name]["description"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "At_DE"}, "slice name"),
        ({"rate_per_second": 0}, "rate_per_second"),
        ({"identities": []}, "identity"),
        ({"sender_max_concurrency": 1}, "sender_max_concurrency"),
        ({"batch_size": 11}, "batch_size"),
        ({"max_receive_count": 0}, "max_receive_count"),
        ({"log_retention_days": 10}, "log_retention_days"),
        ({"configuration_set": "bad set"}, "configuration_set"),
        ({"environment": "e" * 30, "name": "s" * 30}, "longer than 64"),
    ],
)
def test_bad_slice_props_are_rejected(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "environment": "prod",
        "name": "at-de",
        "rate_per_second": 1,
        "identities": [object()],
    }
    values.update(overrides)
    with pytest.raises(ValueError, match=message):
        CapacitySliceProps(**values)


# --- wired into the platform stacks ------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_region(synthesized_env: Any) -> dict[str, dict[str, Any]]:
    return synthesized_env("multi-region").documents()


def test_each_stack_gets_the_slices_of_its_account_region_and_one_foundation(
    multi_region: dict[str, dict[str, Any]],
) -> None:
    senders = {
        name: sorted(f for f in d["resource"]["aws_lambda_function"] if f.endswith("_sender"))
        for name, d in multi_region.items()
    }
    assert senders == {
        "multi-region-media-eu-central-1": ["at_news_sender"],
        "multi-region-media-eu-west-1": ["at_news_west_sender"],
        "multi-region-shop-us-east-1": ["shop_orders_sender", "shop_partner_sender"],
    }
    for document in multi_region.values():
        # the stack foundation's key; the event pipeline, each SNS destination and each SMTP user
        # bring their own
        own = [
            k
            for k in document["resource"]["aws_kms_key"]
            if not k.endswith("_events")
            and not k.startswith("smtp_")
            and k not in ("bounce_reports", "archive")
        ]
        assert own == ["events", "sending"]
        assert (
            document["resource"]["aws_dynamodb_table"]["sending_state"]["name"]
            == "multi-region-ses-sending-state"
        )


def test_stack_sender_may_send_as_its_own_stacks_identities(multi_region: dict[str, dict[str, Any]]) -> None:
    policies = multi_region["multi-region-shop-us-east-1"]["resource"]["aws_iam_role_policy"]
    orders = json.loads(policies["shop_orders_sender_ses_send_orders_shop_example_com"]["policy"])
    assert orders["Statement"][0]["Resource"] == [
        "${aws_sesv2_email_identity.orders_shop_example_com.arn}",
        "arn:aws:ses:us-east-1:222222222222:configuration-set/transactional",
    ]


def test_sender_carries_its_checkov_skips_with_reasons(multi_region: dict[str, dict[str, Any]]) -> None:
    sender = multi_region["multi-region-media-eu-west-1"]["resource"]["aws_lambda_function"][
        "at_news_west_sender"
    ]
    skips = {s["id"]: s["comment"] for s in sender["//"]["checkov"]["skip"]}
    assert set(skips) == {"CKV_AWS_117", "CKV_AWS_272"}
    assert all(len(reason) > 40 for reason in skips.values())


def test_stack_without_slices_creates_no_key_table_topic_or_lambda(repo_root: Any, tmp_path: Any) -> None:
    from modules.config import load_env
    from modules.platform.app import build_app

    env_dir = tmp_path / "plain"
    env_dir.mkdir()
    source = (repo_root / "envs" / "example" / "ses.hcl").read_text()
    (env_dir / "ses.hcl").write_text(
        source[: source.index("# A capacity slice")].replace('"example"', '"plain"')
    )
    app, (stack,) = build_app(load_env(env_dir), tmp_path / "out", repo_root=repo_root)
    app.synth()
    kinds = set(
        json.loads((tmp_path / "out" / "stacks" / stack.target.name / "cdk.tf.json").read_text())["resource"]
    )
    assert kinds == {
        "aws_route53_record",
        "aws_sesv2_email_identity",
        "aws_sesv2_email_identity_mail_from_attributes",
    }
    assert stack.foundation is None
    assert not (tmp_path / "out" / "lambda-packages").exists()


def test_enqueue_policy_grants_send_on_the_lanes_and_the_key_only(synth: Any) -> None:
    def build(stack: Any) -> None:
        from cdktn_provider_aws.iam_role_policy import IamRolePolicy

        from modules.capacity_slice.construct import CapacitySlice
        from modules.identity.construct import DomainIdentity, DomainIdentityProps
        from modules.shared.foundation import StackFoundation

        news = DomainIdentity(
            stack,
            "news",
            DomainIdentityProps(domain="news.example.at", region="eu-central-1", account_id=ACCOUNT),
        )
        foundation = StackFoundation(
            stack, "sending", FoundationProps(environment="prod", account_id=ACCOUNT, region="eu-central-1")
        )
        item = CapacitySlice(
            stack,
            "s",
            CapacitySliceProps(environment="prod", name="at-de", rate_per_second=1, identities=[news]),
            foundation=foundation,
        )
        IamRolePolicy(stack, "app", role="orders-api", name="enqueue", policy=item.enqueue_policy_json())

    document = synth(build)
    policy = json.loads(document["resource"]["aws_iam_role_policy"]["app"]["policy"])
    assert statements(policy) == {
        "EnqueueOnSliceLanes": {
            "Sid": "EnqueueOnSliceLanes",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"],
            "Resource": ["${aws_sqs_queue.at_de_transactional.arn}", "${aws_sqs_queue.at_de_bulk.arn}"],
        },
        "EncryptForSliceLanes": {
            "Sid": "EncryptForSliceLanes",
            "Effect": "Allow",
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": KEY,
        },
    }


def test_the_ledger_key_the_policies_name_is_the_one_the_lambdas_use() -> None:
    from functions.common.ledger import LEDGER_PK as RUNTIME
    from modules.shared.names import LEDGER_PK

    assert LEDGER_PK == RUNTIME

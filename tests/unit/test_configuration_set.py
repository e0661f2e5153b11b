"""ConfigurationSet: secure defaults, the destination factories, the encrypted topic and its policies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from modules.configuration_set.props import (
    EVENT_TYPES,
    CloudWatchDimension,
    ConfigurationSetProps,
    EventDestination,
    ReputationAlarms,
)

ACCOUNT = "111111111111"
SET_ARN = f"arn:aws:ses:eu-central-1:{ACCOUNT}:configuration-set/transactional"
FIREHOSE = f"arn:aws:firehose:eu-central-1:{ACCOUNT}:deliverystream/ses-events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ses-firehose"


def props(**overrides: Any) -> ConfigurationSetProps:
    values: dict[str, Any] = {
        "name": "transactional",
        "environment": "prod",
        "account_id": ACCOUNT,
        "region": "eu-central-1",
    }
    return ConfigurationSetProps(**{**values, **overrides})


def build(synth: Callable[..., dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    from modules.configuration_set.construct import ConfigurationSet

    return synth(lambda stack: ConfigurationSet(stack, "set", props(**overrides)))


@pytest.fixture(scope="module")
def default_doc() -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.configuration_set.construct import ConfigurationSet

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    ConfigurationSet(stack, "set", props())
    return dict(json.loads(Testing.synth(stack)))


def the(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    (value,) = doc["resource"][kind].values()
    return dict(value)


def policy(resource: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(resource["policy"]))


def test_configuration_set_requires_tls_and_keeps_reputation_metrics_and_sending_on(
    default_doc: dict[str, Any],
) -> None:
    cs = default_doc["resource"]["aws_sesv2_configuration_set"]["transactional"]
    assert cs["configuration_set_name"] == "transactional"
    assert cs["delivery_options"] == {"tls_policy": "REQUIRE"}
    assert cs["reputation_options"] == {"reputation_metrics_enabled": True}
    assert cs["sending_options"] == {"sending_enabled": True}


def test_bounces_and_complaints_go_on_the_suppression_list_by_default(default_doc: dict[str, Any]) -> None:
    cs = the(default_doc, "aws_sesv2_configuration_set")
    assert cs["suppression_options"] == {"suppressed_reasons": ["BOUNCE", "COMPLAINT"]}


def test_terraform_ignores_sending_options_so_an_apply_never_resumes_a_paused_set(
    default_doc: dict[str, Any],
) -> None:
    cs = the(default_doc, "aws_sesv2_configuration_set")
    assert cs["lifecycle"] == {"ignore_changes": ["sending_options"]}


def test_defaults_leave_tracking_and_vdm_to_ses(default_doc: dict[str, Any]) -> None:
    cs = the(default_doc, "aws_sesv2_configuration_set")
    assert "tracking_options" not in cs
    assert "vdm_options" not in cs


def test_default_destination_is_sns_with_every_event_type(default_doc: dict[str, Any]) -> None:
    destination = default_doc["resource"]["aws_sesv2_configuration_set_event_destination"][
        "transactional_sns"
    ]
    assert destination["event_destination"]["matching_event_types"] == list(EVENT_TYPES)
    assert destination["event_destination"]["sns_destination"] == {
        "topic_arn": "${aws_sns_topic.transactional_events.arn}"
    }
    assert len(EVENT_TYPES) == 10


def test_sns_destination_waits_for_the_topic_policy(default_doc: dict[str, Any]) -> None:
    destination = the(default_doc, "aws_sesv2_configuration_set_event_destination")
    assert destination["depends_on"] == ["aws_sns_topic_policy.transactional_events"]


def test_events_topic_is_encrypted_with_its_own_rotating_key(default_doc: dict[str, Any]) -> None:
    topic = default_doc["resource"]["aws_sns_topic"]["transactional_events"]
    assert topic["name"] == "prod-ses-events-transactional"
    assert topic["kms_master_key_id"] == "${aws_kms_key.transactional_events.arn}"
    key = the(default_doc, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert the(default_doc, "aws_kms_alias")["name"] == "alias/prod-ses-events-transactional"


def test_only_ses_of_this_account_and_set_may_publish_to_the_topic(default_doc: dict[str, Any]) -> None:
    (statement,) = policy(the(default_doc, "aws_sns_topic_policy"))["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == "${aws_sns_topic.transactional_events.arn}"
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnEquals": {"aws:SourceArn": SET_ARN},
    }


def test_key_lets_ses_encrypt_only_for_this_account_and_set(default_doc: dict[str, Any]) -> None:
    statements = {s["Sid"]: s for s in policy(the(default_doc, "aws_kms_key"))["Statement"]}
    ses = statements["SesPublishesThisSetsEvents"]
    assert ses["Principal"] == {"Service": "ses.amazonaws.com"}
    assert ses["Action"] == ["kms:GenerateDataKey", "kms:Decrypt"]
    assert ses["Condition"]["ArnEquals"] == {"aws:SourceArn": SET_ARN}
    assert statements["AccountAdministersThroughIam"]["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert not any("*" in a for s in statements.values() for a in s["Action"])


def test_outputs_name_the_set_and_the_topic_with_descriptions(default_doc: dict[str, Any]) -> None:
    outputs = default_doc["output"]
    assert set(outputs) == {"transactional_configuration_set_name", "transactional_events_topic_arn"}
    assert all(o["description"] for o in outputs.values())


def test_tracking_domain_requires_https(synth: Callable[..., dict[str, Any]]) -> None:
    cs = the(build(synth, custom_redirect_domain="track.example.at"), "aws_sesv2_configuration_set")
    assert cs["tracking_options"] == {"custom_redirect_domain": "track.example.at", "https_policy": "REQUIRE"}


def test_delivery_options_carry_max_delivery_seconds_and_the_dedicated_pool(
    synth: Callable[..., dict[str, Any]],
) -> None:
    cs = the(
        build(synth, max_delivery_seconds=3600, dedicated_ip_pool="at-pool"), "aws_sesv2_configuration_set"
    )
    assert cs["delivery_options"] == {
        "tls_policy": "REQUIRE",
        "max_delivery_seconds": 3600,
        "sending_pool_name": "at-pool",
    }


def test_vdm_options_are_written_only_for_the_settings_given(synth: Callable[..., dict[str, Any]]) -> None:
    cs = the(
        build(synth, engagement_metrics=True, optimized_shared_delivery=False), "aws_sesv2_configuration_set"
    )
    assert cs["vdm_options"] == {
        "dashboard_options": {"engagement_metrics": "ENABLED"},
        "guardian_options": {"optimized_shared_delivery": "DISABLED"},
    }


def test_event_bridge_destination_defaults_to_the_default_bus(synth: Callable[..., dict[str, Any]]) -> None:
    doc = build(synth, destinations=[EventDestination.event_bridge(event_types=["BOUNCE", "COMPLAINT"])])
    destination = the(doc, "aws_sesv2_configuration_set_event_destination")["event_destination"]
    assert destination["event_bridge_destination"] == {
        "event_bus_arn": f"arn:aws:events:eu-central-1:{ACCOUNT}:event-bus/default"
    }
    assert destination["matching_event_types"] == ["BOUNCE", "COMPLAINT"]


def test_without_an_sns_destination_no_topic_or_key_is_created(synth: Callable[..., dict[str, Any]]) -> None:
    doc = build(synth, destinations=[EventDestination.event_bridge()])
    assert "aws_sns_topic" not in doc["resource"]
    assert "aws_kms_key" not in doc["resource"]


def test_cloud_watch_destination_carries_its_dimensions(synth: Callable[..., dict[str, Any]]) -> None:
    doc = build(synth, destinations=[EventDestination.cloud_watch({"slice": "none"}, event_types=["SEND"])])
    destination = the(doc, "aws_sesv2_configuration_set_event_destination")["event_destination"]
    assert destination["cloud_watch_destination"] == {
        "dimension_configuration": [
            {
                "dimension_name": "slice",
                "dimension_value_source": "MESSAGE_TAG",
                "default_dimension_value": "none",
            }
        ]
    }


def test_firehose_destination_names_the_stream_and_the_role(synth: Callable[..., dict[str, Any]]) -> None:
    doc = build(synth, destinations=[EventDestination.firehose(FIREHOSE, ROLE)])
    destination = the(doc, "aws_sesv2_configuration_set_event_destination")["event_destination"]
    assert destination["kinesis_firehose_destination"] == {
        "delivery_stream_arn": FIREHOSE,
        "iam_role_arn": ROLE,
    }


@pytest.mark.parametrize(
    ("build_props", "message"),
    [
        (lambda: props(name="bad set"), "name must be 1-64 letters"),
        (lambda: props(tls_policy="NONE"), "tls_policy must be REQUIRE or OPTIONAL"),
        (lambda: props(max_delivery_seconds=299), "max_delivery_seconds must be 300-50400, got 299"),
        (lambda: props(max_delivery_seconds=50401), "max_delivery_seconds must be 300-50400, got 50401"),
        (lambda: props(suppressed_reasons=("SPAM",)), "suppressed_reasons may hold BOUNCE and COMPLAINT"),
        (lambda: props(custom_redirect_domain="Track.Example"), "not a valid domain name"),
        (
            lambda: props(destinations=[EventDestination.sns(), EventDestination.sns()]),
            "event destination names must be unique",
        ),
        (lambda: EventDestination.sns(event_types=["BOUNCED"]), "got BOUNCED"),
        (lambda: EventDestination.cloud_watch([]), "dimensions are required by a cloud_watch destination"),
        (lambda: EventDestination.firehose("stream", ROLE), "delivery_stream_arn must be an ARN"),
        (lambda: CloudWatchDimension(name="slice", source="HEADER"), "dimension source must be one of"),
        (lambda: ReputationAlarms(bounce_critical_percent=5), "below SES's review threshold 5 %"),
        (
            lambda: ReputationAlarms(complaint_warning_percent=0.09),
            "complaint_critical_percent must be above",
        ),
        (lambda: ReputationAlarms(period_seconds=330), "period_seconds must be a multiple of 60"),
    ],
)
def test_bad_props_are_rejected_with_a_message_naming_the_field(
    build_props: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build_props()

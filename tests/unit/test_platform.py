"""The platform: one stack per (environment, account, region) with its provider, backend, identities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modules.platform.summary import render, summarize


@pytest.fixture(scope="module")
def multi_region(synthesized_env: Any) -> dict[str, dict[str, Any]]:
    return synthesized_env("multi-region").documents()


def test_one_stack_per_account_and_region_named_env_account_region(multi_region: dict[str, Any]) -> None:
    assert list(multi_region) == [
        "multi-region-media-eu-central-1",
        "multi-region-media-eu-west-1",
        "multi-region-shop-us-east-1",
    ]


def test_each_stack_provider_is_pinned_to_its_account_and_assumes_its_role(
    multi_region: dict[str, Any],
) -> None:
    (provider,) = multi_region["multi-region-shop-us-east-1"]["provider"]["aws"]
    assert provider["region"] == "us-east-1"
    assert provider["allowed_account_ids"] == ["222222222222"]
    assert provider["assume_role"] == [
        {
            "role_arn": "arn:aws:iam::222222222222:role/ses-platform-terraform",
            "external_id": "ses-platform",
            "session_name": "ses-platform-multi-region",
        }
    ]


def test_environment_tags_become_provider_default_tags(multi_region: dict[str, Any]) -> None:
    (provider,) = multi_region["multi-region-media-eu-west-1"]["provider"]["aws"]
    assert provider["default_tags"] == [
        {
            "tags": {
                "team": "platform",
                "cost_center": "email",
                "environment": "multi-region",
                "managed_by": "ses-platform",
            }
        }
    ]


def test_s3_backend_gets_one_encrypted_key_per_stack_with_native_locking(
    multi_region: dict[str, Any],
) -> None:
    terraform = multi_region["multi-region-media-eu-west-1"]["terraform"]
    assert terraform["backend"]["s3"] == {
        "bucket": "acme-ses-terraform-state",
        "key": "ses-platform/multi-region/multi-region-media-eu-west-1.tfstate",
        "region": "eu-central-1",
        "encrypt": True,
        "kms_key_id": "alias/terraform-state",
        "use_lockfile": True,
    }
    # Only objects in the terraform block: checkov's terraform_json parser skips a file with a plain
    # value there (e.g. required_version) and reports it as passing. Users run checkov on this JSON.
    assert all(isinstance(value, dict) for value in terraform.values())


def test_a_domain_in_two_regions_is_an_identity_in_both_stacks(multi_region: dict[str, Any]) -> None:
    identities = {
        stack: set(document["resource"]["aws_sesv2_email_identity"])
        for stack, document in multi_region.items()
    }
    assert identities == {
        "multi-region-media-eu-central-1": {"news_example_at"},
        "multi-region-media-eu-west-1": {"news_example_at"},
        "multi-region-shop-us-east-1": {
            "orders_shop_example_com",
            "partner_example_net",
            "archive_shop_example_com",
        },
    }


def test_local_backend_keeps_state_outside_the_output_folder(repo_root: Path, synthesized_env: Any) -> None:
    example = synthesized_env("example")
    (document,) = example.documents().values()
    path = document["terraform"]["backend"]["local"]["path"]
    stack_dir = example.out / "stacks" / "example-media-eu-central-1"
    resolved = (stack_dir / path).resolve()
    assert resolved == repo_root.resolve() / ".terraform-state" / "example-media-eu-central-1.tfstate"
    assert not Path(path).is_absolute()  # the JSON must not depend on where the repo is checked out


def test_summary_lists_resources_and_every_dns_record_with_its_expression(synthesized_env: Any) -> None:
    example = synthesized_env("example")
    (summary,) = summarize(example.stacks, example.out)
    assert summary.resources == {
        "aws_cloudwatch_dashboard": 1,
        "aws_cloudwatch_event_rule": 2,
        "aws_cloudwatch_event_target": 2,
        "aws_cloudwatch_log_group": 7,
        "aws_cloudwatch_metric_alarm": 27,
        "aws_dynamodb_table": 2,
        "aws_iam_group": 1,
        "aws_iam_group_policy": 1,
        "aws_iam_role": 10,
        "aws_iam_role_policy": 18,
        "aws_iam_user": 1,
        "aws_iam_user_group_membership": 1,
        "aws_kms_alias": 6,
        "aws_kms_key": 6,
        "aws_lambda_event_source_mapping": 2,
        "aws_lambda_function": 7,
        "aws_lambda_permission": 5,
        "aws_route53_record": 6,
        "aws_s3_bucket": 1,
        "aws_s3_bucket_lifecycle_configuration": 1,
        "aws_s3_bucket_ownership_controls": 1,
        "aws_s3_bucket_policy": 1,
        "aws_s3_bucket_public_access_block": 1,
        "aws_s3_bucket_server_side_encryption_configuration": 1,
        "aws_s3_bucket_versioning": 1,
        "aws_scheduler_schedule": 3,
        "aws_secretsmanager_secret": 1,
        "aws_secretsmanager_secret_rotation": 1,
        "aws_sesv2_configuration_set": 2,
        "aws_sesv2_configuration_set_event_destination": 2,
        "aws_sesv2_dedicated_ip_pool": 1,
        "aws_sesv2_email_identity": 2,
        "aws_sesv2_email_identity_mail_from_attributes": 2,
        "aws_sns_topic": 3,
        "aws_sns_topic_policy": 3,
        "aws_sns_topic_subscription": 2,
        "aws_sqs_queue": 4,
        "aws_sqs_queue_policy": 1,
        "aws_sqs_queue_redrive_allow_policy": 1,
    }
    shop = next(d for d in summary.domains if d.domain == "shop.example.com")
    assert shop.dns == "external DNS: output shop_example_com_dns_zone_file"
    assert [(r.type, r.name) for r in shop.records][3:] == [
        ("MX", "bounce.shop.example.com"),
        ("TXT", "bounce.shop.example.com"),
        ("TXT", "_dmarc.shop.example.com"),
    ]
    (at_de,) = summary.slices
    assert (at_de.name, at_de.rate_per_second, at_de.from_domains) == ("at-de", 60, ("news.example.at",))
    assert sorted(at_de.queue_outputs) == [
        "at_de_bulk_queue_url",
        "at_de_dlq_url",
        "at_de_transactional_queue_url",
    ]
    text = render("example", [summary])
    assert "slice at-de: 60 recipients/s guaranteed, from news.example.at" in text
    assert "CNAME  <dkim-token-1>._domainkey.news.example.at  <dkim-token-1>.dkim.amazonses.com" in text
    assert (
        "where <dkim-token-1> = "
        "${element(aws_sesv2_email_identity.news_example_at.dkim_signing_attributes[0].tokens, 0)}"
    ) in text

"""modules/naming: names that stay unique where AWS keeps them unique, and the cross-stack check
that refuses a repeat (on hand-made Terraform JSON here; on real envs in the integration tests)."""

from __future__ import annotations

from typing import Any

import pytest

from modules.naming import IAM_NAME_LIMIT, fit, with_region
from modules.naming.check import StackDocument, find_repeats

ACCOUNT, OTHER_ACCOUNT = "111111111111", "222222222222"


def stack(
    name: str, resources: dict[str, dict[str, Any]], *, account: str = ACCOUNT, region: str = "eu-central-1",
    env: str = "envs/prod",
) -> StackDocument:  # fmt: skip
    document = {
        "provider": {"aws": [{"region": region, "allowed_account_ids": [account]}]},
        "resource": resources,
    }
    return StackDocument(env=env, stack=name, document=document)


def role(name: str) -> dict[str, dict[str, Any]]:
    return {"aws_iam_role": {"logger": {"name": name, "assume_role_policy": "{}"}}}


# --- names -----------------------------------------------------------------------------------


def test_an_account_wide_name_carries_the_region() -> None:
    assert with_region("prod-ses-event-logger", "eu-west-1") == "prod-ses-event-logger-eu-west-1"


def test_a_name_that_ends_with_its_region_already_is_kept() -> None:
    assert with_region("prod-ses-breaker-eu-west-1", "eu-west-1") == "prod-ses-breaker-eu-west-1"


def test_a_long_name_fits_iam_keeping_start_and_region_stable_and_distinct() -> None:
    base = "e" * 32 + "-ses-suppression-cleanup-scheduler"
    first = with_region(base, "ap-southeast-2")
    assert len(first) <= IAM_NAME_LIMIT
    assert first.startswith("e" * 20)
    assert first.endswith("-ap-southeast-2")
    assert first == with_region(base, "ap-southeast-2")  # stable across synths
    assert first != with_region(base + "x", "ap-southeast-2")  # distinct names stay distinct
    assert first != with_region(base, "ap-southeast-1")


def test_fit_leaves_a_short_name_alone_and_refuses_an_impossible_limit() -> None:
    assert fit("short", 10) == "short"
    with pytest.raises(ValueError, match="cannot fit"):
        fit("x" * 20, 10, keep_end=8)


# --- the cross-stack check -------------------------------------------------------------------


def test_one_iam_role_name_in_two_stacks_of_one_account_is_refused_naming_both() -> None:
    stacks = [
        stack("prod-media-eu-central-1", role("prod-ses-event-logger")),
        stack("prod-media-eu-west-1", role("prod-ses-event-logger"), region="eu-west-1"),
    ]
    (problem,) = find_repeats(stacks)
    assert problem.startswith('envs/prod: IAM role "prod-ses-event-logger": claimed by ')
    assert "prod-media-eu-central-1 (aws_iam_role.logger) and prod-media-eu-west-1 (aws_iam_role.logger)" in (
        problem
    )
    assert f"in account {ACCOUNT}; IAM role names are unique per account" in problem
    assert "the second apply fails" in problem


def test_one_iam_role_name_in_two_accounts_is_fine() -> None:
    stacks = [
        stack("prod-media-eu-central-1", role("prod-ses-event-logger")),
        stack("prod-shop-eu-central-1", role("prod-ses-event-logger"), account=OTHER_ACCOUNT),
    ]
    assert find_repeats(stacks) == []


def test_a_regional_name_may_repeat_across_regions_but_not_within_one() -> None:
    queue = {"aws_sqs_queue": {"dlq": {"name": "prod-ses-event-logger-dlq"}}}
    west = stack("prod-media-eu-west-1", queue, region="eu-west-1")
    assert find_repeats([stack("prod-media-eu-central-1", queue), west]) == []
    twice = {"aws_sqs_queue": {"a": {"name": "prod-x-dlq"}, "b": {"name": "prod-x-dlq"}}}
    (problem,) = find_repeats([stack("prod-media-eu-central-1", twice)])
    assert (
        "prod-media-eu-central-1 (aws_sqs_queue.a) and prod-media-eu-central-1 (aws_sqs_queue.b)" in problem
    )
    assert f"in account {ACCOUNT} eu-central-1" in problem


def test_an_s3_bucket_name_is_global_across_accounts() -> None:
    bucket = {"aws_s3_bucket": {"reports": {"bucket": "prod-ses-bounce-reports"}}}
    stacks = [stack("a", bucket), stack("b", bucket, account=OTHER_ACCOUNT, region="us-east-1")]
    (problem,) = find_repeats(stacks)
    assert "S3 bucket names are unique across all of AWS" in problem


def test_route53_records_repeat_per_zone_name_and_type_across_envs() -> None:
    def record(name: str, kind: str, zone: str = "Z1") -> dict[str, Any]:
        return {"aws_route53_record": {"r": {"zone_id": zone, "name": name, "type": kind}}}

    stacks = [
        stack("example-media-eu-central-1", record("_dmarc.news.example.at", "TXT"), env="envs/example"),
        stack("prod-media-eu-central-1", record("_DMARC.news.example.at.", "TXT"), account=OTHER_ACCOUNT),
        stack("prod-media-eu-west-1", record("_dmarc.news.example.at", "MX")),
        stack("other-zone", record("_dmarc.news.example.at", "TXT", zone="Z2")),
    ]
    (problem,) = find_repeats(stacks)
    assert problem.startswith('envs/example, envs/prod: Route 53 record "_dmarc.news.example.at TXT"')
    assert "in hosted zone Z1" in problem


def test_a_reference_to_a_literal_name_is_resolved_and_an_unknown_token_is_left_out() -> None:
    resources = {
        "aws_ses_receipt_rule_set": {"archive": {"rule_set_name": "prod-ses-archive"}},
        "aws_ses_receipt_rule": {
            "a": {"name": "copy", "rule_set_name": "${aws_ses_receipt_rule_set.archive.rule_set_name}"},
            "b": {"name": "copy", "rule_set_name": "${aws_ses_receipt_rule_set.archive.rule_set_name}"},
        },
        "aws_route53_record": {
            "dkim_1": {"zone_id": "Z1", "name": "${element(tokens, 0)}._domainkey.x.at", "type": "CNAME"},
            "dkim_2": {"zone_id": "Z1", "name": "${element(tokens, 1)}._domainkey.x.at", "type": "CNAME"},
        },
    }
    (problem,) = find_repeats([stack("prod-media-eu-central-1", resources)])
    assert problem.startswith('envs/prod: SES receipt rule "copy"')
    assert "(rule_set_name prod-ses-archive)" in problem


def test_two_active_receipt_rule_sets_in_one_account_region_collide_whatever_their_names() -> None:
    def active(name: str) -> dict[str, Any]:
        return {"aws_ses_active_receipt_rule_set": {"this": {"rule_set_name": name}}}

    (problem,) = find_repeats(
        [
            stack("a-media-eu-west-1", active("a-ses-archive")),
            stack("b-media-eu-west-1", active("b-ses-archive")),
        ]
    )
    assert "active SES receipt rule set" in problem


def test_a_secret_replica_claims_its_name_in_the_replica_region() -> None:
    secret = {"name": "ses-smtp/prod/crm", "replica": [{"region": "eu-west-1"}]}
    west = {"aws_secretsmanager_secret": {"other": {"name": "ses-smtp/prod/crm"}}}
    stacks = [
        stack("prod-media-eu-central-1", {"aws_secretsmanager_secret": {"crm": secret}}),
        stack("prod-media-eu-west-1", west, region="eu-west-1"),
    ]
    (problem,) = find_repeats(stacks)
    assert "eu-west-1 (a replica)" in problem


def test_a_name_longer_than_aws_accepts_is_refused_with_its_length_and_the_limit() -> None:
    from modules.naming.check import check_names

    function = {"aws_lambda_function": {"sender": {"function_name": "p" * 65}}}
    (problem,) = check_names([stack("prod-media-eu-central-1", function)])
    assert problem.startswith(f'envs/prod: Lambda function "{"p" * 65}": prod-media-eu-central-1 ')
    assert "with 65 characters, AWS allows 64" in problem

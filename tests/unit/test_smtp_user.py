"""SmtpUser: no access key and no credential in the JSON, the rotation's rules, and every policy."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from modules.smtp_user.props import SmtpUserProps

ACCOUNT = "111111111111"
READER = f"arn:aws:iam::{ACCOUNT}:role/legacy-crm"
SECRET = "${aws_secretsmanager_secret.smtp_crm.arn}"
KEY = "${aws_kms_key.smtp_crm.arn}"


def build(stack: Any, **overrides: Any) -> Any:
    from modules.identity.construct import DomainIdentity, DomainIdentityProps
    from modules.smtp_user.construct import SmtpUser

    news = DomainIdentity(
        stack,
        "news",
        DomainIdentityProps(
            domain="news.example.at",
            region="eu-central-1",
            account_id=ACCOUNT,
            configuration_set_name="marketing",
        ),
    )
    values: dict[str, Any] = {
        "environment": "prod",
        "name": "crm",
        "account_id": ACCOUNT,
        "region": "eu-central-1",
        "identities": [news],
        "from_addresses": ["crm@news.example.at"],
        "configuration_set": "transactional",
        "rotation_days": 45,
        "replica_regions": ["eu-west-1"],
        "readers": [READER],
        "previous_key_grace_hours": 12,
    }
    user = SmtpUser(stack, "smtp_crm", SmtpUserProps(**{**values, **overrides}))
    user.grant_read(stack, "reader_grant", role_name="legacy-crm")
    return user


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    build(stack)
    return dict(json.loads(Testing.synth(stack)))


def resources(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return dict(doc["resource"].get(kind, {}))


def statements(policy: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(policy)["Statement"]}


def test_no_access_key_is_created(doc: dict[str, Any]) -> None:
    assert "aws_iam_access_key" not in doc["resource"]
    assert "aws_secretsmanager_secret_version" not in doc["resource"]


def test_no_credential_field_appears_anywhere_in_the_json(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    for forbidden in ("secret_string", "ses_smtp_password", "SecretAccessKey", "secret_binary", "AKIA"):
        assert forbidden not in text


def test_secret_is_encrypted_with_its_own_key_and_replicated_with_a_replica_key(doc: dict[str, Any]) -> None:
    secret = resources(doc, "aws_secretsmanager_secret")["smtp_crm"]
    assert secret["name"] == "ses-smtp/prod/crm"
    assert secret["kms_key_id"] == KEY
    assert secret["replica"] == [
        {"region": "eu-west-1", "kms_key_id": "${aws_kms_replica_key.smtp_crm_eu_west_1.arn}"}
    ]


def test_key_rotates_and_is_multi_region_for_the_replica(doc: dict[str, Any]) -> None:
    key = resources(doc, "aws_kms_key")["smtp_crm"]
    assert (key["enable_key_rotation"], key["multi_region"]) == (True, True)
    replica = resources(doc, "aws_kms_replica_key")["smtp_crm_eu_west_1"]
    assert (replica["region"], replica["primary_key_arn"]) == ("eu-west-1", KEY)


def test_rotation_runs_every_rotation_days_and_immediately_after_creation(doc: dict[str, Any]) -> None:
    rotation = resources(doc, "aws_secretsmanager_secret_rotation")["smtp_crm"]
    assert rotation["rotation_rules"] == {"automatically_after_days": 45}
    assert rotation["rotate_immediately"] is True
    assert rotation["rotation_lambda_arn"] == "${aws_lambda_function.smtp_crm_rotation.arn}"
    assert "aws_lambda_permission.smtp_crm_secretsmanager" in rotation["depends_on"]


def test_only_secrets_manager_for_this_secret_may_invoke_the_rotation(doc: dict[str, Any]) -> None:
    permission = resources(doc, "aws_lambda_permission")["smtp_crm_secretsmanager"]
    assert (permission["principal"], permission["source_arn"]) == ("secretsmanager.amazonaws.com", SECRET)


def test_send_policy_allows_only_send_raw_email_as_the_identity_and_its_sets(doc: dict[str, Any]) -> None:
    policy = resources(doc, "aws_iam_group_policy")["smtp_crm"]
    (statement,) = statements(policy["policy"]).values()
    assert statement["Action"] == ["ses:SendRawEmail"]
    base = f"arn:aws:ses:eu-central-1:{ACCOUNT}:configuration-set/"
    assert statement["Resource"] == [
        "${aws_sesv2_email_identity.news_example_at.arn}",
        base + "transactional",
        base + "marketing",
    ]
    assert statement["Condition"] == {"StringLike": {"ses:FromAddress": ["crm@news.example.at"]}}


def test_user_holds_no_policy_of_its_own_only_its_group_membership(doc: dict[str, Any]) -> None:
    assert "aws_iam_user_policy" not in doc["resource"]
    membership = resources(doc, "aws_iam_user_group_membership")["smtp_crm"]
    assert membership["groups"] == ["${aws_iam_group.smtp_crm.name}"]
    assert resources(doc, "aws_iam_user")["smtp_crm"]["force_destroy"] is True


def test_rotation_role_may_touch_only_its_secret_key_and_users_access_keys(doc: dict[str, Any]) -> None:
    policy = statements(resources(doc, "aws_iam_role_policy")["smtp_crm_rotation_rotation"]["policy"])
    assert policy["RotateOwnSecret"]["Resource"] == SECRET
    assert policy["EncryptOwnSecret"]["Resource"] == KEY
    assert policy["OwnUsersAccessKeys"]["Resource"] == "${aws_iam_user.smtp_crm.arn}"
    assert sorted(policy["OwnUsersAccessKeys"]["Action"]) == [
        "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey",
    ]  # fmt: skip
    assert all("*" not in action for s in policy.values() for action in s["Action"])
    assert policy["EncryptOwnSecretReplicas"]["Resource"] == ["${aws_kms_replica_key.smtp_crm_eu_west_1.arn}"]


def test_rotation_lambda_knows_its_user_region_and_grace(doc: dict[str, Any]) -> None:
    function = resources(doc, "aws_lambda_function")["smtp_crm_rotation"]
    variables = function["environment"]["variables"]
    assert variables["IAM_USER_NAME"] == "${aws_iam_user.smtp_crm.name}"
    assert (variables["SMTP_REGION"], variables["PREVIOUS_KEY_GRACE_HOURS"]) == ("eu-central-1", "12")
    assert variables["SMTP_TEST_LOGIN"] == "true"
    assert function["reserved_concurrent_executions"] == 1


def test_readers_may_read_the_secret_through_its_resource_policy(doc: dict[str, Any]) -> None:
    policy = resources(doc, "aws_secretsmanager_secret_policy")["smtp_crm"]
    statement = statements(policy["policy"])["ReadersGetTheCredentials"]
    assert statement["Principal"] == {"AWS": [READER]}
    assert statement["Action"] == ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    assert policy["block_public_policy"] is True


def test_readers_decrypt_only_through_secrets_manager_for_this_secret(doc: dict[str, Any]) -> None:
    key_policy = statements(resources(doc, "aws_kms_key")["smtp_crm"]["policy"])
    condition = key_policy["ReadersDecryptTheSecret"]["Condition"]
    assert condition["StringEquals"] == {"kms:ViaService": "secretsmanager.eu-central-1.amazonaws.com"}
    assert condition["ArnLike"]["kms:EncryptionContext:SecretARN"].endswith(
        ":secret:ses-smtp/prod/crm-??????"
    )


def test_grant_read_gives_a_role_read_and_decrypt_for_primary_and_replica(doc: dict[str, Any]) -> None:
    grant = resources(doc, "aws_iam_role_policy")["reader_grant"]
    policy = statements(grant["policy"])
    assert grant["role"] == "legacy-crm"
    assert [re.sub(r":[0-9]{12}:", ":<id>:", r) for r in policy["ReadSmtpCredentials"]["Resource"]] == [
        "arn:aws:secretsmanager:eu-central-1:<id>:secret:ses-smtp/prod/crm-??????",
        "arn:aws:secretsmanager:eu-west-1:<id>:secret:ses-smtp/prod/crm-??????",
    ]
    assert policy["DecryptSmtpCredentials"]["Resource"] == [
        KEY,
        "${aws_kms_replica_key.smtp_crm_eu_west_1.arn}",
    ]


def test_hourly_sweep_sends_the_retire_action_for_this_secret(doc: dict[str, Any]) -> None:
    assert (
        resources(doc, "aws_cloudwatch_event_rule")["smtp_crm_sweep"]["schedule_expression"] == "rate(1 hour)"
    )
    target = resources(doc, "aws_cloudwatch_event_target")["smtp_crm_sweep"]
    assert json.loads(target["input"]) == {"action": "retire_expired_keys", "SecretId": SECRET}


def test_outputs_name_the_secret_and_the_user_with_descriptions(doc: dict[str, Any]) -> None:
    outputs = doc["output"]
    assert outputs["smtp_crm_secret_arn"]["value"] == SECRET
    assert all(outputs[name]["description"] for name in ("smtp_crm_secret_arn", "smtp_crm_iam_user_name"))


def test_without_readers_or_replicas_there_is_no_secret_policy_or_replica(synth: Any) -> None:
    doc = synth(lambda stack: build(stack, readers=[], replica_regions=[]))
    assert "aws_secretsmanager_secret_policy" not in doc["resource"]
    assert "aws_kms_replica_key" not in doc["resource"]
    assert "replica" not in resources(doc, "aws_secretsmanager_secret")["smtp_crm"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rotation_days": 91}, "rotation_days must be 1-90, got 91"),
        (
            {"rotation_days": 1, "previous_key_grace_hours": 24},
            "previous_key_grace_hours must be 0-23, got 24",
        ),
        ({"from_addresses": ["x@other.example"]}, "not on an identity"),
        ({"readers": ["arn:aws:iam::1:role/x"]}, "readers must be IAM role"),
        ({"replica_regions": ["eu-central-1"]}, "replica_regions must be other AWS regions"),
        ({"identities": []}, "identities must name at least one"),
    ],
)
def test_bad_props_are_rejected_with_what_was_given(overrides: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "environment": "prod",
        "name": "crm",
        "account_id": ACCOUNT,
        "region": "eu-central-1",
        "identities": [FakeIdentity()],
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        SmtpUserProps(**{**values, **overrides})


class FakeIdentity:
    class props:  # noqa: N801 - mimics DomainIdentity.props
        domain = "news.example.at"


def test_synth_summary_names_the_user_its_endpoint_and_the_secret_output() -> None:
    from modules.platform.summary import SmtpUserSummary, StackSummary, render

    user = SmtpUserSummary(
        name="legacy-crm",
        identities=("news.example.at",),
        endpoint="email-smtp.eu-central-1.amazonaws.com:587",
        rotation_days=30,
        secret_output="smtp_legacy_crm_secret_arn",
    )
    stack = StackSummary(
        name="s", account_id=ACCOUNT, region="eu-central-1", directory="d", resources={}, data_sources={},
        domains=(), smtp_users=(user,),
    )  # fmt: skip
    text = render("example", [stack])
    assert (
        "smtp_user legacy-crm: sends as news.example.at via email-smtp.eu-central-1.amazonaws.com:587, "
        "rotated every 30 days"
    ) in text
    assert "credentials in the secret of output smtp_legacy_crm_secret_arn" in text

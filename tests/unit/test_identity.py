"""DomainIdentity: the identity, its DKIM, MAIL FROM and DMARC, and the DNS records it publishes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from modules.identity.construct import DomainIdentity, DomainIdentityProps
from modules.identity.props import Dkim, Dmarc, MailFrom

Synth = Callable[..., dict[str, Any]]
TOKEN = "${{element(aws_sesv2_email_identity.{slug}.dkim_signing_attributes[0].tokens, {i})}}"


def props(**overrides: Any) -> DomainIdentityProps:
    values: dict[str, Any] = {
        "domain": "news.example.com",
        "region": "eu-central-1",
        "account_id": "111111111111",
        "hosted_zone_id": "Z0123456789ABCDEFGHIJ",
    }
    values.update(overrides)
    return DomainIdentityProps(**values)


def build(synth: Synth, **overrides: Any) -> dict[str, Any]:
    return synth(lambda stack: DomainIdentity(stack, "news", props(**overrides)))


def records(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    found = document["resource"].get("aws_route53_record", {}).values()
    return {(r["type"], r["name"]): r for r in found}


def test_easy_dkim_identity_uses_2048_bit_keys_by_default(synth: Synth) -> None:
    identity = build(synth)["resource"]["aws_sesv2_email_identity"]["news_example_com"]
    assert identity["email_identity"] == "news.example.com"
    assert identity["dkim_signing_attributes"] == {"next_signing_key_length": "RSA_2048_BIT"}


def test_easy_dkim_publishes_three_cnames_to_amazonses(synth: Synth) -> None:
    found = records(build(synth))
    for i in range(3):
        token = TOKEN.format(slug="news_example_com", i=i)
        record = found[("CNAME", f"{token}._domainkey.news.example.com")]
        assert record["records"] == [f"{token}.dkim.amazonses.com"]
        assert record["zone_id"] == "Z0123456789ABCDEFGHIJ"
        assert record["ttl"] == 600


def test_custom_mail_from_gets_mx_to_the_regional_feedback_endpoint_and_spf(synth: Synth) -> None:
    document = build(synth, mail_from=MailFrom(subdomain="mail", behavior_on_mx_failure="REJECT_MESSAGE"))
    mail_from = document["resource"]["aws_sesv2_email_identity_mail_from_attributes"]["news_example_com"]
    assert mail_from["mail_from_domain"] == "mail.news.example.com"
    assert mail_from["behavior_on_mx_failure"] == "REJECT_MESSAGE"
    assert mail_from["email_identity"] == "${aws_sesv2_email_identity.news_example_com.email_identity}"
    found = records(document)
    assert found[("MX", "mail.news.example.com")]["records"] == [
        "10 feedback-smtp.eu-central-1.amazonses.com"
    ]
    assert found[("TXT", "mail.news.example.com")]["records"] == ["v=spf1 include:amazonses.com ~all"]


def test_mail_from_defaults_to_bounce_subdomain_and_use_default_value(synth: Synth) -> None:
    document = build(synth)
    mail_from = document["resource"]["aws_sesv2_email_identity_mail_from_attributes"]["news_example_com"]
    assert mail_from["mail_from_domain"] == "bounce.news.example.com"
    assert mail_from["behavior_on_mx_failure"] == "USE_DEFAULT_VALUE"


def test_without_mail_from_there_is_no_mx_or_spf(synth: Synth) -> None:
    document = build(synth, mail_from=None)
    assert "aws_sesv2_email_identity_mail_from_attributes" not in document["resource"]
    assert {kind for kind, _ in records(document)} == {"CNAME", "TXT"}  # DKIM + DMARC only


def test_dmarc_record_is_built_from_the_config(synth: Synth) -> None:
    dmarc = Dmarc(
        policy="quarantine",
        pct=50,
        rua=("mailto:dmarc@example.com",),
        ruf=("mailto:f@example.com",),
        adkim="s",
    )
    record = records(build(synth, dmarc=dmarc))[("TXT", "_dmarc.news.example.com")]
    assert record["records"] == [
        "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@example.com; "
        "ruf=mailto:f@example.com; adkim=s; aspf=r"
    ]


def test_a_second_region_publishes_its_own_dkim_and_mail_from_but_not_dmarc(synth: Synth) -> None:
    document = build(synth, region="eu-west-1", home_region="eu-central-1")
    found = records(document)
    assert ("TXT", "_dmarc.news.example.com") not in found
    assert found[("MX", "bounce-eu-west-1.news.example.com")]["records"] == [
        "10 feedback-smtp.eu-west-1.amazonses.com"
    ]
    assert sum(1 for kind, _ in found if kind == "CNAME") == 3


def test_external_dns_creates_no_route53_records_and_outputs_a_zone_file(synth: Synth) -> None:
    document = build(synth, hosted_zone_id=None)
    assert "aws_route53_record" not in document["resource"]
    zone_file = document["output"]["news_example_com_dns_zone_file"]
    lines = zone_file["value"].split("\n")
    token = TOKEN.format(slug="news_example_com", i=0)
    assert lines[0] == f"{token}._domainkey.news.example.com. 600 IN CNAME {token}.dkim.amazonses.com."
    assert "bounce.news.example.com. 600 IN MX 10 feedback-smtp.eu-central-1.amazonses.com." in lines
    assert 'bounce.news.example.com. 600 IN TXT "v=spf1 include:amazonses.com ~all"' in lines
    assert '_dmarc.news.example.com. 600 IN TXT "v=DMARC1; p=none; adkim=r; aspf=r"' in lines
    assert "72 hours" in zone_file["description"]


def test_every_output_has_a_description(synth: Synth) -> None:
    outputs = build(synth, hosted_zone_id=None)["output"]
    assert set(outputs) == {
        "news_example_com_email_identity_arn",
        "news_example_com_dns_records",
        "news_example_com_dns_zone_file",
    }
    assert all(output["description"] for output in outputs.values())


def test_byodkim_reads_the_key_from_secrets_manager_and_publishes_a_split_txt(synth: Synth) -> None:
    public_key = "A" * 300  # longer than one 255-byte TXT string
    dkim = Dkim.byo(selector="s2026", private_key_secret="dkim/news", public_key=public_key)
    document = build(synth, dkim=dkim)
    secret = document["data"]["aws_secretsmanager_secret_version"]["news_example_com_byodkim_key"]
    assert secret["secret_id"] == "dkim/news"
    identity = document["resource"]["aws_sesv2_email_identity"]["news_example_com"]
    assert identity["dkim_signing_attributes"] == {
        "domain_signing_selector": "s2026",
        "domain_signing_private_key": "${data.aws_secretsmanager_secret_version."
        "news_example_com_byodkim_key.secret_string}",
    }
    found = records(document)
    assert not any(kind == "CNAME" for kind, _ in found)
    value = f"v=DKIM1; k=rsa; p={public_key}"
    assert found[("TXT", "s2026._domainkey.news.example.com")]["records"] == [f'{value[:255]}""{value[255:]}']


def test_identity_takes_tags_and_a_default_configuration_set(synth: Synth) -> None:
    document = build(synth, tags={"owner": "news"}, configuration_set_name="transactional")
    identity = document["resource"]["aws_sesv2_email_identity"]["news_example_com"]
    assert identity["tags"] == {"owner": "news"}
    assert identity["configuration_set_name"] == "transactional"


def test_grant_send_allows_only_send_actions_on_the_identity_and_its_configuration_sets(synth: Synth) -> None:
    def build_with_grant(stack: Any) -> None:
        identity = DomainIdentity(stack, "news", props())
        identity.grant_send(
            stack,
            "grant",
            role_name="orders-api",
            from_addresses=("orders@news.example.com",),
            configuration_set_names=("transactional",),
        )

    document = synth(build_with_grant)
    policy_resource = document["resource"]["aws_iam_role_policy"]["grant"]
    assert policy_resource["role"] == "orders-api"
    (statement,) = json.loads(policy_resource["policy"])["Statement"]
    assert statement["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert statement["Resource"] == [
        "${aws_sesv2_email_identity.news_example_com.arn}",
        "arn:aws:ses:eu-central-1:111111111111:configuration-set/transactional",
    ]
    assert statement["Condition"] == {"StringLike": {"ses:FromAddress": ["orders@news.example.com"]}}


def test_grant_send_refuses_a_from_address_on_another_domain(synth: Synth) -> None:
    def build_with_grant(stack: Any) -> None:
        identity = DomainIdentity(stack, "news", props())
        identity.send_policy_json(from_addresses=("ceo@evil.example.org",))

    with pytest.raises(ValueError, match=r"not on the identity domain news\.example\.com"):
        synth(build_with_grant)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"domain": "News.Example.com"}, "not a valid domain name"),
        ({"domain": "example"}, "not a valid domain name"),
        ({"account_id": "12345"}, "account_id must be 12 digits"),
        ({"dns_ttl_seconds": 30}, "dns_ttl_seconds must be 60-86400, got 30"),
    ],
)
def test_props_reject_bad_values_with_what_was_given(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        props(**overrides)


@pytest.mark.parametrize(
    ("build_value", "message"),
    [
        (lambda: Dkim.easy("RSA_4096_BIT"), "signing_key_length must be one of"),
        (lambda: Dkim(selector="s1"), "needs both selector and private_key_secret"),
        (lambda: MailFrom(subdomain="-bad"), "subdomain must be a DNS label"),
        (lambda: MailFrom(behavior_on_mx_failure="BOUNCE"), "behavior_on_mx_failure must be one of"),
        (lambda: Dmarc(pct=101), "pct must be a whole number from 0 to 100, got 101"),
        (lambda: Dmarc(rua=("dmarc@example.com",)), "rua entries must be mailto: addresses"),
        (lambda: Dmarc(policy="block"), "policy must be one of none, quarantine, reject"),
    ],
)
def test_value_types_reject_bad_values(build_value: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_value()

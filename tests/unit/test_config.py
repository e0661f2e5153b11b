"""envs/<env>/*.hcl → EnvConfig: the shipped examples load with the right typed values, and bad
input is rejected with a ConfigError whose message names the file, the key path and what was
expected (never a Python traceback)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from modules.config import ConfigError, EnvConfig, load_env

REPO = Path(__file__).resolve().parents[2]
ENVS = REPO / "envs"
BAD = "bad"  # folder name and `environment` of every generated env


# --------------------------------------------------------------------------------------------
# Building small environments in tmp_path
# --------------------------------------------------------------------------------------------

ENV_LINE = f'environment = "{BAD}"\n'
REGION = """
  region "eu-central-1" {
    max_send_rate    = 100
    max_24_hour_send = 500000
  }
"""
ZONE = 'hosted_zone_id = "Z0123456789ABCDEFGHIJ"'


def account(
    body: str = "", *, alias: str = "media", ident: str = 'id = "111111111111"', region: str = REGION
) -> str:
    return f'account "{alias}" {{\n  {ident}\n{body}\n{region}}}\n'


def region(name: str = "eu-central-1", body: str = "max_send_rate = 100\nmax_24_hour_send = 500000") -> str:
    return f'  region "{name}" {{\n{body}\n  }}\n'


def domain(
    body: str = "", *, name: str = "news.example.at", owner: str = 'account = "media"', dns: str = ZONE
) -> str:
    return f'domain "{name}" {{\n  {owner}\n  {dns}\n{body}\n}}\n'


SLICE = (
    'slice "{name}" {{\n  account = "media"\n  region = "eu-central-1"\n  rate_per_second = 10\n'
    "  from_domains = {domains}\n}}\n"
)


def ses(*parts: str) -> dict[str, str | bytes]:
    """One file, ``ses.hcl``, holding the environment line and the given blocks."""
    return {"ses.hcl": ENV_LINE + "\n".join(parts)}


def write_env(root: Path, files: Mapping[str, str | bytes], name: str = BAD) -> Path:
    folder = root / name
    folder.mkdir()
    for filename, content in files.items():
        path = folder / filename
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def load_tmp(root: Path, files: Mapping[str, str | bytes]) -> EnvConfig:
    return load_env(write_env(root, files), display_root=root)


def problems_of(root: Path, files: Mapping[str, str | bytes]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_tmp(root, files)
    return caught.value.problems


# --------------------------------------------------------------------------------------------
# The shipped examples
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> EnvConfig:
    return load_env(ENVS / "example", display_root=REPO)


@pytest.fixture(scope="module")
def multi() -> EnvConfig:
    return load_env(ENVS / "multi-region", display_root=REPO)


def test_example_env_is_named_after_its_folder_and_lists_its_file(example: EnvConfig) -> None:
    assert (example.environment, example.files) == ("example", ("envs/example/ses.hcl",))


def test_example_env_has_one_account_with_its_id_and_eu_central_1_quota(example: EnvConfig) -> None:
    (media,) = example.accounts
    assert (media.alias, media.id, media.role_arn, media.external_id) == ("media", "111111111111", None, None)
    assert [(r.name, r.max_send_rate, r.max_24_hour_send) for r in media.regions] == [
        ("eu-central-1", 100.0, 500000)
    ]


def test_example_max_send_rate_is_a_float_and_daily_quota_an_int(example: EnvConfig) -> None:
    quota = example.accounts[0].regions[0]
    assert type(quota.max_send_rate) is float
    assert type(quota.max_24_hour_send) is int


def test_example_declares_two_domains_in_file_order(example: EnvConfig) -> None:
    assert [d.name for d in example.domains] == ["news.example.at", "shop.example.com"]


def test_domain_without_dkim_block_gets_easy_dkim_rsa_2048(example: EnvConfig) -> None:
    shop = example.domains[1]
    assert (shop.dkim.mode, shop.dkim.signing_key_length, shop.dkim.selector) == (
        "easy",
        "RSA_2048_BIT",
        None,
    )


def test_domain_without_mail_from_block_gets_bounce_subdomain_with_use_default_value(
    example: EnvConfig,
) -> None:
    shop = example.domains[1]
    assert shop.mail_from is not None
    assert (shop.mail_from.subdomain, shop.mail_from.behavior_on_mx_failure) == (
        "bounce",
        "USE_DEFAULT_VALUE",
    )


def test_example_dmarc_record_value_carries_policy_pct_and_rua(example: EnvConfig) -> None:
    assert example.domains[0].dmarc.record_value() == (
        "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc-reports@example.at; adkim=r; aspf=r"
    )


def test_route53_domain_keeps_its_hosted_zone_id(example: EnvConfig) -> None:
    news = example.domains[0]
    assert (news.hosted_zone_id, news.dns) == ("Z0123456789ABCDEFGHIJ", "route53")


def test_external_dns_domain_has_no_hosted_zone_id(example: EnvConfig) -> None:
    shop = example.domains[1]
    assert (shop.hosted_zone_id, shop.dns) == (None, "external")


def test_example_has_one_stack_named_env_account_region_holding_both_domains(example: EnvConfig) -> None:
    (stack,) = example.stacks()
    assert stack.name == "example-media-eu-central-1"
    assert [d.name for d in stack.domains] == ["news.example.at", "shop.example.com"]


def test_example_without_backend_block_uses_local_state(example: EnvConfig) -> None:
    assert (example.backend.type, example.backend.bucket) == ("local", None)


def test_example_environment_tags_are_read(example: EnvConfig) -> None:
    assert dict(example.tags) == {"team": "platform", "cost_center": "email"}


def test_multi_region_reads_accounts_from_one_file_and_domains_from_another(multi: EnvConfig) -> None:
    assert multi.files == (
        "envs/multi-region/accounts.hcl",
        "envs/multi-region/configuration_sets.hcl",
        "envs/multi-region/domains.hcl",
        "envs/multi-region/pools.hcl",
        "envs/multi-region/slices.hcl",
        "envs/multi-region/smtp_users.hcl",
        "envs/multi-region/suppression.hcl",
        "envs/multi-region/tenants.hcl",
    )
    assert {d.source for d in multi.domains} == {"envs/multi-region/domains.hcl"}


def test_multi_region_accounts_keep_ids_roles_and_external_id(multi: EnvConfig) -> None:
    assert [(a.alias, a.id, a.role_arn, a.external_id) for a in multi.accounts] == [
        ("media", "333333333333", "arn:aws:iam::333333333333:role/ses-platform-terraform", None),
        ("shop", "222222222222", "arn:aws:iam::222222222222:role/ses-platform-terraform", "ses-platform"),
    ]


def test_multi_region_quotas_are_kept_per_account_and_region(multi: EnvConfig) -> None:
    quotas = [
        (a.alias, r.name, r.max_send_rate, r.max_24_hour_send) for a in multi.accounts for r in a.regions
    ]
    assert quotas == [
        ("media", "eu-central-1", 100.0, 500000),
        ("media", "eu-west-1", 50.0, 200000),
        ("shop", "us-east-1", 200.0, 1000000),
    ]


def test_multi_region_has_one_stack_per_account_region_named_env_account_region(multi: EnvConfig) -> None:
    assert [s.name for s in multi.stacks()] == [
        "multi-region-media-eu-central-1",
        "multi-region-media-eu-west-1",
        "multi-region-shop-us-east-1",
    ]


def test_multi_region_stacks_hold_the_domains_of_their_account_and_region(multi: EnvConfig) -> None:
    assert {s.name: [d.name for d in s.domains] for s in multi.stacks()} == {
        "multi-region-media-eu-central-1": ["news.example.at"],
        "multi-region-media-eu-west-1": ["news.example.at"],
        "multi-region-shop-us-east-1": [
            "orders.shop.example.com",
            "partner.example.net",
            "archive.shop.example.com",
        ],
    }


def test_domain_with_listed_regions_keeps_them_and_home_is_the_first(multi: EnvConfig) -> None:
    news = multi.domains[0]
    assert (news.regions, news.home_region) == (("eu-central-1", "eu-west-1"), "eu-central-1")


def test_multi_region_dmarc_record_value_has_sp_ruf_and_strict_dkim_alignment(multi: EnvConfig) -> None:
    assert multi.domains[0].dmarc.record_value() == (
        "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc-reports@example.at; "
        "ruf=mailto:dmarc-forensics@example.at; adkim=s; aspf=r"
    )


def test_mail_from_block_sets_subdomain_and_mx_failure_behaviour(multi: EnvConfig) -> None:
    orders = multi.domains[1]
    assert orders.mail_from is not None
    assert (orders.mail_from.subdomain, orders.mail_from.behavior_on_mx_failure) == ("mail", "REJECT_MESSAGE")


def test_configuration_set_and_domain_tags_are_read(multi: EnvConfig) -> None:
    orders, partner = multi.domains[1], multi.domains[2]
    assert (orders.configuration_set, dict(partner.tags)) == ("transactional", {"owner": "partnerships"})


def test_multi_region_s3_backend_settings_are_read_with_defaults(multi: EnvConfig) -> None:
    assert dataclasses.asdict(multi.backend) == {
        "type": "s3",
        "bucket": "acme-ses-terraform-state",
        "region": "eu-central-1",
        "key_prefix": "ses-platform/multi-region",
        "kms_key_id": "alias/terraform-state",
        "role_arn": None,
        "use_lockfile": True,
        "dynamodb_table": None,
    }


def test_domain_without_regions_gets_every_region_of_its_account_in_order(tmp_path: Path) -> None:
    two_regions = region("eu-west-1") + region("eu-central-1")
    env = load_tmp(tmp_path, ses(account(region=two_regions), domain()))
    assert env.domains[0].regions == ("eu-west-1", "eu-central-1")


def test_home_region_is_the_first_listed_region_not_the_alphabetical_first(tmp_path: Path) -> None:
    two_regions = region("eu-central-1") + region("eu-west-1")
    listed = 'regions = ["eu-west-1", "eu-central-1"]'
    env = load_tmp(tmp_path, ses(account(region=two_regions), domain(listed)))
    assert env.domains[0].home_region == "eu-west-1"


def test_domain_limited_to_one_region_is_absent_from_the_other_regions_stack(tmp_path: Path) -> None:
    two_regions = region("eu-central-1") + region("eu-west-1")
    env = load_tmp(tmp_path, ses(account(region=two_regions), domain('regions = ["eu-west-1"]')))
    assert {s.name: len(s.domains) for s in env.stacks()} == {
        "bad-media-eu-central-1": 0,
        "bad-media-eu-west-1": 1,
    }


def test_byodkim_with_allow_private_key_in_state_is_accepted(tmp_path: Path) -> None:
    byo = 'dkim {\n selector = "s1"\n private_key_secret = "ses/dkim"\n allow_private_key_in_state = true\n}'
    env = load_tmp(tmp_path, ses(account(), domain(byo)))
    dkim = env.domains[0].dkim
    assert (dkim.mode, dkim.selector, dkim.private_key_secret) == ("byo", "s1", "ses/dkim")


def test_mail_from_disabled_leaves_the_domain_without_mail_from(tmp_path: Path) -> None:
    env = load_tmp(tmp_path, ses(account(), domain("mail_from {\n enabled = false\n}")))
    assert env.domains[0].mail_from is None


def test_mail_from_disabled_still_accepts_its_other_settings(tmp_path: Path) -> None:
    disabled = 'mail_from {\n enabled = false\n subdomain = "mail"\n}'
    env = load_tmp(tmp_path, ses(account(), domain(disabled)))
    assert env.domains[0].mail_from is None


def test_number_in_exponent_form_is_read_as_a_number(tmp_path: Path) -> None:
    quota = region(body="max_send_rate = 1.5e2\nmax_24_hour_send = 1e6")
    env = load_tmp(tmp_path, ses(account(region=quota)))
    assert (env.accounts[0].regions[0].max_send_rate, env.accounts[0].regions[0].max_24_hour_send) == (
        150.0,
        1000000,
    )


def test_file_starting_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {"ses.hcl": b"\xef\xbb\xbf" + (ENV_LINE + account()).encode()}
    assert load_tmp(tmp_path, files).environment == BAD


@pytest.mark.parametrize(
    "pick",
    [
        pytest.param(lambda env: env, id="environment"),
        pytest.param(lambda env: env.accounts[0], id="account"),
        pytest.param(lambda env: env.accounts[0].regions[0], id="region quota"),
        pytest.param(lambda env: env.domains[0], id="domain"),
        pytest.param(lambda env: env.domains[0].dmarc, id="dmarc"),
        pytest.param(lambda env: env.domains[0].dkim, id="dkim"),
        pytest.param(lambda env: env.domains[0].mail_from, id="mail_from"),
        pytest.param(lambda env: env.backend, id="backend"),
    ],
)
def test_loaded_config_objects_are_frozen(multi: EnvConfig, pick: Callable[[EnvConfig], Any]) -> None:
    obj = pick(multi)
    name = dataclasses.fields(obj)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(obj, name, "changed")


@pytest.mark.parametrize(
    "pick", [lambda env: env.tags, lambda env: env.domains[2].tags], ids=["env", "domain"]
)
def test_loaded_tag_mappings_are_read_only(multi: EnvConfig, pick: Callable[[EnvConfig], Any]) -> None:
    tags = pick(multi)
    with pytest.raises(TypeError):
        tags["team"] = "changed"


# --------------------------------------------------------------------------------------------
# Bad input: each case is one small env with one mistake
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One bad environment and the one problem it must produce.

    ``where`` is what the message must start with after ``bad/<file>``: ``": <key path>: "`` for
    semantic problems, ``":<line>:<column>: "`` for syntax errors. ``expected`` must appear in
    the rest of the message (what the loader wanted, or what it got).
    """

    id: str
    files: dict[str, str | bytes]
    file: str
    where: str
    expected: tuple[str, ...]
    count: int = 1  # problems expected in total; more than one only where each is its own mistake
    extra: tuple[str, ...] = field(default=())


DOM = 'domain "news.example.at"'
ACC = 'account "media"'
REG = f'{ACC}.region "eu-central-1"'
BYO = 'selector = "s1"\n private_key_secret = "ses/dkim"'

BAD_CASES = [
    Bad(
        "syntax_error_has_line_and_column",
        ses(account(), domain('dmarc {\n  policy "reject"\n}')),
        "ses.hcl",
        ":17:1: syntax error",
        ("unexpected '}'", "for an attribute write name = value"),
    ),
    Bad(
        "doubled_equals_sign_is_a_syntax_error_at_its_column",
        ses(account(region=region(body="max_send_rate = = 100\nmax_24_hour_send = 5"))),
        "ses.hcl",
        ":6:17: syntax error",
        ("unexpected '= 100'",),
    ),
    Bad(
        # python-hcl2 parses it, HCL does not; the old message said "takes one label, got more".
        "brace_on_the_line_after_a_block_header_says_what_hcl_requires",
        {"ses.hcl": ENV_LINE + 'account "media"\n{\n  id = "111111111111"\n' + REGION + "}\n"},
        "ses.hcl",
        ':2: account "media": ',
        ('the "{" that opens the block must be on the same line as its header', 'write account "media" {'),
    ),
    Bad(
        "brace_on_the_line_after_a_nested_block_header_names_its_key_path",
        ses(
            account(
                region='  region "eu-central-1" # quota\n  {\n    max_send_rate = 100\n'
                "    max_24_hour_send = 500000\n  }\n"
            )
        ),
        "ses.hcl",
        ':5: account "media".region "eu-central-1": ',
        ("must be on the same line as its header", 'write region "eu-central-1" {'),
    ),
    Bad(
        "unclosed_block_is_a_syntax_error",
        ses(account(), 'domain "news.example.at" {\n  account = "media"\n'),
        "ses.hcl",
        ":14:1: syntax error",
        ("unexpected end of file", "unclosed block"),
    ),
    Bad(
        "unknown_top_level_block",
        ses(account(), domain(), 'resource "aws_s3_bucket" "logs" {\n}'),
        "ses.hcl",
        ": resource: ",
        ("unknown key", "environment", "account", "domain", "slice"),
    ),
    Bad(
        "misspelt_top_level_attribute_suggests_environment",
        {"ses.hcl": 'enviroment = "bad"\n' + account() + domain()},
        "ses.hcl",
        ": enviroment: ",
        ('did you mean "environment"',),
        count=2,
        extra=("environment: is required",),
    ),
    Bad(
        "unknown_key_in_dmarc_suggests_policy",
        ses(account(), domain('dmarc {\n  polcy = "reject"\n}')),
        "ses.hcl",
        f": {DOM}.dmarc.polcy: ",
        ('did you mean "policy"', "expected one of"),
    ),
    Bad(
        "unknown_key_in_region_suggests_max_send_rate",
        ses(account(region=region(body="max_send_rate = 1\nmax_24_hour_send = 5\nmax_sent_rate = 2"))),
        "ses.hcl",
        f": {REG}.max_sent_rate: ",
        ('did you mean "max_send_rate"',),
    ),
    Bad(
        "string_where_number_expected",
        ses(account(region=region(body='max_send_rate = "100"\nmax_24_hour_send = 5'))),
        "ses.hcl",
        f": {REG}.max_send_rate: ",
        ('expected a number, got the string "100"',),
    ),
    Bad(
        "number_where_string_expected",
        ses(account(), domain(owner="account = 5")),
        "ses.hcl",
        f": {DOM}.account: ",
        ("expected a string, got the number 5",),
    ),
    Bad(
        "string_where_list_expected",
        ses(account(), domain('regions = "eu-central-1"')),
        "ses.hcl",
        f": {DOM}.regions: ",
        ('expected a list of strings (["a", "b"]), got the string "eu-central-1"',),
    ),
    Bad(
        "list_where_string_expected",
        ses(account(), domain(owner='account = ["media"]')),
        "ses.hcl",
        f": {DOM}.account: ",
        ("expected a string, got a list",),
    ),
    Bad(
        "attribute_where_block_expected",
        ses(account(), domain('dkim = { signing_key_length = "RSA_2048_BIT" }')),
        "ses.hcl",
        f": {DOM}.dkim: ",
        ("expected a block (dkim { ... }), got an object",),
    ),
    Bad(
        "block_where_attribute_expected",
        ses(account(), domain('tags {\n  team = "mail"\n}')),
        "ses.hcl",
        f": {DOM}.tags: ",
        ("expected an attribute (tags = ...), got a block",),
    ),
    Bad(
        "domain_name_in_upper_case",
        ses(account(), domain(name="News.Example.at")),
        "ses.hcl",
        ': domain "News.Example.at": ',
        ("is not a valid domain name", "upper-case letters", 'write "news.example.at"'),
    ),
    Bad(
        "non_ascii_domain_name_says_to_write_its_punycode_form",
        ses(account(), domain(name="bücher.example.at")),
        "ses.hcl",
        ': domain "bücher.example.at": ',
        ("punycode form", 'write "xn--bcher-kva.example.at"'),
    ),
    Bad(
        "non_ascii_from_domain_of_a_slice_says_punycode_too",
        ses(account(), domain(), SLICE.format(name="at-de", domains='["straße.example.de"]')),
        "ses.hcl",
        ': slice "at-de".from_domains[0]: ',
        ('write "xn--strae-oqa.example.de"',),
    ),
    Bad(
        "empty_mail_from_subdomain_is_an_error_not_bounce",
        ses(account(), domain('  mail_from {\n    subdomain = ""\n  }')),
        "ses.hcl",
        ': domain "news.example.at".mail_from.subdomain: ',
        ("is empty", '"bounce"', "leave subdomain out"),
    ),
    Bad(
        "mail_from_subdomain_equal_to_the_domain",
        ses(account(), domain('  mail_from {\n    subdomain = "news.example.at"\n  }')),
        "ses.hcl",
        ': domain "news.example.at".mail_from.subdomain: ',
        ("is the domain itself", "must be a subdomain of news.example.at", '"bounce"'),
    ),
    Bad(
        "mail_from_subdomain_written_as_the_full_mail_from_domain",
        ses(account(), domain('  mail_from {\n    subdomain = "bounce.news.example.at"\n  }')),
        "ses.hcl",
        ': domain "news.example.at".mail_from.subdomain: ',
        ("is a full domain name", 'in front of news.example.at: "bounce"'),
    ),
    Bad(
        "mail_from_subdomain_written_as_another_domain_name",
        ses(account(), domain('  mail_from {\n    subdomain = "mail.example.at"\n  }')),
        "ses.hcl",
        ': domain "news.example.at".mail_from.subdomain: ',
        ("looks like a full domain name", 'e.g. "mail" (MAIL FROM mail.news.example.at)'),
    ),
    Bad(
        "mail_from_label_too_long_once_a_region_is_added",
        ses(
            account(region=region() + region("eu-west-1")),
            domain('  mail_from {\n    subdomain = "' + "b" * 60 + '"\n  }'),
        ),
        "ses.hcl",
        ': domain "news.example.at".mail_from.subdomain: ',
        ("MAIL FROM domain in eu-west-1", "a label of 70 characters; DNS allows 63"),
    ),
    Bad(
        "domain_too_long_for_its_dkim_records",
        ses(account(), domain(name=".".join(["a" * 50] * 4) + ".example.at")),  # 214 characters
        "ses.hcl",
        ': domain "' + ".".join(["a" * 50] * 4) + '.example.at": ',
        ("DKIM record has", "DNS allows 253"),
    ),
    Bad(
        "two_account_blocks_may_not_share_a_region_of_one_aws_account",
        ses(account(), account(alias="media-two")),
        "ses.hcl",
        ': account "media-two".region "eu-central-1": ',
        (
            'account "media" (bad/ses.hcl) is the same AWS account 111111111111',
            "one stack per account-region",
        ),
    ),
    Bad(
        "slice_names_starting_with_ses_are_the_platforms_own",
        ses(account(), domain(), SLICE.format(name="ses-event-logger", domains='["news.example.at"]')),
        "ses.hcl",
        ': slice "ses-event-logger": ',
        ('may not start with "ses-"', "<env>-ses-event-logger-dlq"),
    ),
    Bad(
        "domain_name_with_underscore",
        ses(account(), domain(name="news_letter.example.at")),
        "ses.hcl",
        ': domain "news_letter.example.at": ',
        ("is not a valid domain name",),
    ),
    Bad(
        "domain_name_without_tld",
        ses(account(), domain(name="localhost")),
        "ses.hcl",
        ': domain "localhost": ',
        ("is not a valid domain name",),
    ),
    Bad(
        "domain_name_with_trailing_dot",
        ses(account(), domain(name="news.example.at.")),
        "ses.hcl",
        ': domain "news.example.at.": ',
        ("is not a valid domain name", "ends with a dot", 'write "news.example.at"'),
    ),
    Bad(
        "dmarc_pct_negative",
        ses(account(), domain("dmarc {\n  pct = -1\n}")),
        "ses.hcl",
        f": {DOM}.dmarc.pct: ",
        ("expected a whole number from 0 to 100, got -1",),
    ),
    Bad(
        "dmarc_rua_without_mailto",
        ses(account(), domain('dmarc {\n  rua = ["dmarc@example.at"]\n}')),
        "ses.hcl",
        f": {DOM}.dmarc.rua: ",
        ("mailto:", "dmarc@example.at"),
    ),
    Bad(
        "dmarc_ruf_with_bad_address",
        ses(account(), domain('dmarc {\n  ruf = ["mailto:a@example.at", "mailto:forensics"]\n}')),
        "ses.hcl",
        f": {DOM}.dmarc.ruf: ",
        ("mailto:", "mailto:forensics"),
    ),
    Bad(
        "dmarc_policy_not_none_quarantine_or_reject",
        ses(account(), domain('dmarc {\n  policy = "block"\n}')),
        "ses.hcl",
        f": {DOM}.dmarc.policy: ",
        ("none, quarantine, reject", "block"),
    ),
    Bad(
        "unknown_account",
        ses(account(), domain(owner='account = "mail"')),
        "ses.hcl",
        f": {DOM}.account: ",
        ('no account "mail"', "accounts: media"),
    ),
    Bad(
        "region_not_declared_in_the_account",
        ses(account(), domain('regions = ["eu-west-1"]')),
        "ses.hcl",
        f": {DOM}.regions: ",
        ('has no region "eu-west-1"', "declared: eu-central-1"),
    ),
    Bad(
        "region_not_an_ses_region",
        ses(account(region=region("eu-centrl-1"))),
        "ses.hcl",
        f': {ACC}.region "eu-centrl-1": ',
        ("not an AWS region where SES sends mail",),
    ),
    Bad(
        "duplicate_domain_in_one_file",
        ses(account(), domain(), domain()),
        "ses.hcl",
        f": {DOM}: ",
        ("declared twice",),
    ),
    Bad(
        "duplicate_domain_across_two_files",
        {"a.hcl": ENV_LINE + account() + domain(), "b.hcl": domain()},
        "b.hcl",
        f": {DOM}: ",
        ("declared twice", "a.hcl"),
    ),
    Bad(
        "duplicate_account",
        {"a.hcl": ENV_LINE + account(), "b.hcl": account(ident='id = "222222222222"')},
        "b.hcl",
        f": {ACC}: ",
        ("declared twice", "a.hcl"),
    ),
    Bad(
        "duplicate_region_in_an_account",
        ses(account(region=region() + region())),
        "ses.hcl",
        f": {REG}: ",
        ("declared twice",),
    ),
    Bad(
        "hosted_zone_id_and_external_dns_both_set",
        ses(account(), domain('dns = "external"')),
        "ses.hcl",
        f": {DOM}.dns: ",
        ("choose one",),
    ),
    Bad(
        "neither_hosted_zone_id_nor_external_dns",
        ses(account(), domain(dns="")),
        "ses.hcl",
        f": {DOM}.hosted_zone_id: ",
        ('is required unless dns = "external"',),
    ),
    Bad(
        "bad_hosted_zone_id",
        ses(account(), domain(dns='hosted_zone_id = "zone-1"')),
        "ses.hcl",
        f": {DOM}.hosted_zone_id: ",
        ("a Route 53 hosted zone id", '"zone-1"'),
    ),
    Bad(
        "account_id_with_11_digits",
        ses(account(ident='id = "11111111111"')),
        "ses.hcl",
        f": {ACC}.id: ",
        ("12-digit AWS account id", '"11111111111"'),
    ),
    Bad(
        "account_id_written_as_a_number",
        ses(account(ident="id = 111111111111")),
        "ses.hcl",
        f": {ACC}.id: ",
        ("expected a string",),
    ),
    Bad(
        "role_arn_in_another_account",
        ses(account('  role_arn = "arn:aws:iam::222222222222:role/deploy"')),
        "ses.hcl",
        f": {ACC}.role_arn: ",
        ("222222222222", "111111111111"),
    ),
    Bad(
        "external_id_without_role_arn",
        ses(account('  external_id = "ses-platform"')),
        "ses.hcl",
        f": {ACC}.external_id: ",
        ("only used together with role_arn",),
    ),
    Bad(
        "missing_environment",
        {"ses.hcl": account()},
        "ses.hcl",
        ": environment: ",
        (f'is required (environment = "{BAD}")',),
    ),
    Bad(
        "environment_not_matching_its_folder",
        {"ses.hcl": 'environment = "prod"\n' + account()},
        "ses.hcl",
        ": environment: ",
        ('"prod" does not match its folder', f"envs/{BAD}/"),
    ),
    Bad(
        "environment_set_in_two_files",
        {"a.hcl": ENV_LINE + account(), "b.hcl": ENV_LINE},
        "b.hcl",
        ": environment: ",
        ("already set in", "a.hcl"),
    ),
    Bad(
        "missing_max_send_rate",
        ses(account(region=region(body="max_24_hour_send = 500000"))),
        "ses.hcl",
        f": {REG}.max_send_rate: ",
        ("is required",),
    ),
    Bad(
        "max_send_rate_zero",
        ses(account(region=region(body="max_send_rate = 0\nmax_24_hour_send = 5"))),
        "ses.hcl",
        f": {REG}.max_send_rate: ",
        ("expected a number > 0, got 0",),
    ),
    Bad(
        "max_send_rate_negative",
        ses(account(region=region(body="max_send_rate = -14\nmax_24_hour_send = 5"))),
        "ses.hcl",
        f": {REG}.max_send_rate: ",
        ("expected a number > 0, got -14",),
    ),
    Bad(
        "max_24_hour_send_as_float",
        ses(account(region=region(body="max_send_rate = 14\nmax_24_hour_send = 50000.5"))),
        "ses.hcl",
        f": {REG}.max_24_hour_send: ",
        ("expected a whole number", "50000.5"),
    ),
    Bad(
        "byodkim_without_allow_private_key_in_state",
        ses(account(), domain(f"dkim {{\n {BYO}\n}}")),
        "ses.hcl",
        f": {DOM}.dkim.allow_private_key_in_state: ",
        ("stored in state", "set it to true"),
    ),
    Bad(
        "byodkim_selector_without_private_key_secret",
        ses(account(), domain('dkim {\n  selector = "s1"\n  allow_private_key_in_state = true\n}')),
        "ses.hcl",
        f": {DOM}.dkim.private_key_secret: ",
        ("is required",),
    ),
    Bad(
        "signing_key_length_rsa_4096",
        ses(account(), domain('dkim {\n  signing_key_length = "RSA_4096_BIT"\n}')),
        "ses.hcl",
        f": {DOM}.dkim.signing_key_length: ",
        ("RSA_1024_BIT, RSA_2048_BIT", "RSA_4096_BIT"),
    ),
    Bad(
        "mail_from_behaviour_invalid",
        ses(account(), domain('mail_from {\n  behavior_on_mx_failure = "BOUNCE"\n}')),
        "ses.hcl",
        f": {DOM}.mail_from.behavior_on_mx_failure: ",
        ("USE_DEFAULT_VALUE, REJECT_MESSAGE", "BOUNCE"),
    ),
    Bad(
        "interpolation_in_a_value",
        ses(account(), domain(dns='hosted_zone_id = "${var.zone_id}"')),
        "ses.hcl",
        f": {DOM}.hosted_zone_id: ",
        ("expressions are not allowed",),
    ),
    Bad(
        "bare_variable_reference_as_a_number",
        ses(account(region=region(body="max_send_rate = var.rate\nmax_24_hour_send = 5"))),
        "ses.hcl",
        f": {REG}.max_send_rate: ",
        ("expressions are not allowed",),
    ),
    Bad(
        "interpolation_in_a_tag_value",
        {"ses.hcl": ENV_LINE + 'tags = { team = "${var.team}" }\n' + account()},
        "ses.hcl",
        ": tags.team: ",
        ("expressions are not allowed",),
    ),
    Bad(
        "interpolation_in_a_list_item",
        ses(account(), domain("regions = [var.region]")),
        "ses.hcl",
        f": {DOM}.regions[0]: ",
        ("expressions are not allowed",),
    ),
    Bad(
        "arithmetic_in_a_value",
        ses(account(), domain("dmarc {\n  pct = 10 + 5\n}")),
        "ses.hcl",
        f": {DOM}.dmarc.pct: ",
        ("expressions are not allowed",),
    ),
    Bad(
        "dmarc_alignment_not_r_or_s",
        ses(account(), domain('dmarc {\n  adkim = "strict"\n}')),
        "ses.hcl",
        f": {DOM}.dmarc.adkim: ",
        ('expected one of r, s, got "strict"',),
    ),
    Bad(
        "byodkim_selector_not_a_dns_label",
        ses(account(), domain('dkim {\n selector = "s_1"\n private_key_secret = "k"\n}')),
        "ses.hcl",
        f": {DOM}.dkim.selector: ",
        ("must be a DNS label", "s_1"),
    ),
    Bad(
        "byodkim_public_key_without_selector",
        ses(account(), domain('dkim {\n  public_key = "MIIBIjANBg=="\n}')),
        "ses.hcl",
        f": {DOM}.dkim.selector: ",
        ("is required", "BYODKIM"),
    ),
    Bad(
        "byodkim_with_signing_key_length",
        ses(account(), domain(f'dkim {{\n {BYO}\n signing_key_length = "RSA_2048_BIT"\n}}')),
        "ses.hcl",
        f": {DOM}.dkim.signing_key_length: ",
        ("is for Easy DKIM",),
    ),
    Bad(
        "mail_from_subdomain_with_underscore",
        ses(account(), domain('mail_from {\n  subdomain = "_bounce"\n}')),
        "ses.hcl",
        f": {DOM}.mail_from.subdomain: ",
        ("must be one or more DNS labels", "_bounce"),
    ),
    Bad(
        "two_backend_blocks",
        ses(
            account(),
            'backend "local" {\n}',
            'backend "s3" {\n  bucket = "b-1"\n  region = "eu-central-1"\n}',
        ),
        "ses.hcl",
        ': backend "s3": ',
        ("a second backend", "the first is in bad/ses.hcl"),
    ),
    Bad(
        "backend_gcs",
        ses(account(), 'backend "gcs" {\n  bucket = "state"\n}'),
        "ses.hcl",
        ': backend "gcs": ',
        ('"local" or "s3"',),
    ),
    Bad(
        "s3_backend_without_bucket",
        ses(account(), 'backend "s3" {\n  region = "eu-central-1"\n}'),
        "ses.hcl",
        ': backend "s3".bucket: ',
        ("is required",),
    ),
    Bad(
        "tag_key_starting_with_aws",
        {"ses.hcl": ENV_LINE + 'tags = { "aws:owner" = "me" }\n' + account()},
        "ses.hcl",
        ": tags.aws:owner: ",
        ("may not start with aws:",),
    ),
    Bad(
        "tag_key_starting_with_aws_in_the_second_file",
        {"a.hcl": ENV_LINE + account(), "b.hcl": 'tags = { "aws:owner" = "me" }\n'},
        "b.hcl",
        ": tags.aws:owner: ",
        ("may not start with aws:",),
    ),
    Bad(
        "domain_tag_key_starting_with_aws",
        ses(account(), domain('tags = { "aws:cost" = "x" }')),
        "ses.hcl",
        f": {DOM}.tags.aws:cost: ",
        ("may not start with aws:",),
    ),
    Bad(
        "non_utf8_file",
        {"ses.hcl": (ENV_LINE + account()).encode() + b"# caf\xe9 \xff\n"},
        "ses.hcl",
        f":{(ENV_LINE + account()).count(chr(10)) + 1}: not UTF-8 text",
        ("invalid", "save it as UTF-8"),
    ),
    Bad(
        "attribute_set_twice_in_one_block",
        ses(account(region=region(body="max_send_rate = 100\nmax_24_hour_send = 5\nmax_send_rate = 10"))),
        "ses.hcl",
        f": {REG}.max_send_rate: ",
        ("set twice",),
    ),
    Bad(
        "environment_set_twice_in_one_file",
        {"ses.hcl": ENV_LINE + 'environment = "prod"\n' + account()},
        "ses.hcl",
        ": environment: ",
        ("set twice in one block (lines 1 and 2)",),
    ),
    Bad(
        "regions_listed_twice",
        ses(account(), domain('regions = ["eu-central-1", "eu-central-1"]')),
        "ses.hcl",
        f": {DOM}.regions: ",
        ("the same value twice",),
    ),
    Bad(
        "empty_regions_list",
        ses(account(), domain("regions = []")),
        "ses.hcl",
        f": {DOM}.regions: ",
        ("at least one region",),
    ),
    Bad(
        "account_without_region",
        ses(account(region="")),
        "ses.hcl",
        f": {ACC}.region: ",
        ("at least one region",),
    ),
    Bad(
        "no_account_at_all",
        ses(),
        "ses.hcl",
        ": account: ",
        ("at least one account block is required",),
    ),
    Bad(
        "account_block_without_label",
        ses('account {\n  id = "111111111111"\n}'),
        "ses.hcl",
        ": account: ",
        ('expected one label: account "<alias>"',),
    ),
]


@pytest.mark.parametrize("case", BAD_CASES, ids=[c.id for c in BAD_CASES])
def test_bad_input_is_rejected_naming_file_key_path_and_expectation(tmp_path: Path, case: Bad) -> None:
    problems = problems_of(tmp_path, case.files)
    prefix = f"{BAD}/{case.file}{case.where}"
    matching = [p for p in problems if p.startswith(prefix)]
    assert matching, f"no problem starts with {prefix!r}: {problems}"
    for text in case.expected:
        assert text in matching[0], f"{text!r} missing from {matching[0]!r}"
    assert len(problems) == case.count, problems
    for text in case.extra:
        assert any(text in p for p in problems), problems


def test_dmarc_pct_above_100_is_rejected_with_file_and_key_path(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, ses(account(), domain("dmarc {\n  pct = 150\n}")))
    assert problems == [
        f'{BAD}/ses.hcl: domain "news.example.at".dmarc.pct: expected a whole number from 0 to 100, got 150'
    ]


def test_empty_env_folder_is_rejected_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / BAD).mkdir()
    with pytest.raises(ConfigError) as caught:
        load_env(tmp_path / BAD, display_root=tmp_path)
    assert caught.value.problems == [f"{BAD}: no *.hcl files in the environment"]


def test_missing_env_folder_is_rejected_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_env(tmp_path / "nowhere", display_root=tmp_path)
    assert caught.value.problems == ["nowhere: no such environment directory"]


def test_problems_in_independent_blocks_are_all_reported_at_once(tmp_path: Path) -> None:
    files = {
        "accounts.hcl": ENV_LINE
        + account(ident='id = "123"')
        + account(alias="shop", ident='id = "222222222222"', region=region("eu-centrl-1")),
        "domains.hcl": domain("dmarc {\n  pct = 150\n}", owner='account = "shop"')
        + domain(name="Shop.example.com", owner='account = "shop"'),
    }
    problems = problems_of(tmp_path, files)
    assert [p.split(": ")[0:2] for p in problems] == [
        [f"{BAD}/accounts.hcl", f"{ACC}.id"],
        [f"{BAD}/accounts.hcl", 'account "shop".region "eu-centrl-1"'],
        [f"{BAD}/domains.hcl", f"{DOM}.dmarc.pct"],
        [f"{BAD}/domains.hcl", 'domain "Shop.example.com"'],
    ]


def test_syntax_errors_in_two_files_are_both_reported(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, {"a.hcl": ENV_LINE + "account {", "b.hcl": "domain = = 1\n"})
    assert [p.split(":")[0] for p in problems] == [f"{BAD}/a.hcl", f"{BAD}/b.hcl"]


def test_invalid_account_does_not_also_report_its_domains_as_using_an_unknown_account(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, ses(account(ident='id = "123"'), domain()))
    assert problems == [f'{BAD}/ses.hcl: {ACC}.id: expected a 12-digit AWS account id, got "123"']


def test_config_error_message_lists_each_problem_on_its_own_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_tmp(tmp_path, {"a.hcl": "x = = 1\n", "b.hcl": "y = = 2\n"})
    assert str(caught.value).splitlines() == caught.value.problems


# --------------------------------------------------------------------------------------------
# The command line: exit code 2 and the problem on stderr, never a traceback
# --------------------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return subprocess.run(
        [sys.executable, "-m", "modules.platform", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_validate_on_a_bad_env_exits_2_with_the_problem_on_stderr(tmp_path: Path) -> None:
    write_env(tmp_path, ses(account(), domain("dmarc {\n  pct = 150\n}")))
    result = run_cli("validate", "--env", BAD, "--envs-dir", str(tmp_path))
    assert result.returncode == 2, result.stderr
    assert f"{BAD}/ses.hcl: {DOM}.dmarc.pct: expected a whole number from 0 to 100, got 150" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cli_synth_on_a_bad_env_exits_2_without_traceback_or_output(tmp_path: Path) -> None:
    write_env(tmp_path, ses(account(ident='id = "11111111111"'), domain()))
    out = tmp_path / "out"
    result = run_cli("synth", "--env", BAD, "--envs-dir", str(tmp_path), "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert f"{BAD}/ses.hcl: {ACC}.id: expected a 12-digit AWS account id" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists()


def test_cli_validate_on_a_good_env_exits_0_and_counts_stacks_and_domains() -> None:
    result = run_cli("validate", "--env", "multi-region")
    assert result.returncode == 0, result.stderr
    assert "multi-region: valid (3 stack(s), 4 domain(s))" in result.stdout


# --------------------------------------------------------------------------------------------
# Capacity slices
# --------------------------------------------------------------------------------------------

SLC = 'slice "at-de"'
TWO_REGIONS = REGION + region("eu-west-1")


def slice_block(
    body: str = "",
    *,
    name: str = "at-de",
    owner: str = 'account = "media"',
    where: str = 'region = "eu-central-1"',
    rate: str = "rate_per_second = 60",
    domains: str = 'from_domains = ["news.example.at"]',
) -> str:
    return f'slice "{name}" {{\n  {owner}\n  {where}\n  {rate}\n  {domains}\n{body}\n}}\n'


def test_example_env_has_one_slice_with_the_documented_defaults(example: EnvConfig) -> None:
    (item,) = example.slices
    assert (item.name, item.account, item.region, item.rate_per_second) == (
        "at-de",
        "media",
        "eu-central-1",
        60.0,
    )
    assert item.from_domains == ("news.example.at",)
    assert item.source == "envs/example/ses.hcl"
    assert (item.configuration_set, item.max_receive_count, item.sender_max_concurrency, item.batch_size) == (
        "transactional",
        5,
        5,
        10,
    )
    assert (item.log_retention_days, item.dlq_alarm_threshold, item.oldest_message_alarm_seconds) == (
        365,
        1,
        300,
    )
    assert example.stacks()[0].slices == (item,)


def test_multi_region_stacks_get_the_slices_of_their_account_region(multi: EnvConfig) -> None:
    assert {t.name: [s.name for s in t.slices] for t in multi.stacks()} == {
        "multi-region-media-eu-central-1": ["at-news"],
        "multi-region-media-eu-west-1": ["at-news-west"],
        "multi-region-shop-us-east-1": ["shop-orders", "shop-partner"],
    }


def test_slice_settings_are_read(multi: EnvConfig) -> None:
    orders = next(s for s in multi.slices if s.name == "shop-orders")
    assert (orders.configuration_set, orders.max_receive_count, orders.sender_max_concurrency) == (
        "transactional",
        3,
        10,
    )
    assert orders.log_retention_days == 731
    partner = next(s for s in multi.slices if s.name == "shop-partner")
    assert (partner.batch_size, partner.dlq_alarm_threshold) == (5, 10)
    assert partner.from_domains == ("partner.example.net", "orders.shop.example.com")


def test_slices_may_ask_for_exactly_the_quota(tmp_path: Path) -> None:
    env = load_tmp(
        tmp_path,
        ses(account(), domain(), slice_block(name="aa", rate="rate_per_second = 40"), slice_block(name="bb")),
    )
    assert [(s.name, s.rate_per_second) for s in env.slices] == [("aa", 40.0), ("bb", 60.0)]


def test_slices_of_each_region_are_summed_separately(tmp_path: Path) -> None:
    env = load_tmp(
        tmp_path,
        ses(
            account(region=TWO_REGIONS),
            domain(),
            slice_block(name="central", rate="rate_per_second = 100"),
            slice_block(name="west", where='region = "eu-west-1"', rate="rate_per_second = 100"),
        ),
    )
    assert [(t.region.name, [s.name for s in t.slices]) for t in env.stacks()] == [
        ("eu-central-1", ["central"]),
        ("eu-west-1", ["west"]),
    ]


def test_slices_asking_for_more_than_the_quota_name_account_region_sum_and_quota(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path,
        ses(account(), domain(), slice_block(name="at-news", rate="rate_per_second = 70"), slice_block()),
    )
    assert problems == [
        f'{BAD}/ses.hcl: {SLC}.rate_per_second: slices of account "media" in eu-central-1 ask for '
        "130 recipients/s, quota max_send_rate is 100 (at-news 70 + at-de 60)"
    ]


def test_slices_over_quota_across_files_are_reported_on_the_last_one(tmp_path: Path) -> None:
    files = {
        "a.hcl": ENV_LINE + account() + domain() + slice_block(name="first", rate="rate_per_second = 99.5"),
        "b.hcl": slice_block(name="second", rate="rate_per_second = 0.75"),
    }
    (problem,) = problems_of(tmp_path, files)
    assert problem.startswith(f'{BAD}/b.hcl: slice "second".rate_per_second: ')
    assert "ask for 100.25 recipients/s, quota max_send_rate is 100 (first 99.5 + second 0.75)" in problem


def test_slice_name_too_long_for_the_sender_name_is_rejected(tmp_path: Path) -> None:
    env_name = "e" * 32
    write_env(tmp_path, {"ses.hcl": f'environment = "{env_name}"\n' + account() + domain()}, name=env_name)
    (tmp_path / env_name / "s.hcl").write_text(slice_block(name="s" * 32))
    with pytest.raises(ConfigError) as caught:
        load_env(tmp_path / env_name, display_root=tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith(f'{env_name}/s.hcl: slice "{"s" * 32}": ')
    assert "(72 characters, AWS allows 64)" in problem


def test_slice_of_a_broken_account_is_not_reported_again(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, ses(account(ident='id = "123"'), domain(), slice_block()))
    assert problems == [f'{BAD}/ses.hcl: {ACC}.id: expected a 12-digit AWS account id, got "123"']


def test_from_domain_whose_block_is_broken_is_not_reported_again(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, ses(account(), domain("dmarc {\n  pct = 150\n}"), slice_block()))
    assert problems == [f"{BAD}/ses.hcl: {DOM}.dmarc.pct: expected a whole number from 0 to 100, got 150"]


def test_slice_problems_are_reported_with_the_other_problems(tmp_path: Path) -> None:
    files = ses(
        account(),
        domain("dmarc {\n  pct = 150\n}", name="shop.example.com"),
        domain(),
        slice_block("batch_size = 0"),
        slice_block(name="bb", owner='account = "nobody"'),
    )
    assert [p.split(": ")[1] for p in problems_of(tmp_path, files)] == [
        'domain "shop.example.com".dmarc.pct',
        f"{SLC}.batch_size",
        'slice "bb".account',
    ]


SLICE_BAD_CASES = [
    Bad(
        "slice_of_unknown_account",
        ses(account(), domain(), slice_block(owner='account = "shop"')),
        "ses.hcl",
        f": {SLC}.account: ",
        ('no account "shop"', "accounts: media"),
    ),
    Bad(
        "slice_region_not_declared_in_its_account",
        ses(account(), domain(), slice_block(where='region = "eu-west-1"')),
        "ses.hcl",
        f": {SLC}.region: ",
        ('account "media" has no region "eu-west-1"', "declared: eu-central-1"),
    ),
    Bad(
        "slice_over_the_quota",
        ses(account(), domain(), slice_block(rate="rate_per_second = 100.5")),
        "ses.hcl",
        f": {SLC}.rate_per_second: ",
        ('slices of account "media" in eu-central-1 ask for 100.5 recipients/s', "max_send_rate is 100"),
    ),
    Bad(
        "from_domain_not_declared",
        ses(
            account(), domain(), slice_block(domains='from_domains = ["news.example.at", "shop.example.com"]')
        ),
        "ses.hcl",
        f": {SLC}.from_domains[1]: ",
        (
            '"shop.example.com" is not a domain of account "media" in eu-central-1',
            "domains there: news.example.at",
        ),
    ),
    Bad(
        "from_domain_of_another_account",
        ses(
            account(),
            account(alias="shop", ident='id = "222222222222"'),
            domain(owner='account = "shop"'),
            slice_block(),
        ),
        "ses.hcl",
        f": {SLC}.from_domains[0]: ",
        ('"news.example.at" is not a domain of account "media" in eu-central-1', "domains there: none"),
    ),
    Bad(
        "from_domain_not_in_the_slice_region",
        ses(
            account(region=TWO_REGIONS),
            domain('regions = ["eu-central-1"]'),
            slice_block(where='region = "eu-west-1"'),
        ),
        "ses.hcl",
        f": {SLC}.from_domains[0]: ",
        ('"news.example.at" is not a domain of account "media" in eu-west-1',),
    ),
    Bad(
        "duplicate_slice_across_files",
        {
            "a.hcl": ENV_LINE + account() + domain() + slice_block(),
            "b.hcl": slice_block(rate="rate_per_second = 1"),
        },
        "b.hcl",
        f": {SLC}: ",
        (f"declared twice (first in {BAD}/a.hcl)",),
    ),
    Bad(
        "slice_name_not_lower_case",
        ses(account(), domain(), slice_block(name="AT_de")),
        "ses.hcl",
        ': slice "AT_de": ',
        ("slice name must be lower-case letters, digits and hyphens",),
    ),
    Bad(
        "slice_rate_zero",
        ses(account(), domain(), slice_block(rate="rate_per_second = 0")),
        "ses.hcl",
        f": {SLC}.rate_per_second: ",
        ("expected a number > 0, got 0",),
    ),
    Bad(
        "slice_without_rate",
        ses(account(), domain(), slice_block(rate="")),
        "ses.hcl",
        f": {SLC}.rate_per_second: ",
        ("is required",),
    ),
    Bad(
        "slice_without_from_domains",
        ses(account(), domain(), slice_block(domains="from_domains = []")),
        "ses.hcl",
        f": {SLC}.from_domains: ",
        ("at least one domain",),
    ),
    Bad(
        "slice_from_domain_not_a_domain_name",
        ses(account(), domain(), slice_block(domains='from_domains = ["News.Example.at"]')),
        "ses.hcl",
        f": {SLC}.from_domains[0]: ",
        ("not a valid domain name",),
    ),
    Bad(
        "slice_batch_size_above_ten",
        ses(account(), domain(), slice_block("batch_size = 11")),
        "ses.hcl",
        f": {SLC}.batch_size: ",
        ("expected a whole number from 1 to 10, got 11",),
    ),
    Bad(
        "slice_max_concurrency_below_two",
        ses(account(), domain(), slice_block("sender_max_concurrency = 1")),
        "ses.hcl",
        f": {SLC}.sender_max_concurrency: ",
        ("expected a whole number from 2 to 1000, got 1",),
    ),
    Bad(
        "slice_max_receive_count_above_1000",
        ses(account(), domain(), slice_block("max_receive_count = 1001")),
        "ses.hcl",
        f": {SLC}.max_receive_count: ",
        ("expected a whole number from 1 to 1000, got 1001",),
    ),
    Bad(
        "slice_log_retention_cloudwatch_does_not_accept",
        ses(account(), domain(), slice_block("log_retention_days = 366")),
        "ses.hcl",
        f": {SLC}.log_retention_days: ",
        ("CloudWatch accepts only 1, 3, 5", "got 366"),
    ),
    Bad(
        "slice_configuration_set_not_a_name",
        ses(account(), domain(), slice_block('configuration_set = "bad set"')),
        "ses.hcl",
        f": {SLC}.configuration_set: ",
        ('expected a configuration set name, got "bad set"',),
    ),
    Bad(
        "slice_unknown_key_suggests_batch_size",
        ses(account(), domain(), slice_block("batch_sze = 5")),
        "ses.hcl",
        f": {SLC}.batch_sze: ",
        ('did you mean "batch_size"',),
    ),
]


@pytest.mark.parametrize("case", SLICE_BAD_CASES, ids=[c.id for c in SLICE_BAD_CASES])
def test_bad_slice_is_rejected_naming_file_key_path_and_expectation(tmp_path: Path, case: Bad) -> None:
    test_bad_input_is_rejected_naming_file_key_path_and_expectation(tmp_path, case)


def test_loaded_slices_are_frozen(multi: EnvConfig) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        multi.slices[0].rate_per_second = 1000  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# heartbeat { ... } inside an account's region block
# --------------------------------------------------------------------------------------------

HEARTBEAT_KEY = 'account "media".region "eu-central-1".heartbeat'


def heartbeat_region(body: str) -> str:
    return region(body=f"max_send_rate = 100\nmax_24_hour_send = 500000\nheartbeat {{\n{body}\n}}")


def test_the_heartbeat_block_opts_a_region_in_with_its_headroom(multi: EnvConfig) -> None:
    settings = {s.name: (s.region.heartbeat.enabled, s.region.heartbeat.headroom) for s in multi.stacks()}
    assert settings == {
        "multi-region-media-eu-central-1": (True, 0.95),
        "multi-region-media-eu-west-1": (True, 1.0),  # heartbeat {}: on, the whole quota
        "multi-region-shop-us-east-1": (True, 0.95),
    }


def test_a_region_without_a_heartbeat_block_has_no_heartbeat(example: EnvConfig) -> None:
    (quota,) = example.accounts[0].regions
    assert (quota.heartbeat.enabled, quota.heartbeat.headroom) == (False, 1.0)


def test_heartbeat_block_settings_are_read(tmp_path: Path) -> None:
    env = load_tmp(tmp_path, ses(account(region=heartbeat_region("enabled = false\nheadroom = 0.8"))))
    (stack,) = env.stacks()
    assert (stack.region.heartbeat.enabled, stack.region.heartbeat.headroom) == (False, 0.8)


def test_heartbeat_headroom_of_exactly_one_and_an_empty_block_are_accepted(tmp_path: Path) -> None:
    env = load_tmp(tmp_path, ses(account(region=heartbeat_region("headroom = 1"))))
    assert env.accounts[0].regions[0].heartbeat.headroom == 1.0
    (tmp_path / "empty").mkdir()
    env = load_tmp(tmp_path / "empty", ses(account(region=heartbeat_region(""))))
    assert env.accounts[0].regions[0].heartbeat.enabled is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("headroom = 0", f"{HEARTBEAT_KEY}.headroom: expected a number > 0, got 0"),
        ("headroom = -0.5", f"{HEARTBEAT_KEY}.headroom: expected a number > 0"),
        ("headroom = 1.2", f"{HEARTBEAT_KEY}.headroom: expected a share of the quota, 0 < headroom ≤ 1"),
        ('headroom = "95%"', f'{HEARTBEAT_KEY}.headroom: expected a number, got the string "95%"'),
        ('enabled = "yes"', f"{HEARTBEAT_KEY}.enabled: expected true or false"),
        ("headrom = 0.9", f'{HEARTBEAT_KEY}.headrom: unknown key; did you mean "headroom"?'),
    ],
)
def test_bad_heartbeat_block_is_rejected_naming_file_and_key_path(
    tmp_path: Path, body: str, expected: str
) -> None:
    (problem,) = problems_of(tmp_path, ses(account(region=heartbeat_region(body))))
    assert problem.startswith(f"{BAD}/ses.hcl: {expected}"), problem


def test_heartbeat_given_twice_in_one_region_is_rejected(tmp_path: Path) -> None:
    twice = region(body="max_send_rate = 100\nmax_24_hour_send = 500000\nheartbeat {\n}\nheartbeat {\n}")
    (problem,) = problems_of(tmp_path, ses(account(region=twice)))
    assert f"{HEARTBEAT_KEY}: may appear once" in problem


def test_heartbeat_as_an_attribute_is_rejected(tmp_path: Path) -> None:
    attribute = region(body="max_send_rate = 100\nmax_24_hour_send = 500000\nheartbeat = true")
    (problem,) = problems_of(tmp_path, ses(account(region=attribute)))
    assert f"{HEARTBEAT_KEY}: expected a block" in problem

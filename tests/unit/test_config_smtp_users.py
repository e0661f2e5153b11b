"""``smtp_user`` blocks: the shipped envs load them, and bad input names file, key path and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.config import ConfigError, EnvConfig, load_env

REPO = Path(__file__).resolve().parents[2]
HEAD = """
environment = "bad"
account "media" {
  id = "111111111111"
  region "eu-central-1" {
    max_send_rate    = 100
    max_24_hour_send = 500000
  }
  region "eu-west-1" {
    max_send_rate    = 10
    max_24_hour_send = 5000
  }
}
domain "news.example.at" {
  account        = "media"
  regions        = ["eu-central-1"]
  hosted_zone_id = "Z0123456789ABCDEFGHIJ"
}
"""


def user(body: str = "", *, name: str = "crm") -> str:
    return f'smtp_user "{name}" {{\n  account = "media"\n  region = "eu-central-1"\n{body}\n}}\n'


IDENTITIES = 'identities = ["news.example.at"]'


def load(tmp_path: Path, *blocks: str) -> EnvConfig:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "ses.hcl").write_text(HEAD + "\n".join(blocks), encoding="utf-8")
    return load_env(folder, display_root=tmp_path)


def problems(tmp_path: Path, *blocks: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, *blocks)
    return caught.value.problems


def test_example_env_has_the_legacy_crm_user_with_defaults() -> None:
    env = load_env(REPO / "envs" / "example", display_root=REPO)
    (crm,) = env.smtp_users
    assert (crm.name, crm.account, crm.region, crm.identities) == (
        "legacy-crm", "media", "eu-central-1", ("news.example.at",),
    )  # fmt: skip
    assert (crm.rotation_days, crm.previous_key_grace_hours, crm.readers, crm.test_smtp_login) == (
        30,
        24,
        (),
        True,
    )
    assert env.stacks()[0].smtp_users == (crm,)


def test_multi_region_env_user_keeps_every_setting() -> None:
    env = load_env(REPO / "envs" / "multi-region", display_root=REPO)
    (erp,) = env.smtp_users
    assert erp.from_addresses == ("orders@orders.shop.example.com", "no-reply@orders.shop.example.com")
    assert (erp.rotation_days, erp.previous_key_grace_hours, erp.configuration_set) == (
        60,
        48,
        "transactional",
    )
    assert (erp.replica_regions, erp.readers) == (
        ("us-west-2",),
        ("arn:aws:iam::222222222222:role/shop-erp",),
    )
    shop = next(s for s in env.stacks() if s.name == "multi-region-shop-us-east-1")
    assert shop.smtp_users == (erp,)


def test_user_is_only_in_its_own_account_regions_stack(tmp_path: Path) -> None:
    env = load(tmp_path, user(IDENTITIES))
    assert [len(s.smtp_users) for s in env.stacks()] == [1, 0]


BAD = [
    ("", 'smtp_user "crm".identities: expected at least one domain this user sends as'),
    (
        'identities = ["shop.example.com"]',
        'smtp_user "crm".identities[0]: "shop.example.com" is not a domain of account "media" in '
        "eu-central-1 (domains there: news.example.at)",
    ),
    (
        f"{IDENTITIES}\nrotation_days = 120",
        'smtp_user "crm".rotation_days: expected a whole number from 1 to 90, got 120',
    ),
    (
        f"{IDENTITIES}\nrotation_days = 1\nprevious_key_grace_hours = 24",
        'smtp_user "crm".previous_key_grace_hours: must end before the next rotation '
        "(1 days = 24 hours), got 24",
    ),
    (
        f'{IDENTITIES}\nfrom_addresses = ["crm@shop.example.com"]',
        'smtp_user "crm".from_addresses[0]: expected an address (wildcards allowed, "*@news.example.at") on '
        'one of the identities, got "crm@shop.example.com"',
    ),
    (
        f'{IDENTITIES}\nreaders = ["legacy-crm"]',
        'smtp_user "crm".readers[0]: expected an IAM role, user or account root ARN',
    ),
    (
        f'{IDENTITIES}\nreplica_regions = ["eu-central-1"]',
        'smtp_user "crm".replica_regions[0]: eu-central-1 is the secret\'s own region',
    ),
    (
        f'{IDENTITIES}\nreplica_regions = ["mars-1"]',
        'smtp_user "crm".replica_regions[0]: "mars-1" is not an AWS region',
    ),
    (
        f"{IDENTITIES}\nrotaton_days = 30",
        'smtp_user "crm".rotaton_days: unknown key; did you mean "rotation_days"?',
    ),
    (
        f'{IDENTITIES}\nconfiguration_set = "a b"',
        'smtp_user "crm".configuration_set: expected a configuration set name',
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_smtp_user_is_rejected_naming_file_key_path_and_problem(
    tmp_path: Path, body: str, message: str
) -> None:
    (problem,) = problems(tmp_path, user(body))
    assert problem.startswith(f"bad/ses.hcl: {message}")


def test_unknown_account_and_region_are_named(tmp_path: Path) -> None:
    block = f'smtp_user "crm" {{\n  account = "media"\n  region = "us-east-1"\n  {IDENTITIES}\n}}\n'
    (problem,) = problems(tmp_path, block)
    assert problem == (
        'bad/ses.hcl: smtp_user "crm".region: account "media" has no region "us-east-1" '
        "(declared: eu-central-1, eu-west-1)"
    )


def test_a_user_declared_twice_is_rejected(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, user(IDENTITIES), user(IDENTITIES))
    assert problem.startswith('bad/ses.hcl: smtp_user "crm": declared twice')

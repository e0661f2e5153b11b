"""``dedicated_ip_pool`` blocks: the example loads typed, and every bad schedule or reference is
rejected naming the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.config import EnvConfig
from modules.config.model import DEFAULT_BLOCKLIST_ZONES
from tests.unit.test_config import account, domain, example, load_tmp, problems_of, ses  # noqa: F401

SLICE = """slice "at-de" {
  account         = "media"
  region          = "eu-central-1"
  rate_per_second = 10
  from_domains    = ["news.example.at"]
  configuration_set = "shared"
}
"""
SETS = """configuration_set "shared" {
  account = "media"
  region  = "eu-central-1"
}
configuration_set "at-dedicated" {
  account           = "media"
  region            = "eu-central-1"
  dedicated_ip_pool = "at-pool"
}
"""
WARMUP = """  warmup {
    start       = "2026-12-01"
    weekly_caps = [2000, 5000, 10000]
    full_volume = 10000
  }
"""


def pool(body: str = WARMUP, *, head: str = 'slices = ["at-de"]') -> str:
    where = 'account = "media"\n  region = "eu-central-1"'
    return f'dedicated_ip_pool "at-pool" {{\n  {where}\n  {head}\n{body}}}\n'


def problem(tmp_path: Path, *blocks: str, sets: str = SETS, slice_: str = SLICE) -> str:
    (only,) = problems_of(tmp_path, ses(account(), domain(), slice_, sets, *blocks))
    return only


def env_with(tmp_path: Path, *blocks: str) -> EnvConfig:
    return load_tmp(tmp_path, ses(account(), domain(), SLICE, SETS, *blocks))


def test_example_pool_is_standard_with_a_weekly_schedule_for_slice_at_de(example) -> None:  # noqa: F811
    (item,) = example.dedicated_ip_pools
    assert (item.name, item.scaling_mode, item.slices, item.configuration_set) == (
        "at-pool", "STANDARD", ("at-de",), "at-dedicated",
    )  # fmt: skip
    assert item.warmup is not None
    assert (item.warmup.period_days, item.warmup.caps[0], item.warmup.full_volume) == (7, 2000, 20000)
    assert example.stacks()[0].dedicated_ip_pools == (item,)


def test_a_pool_without_zones_gets_the_default_blocklists(tmp_path: Path) -> None:
    env = env_with(tmp_path, pool())
    assert env.dedicated_ip_pools[0].blocklist_zones == DEFAULT_BLOCKLIST_ZONES


def test_daily_caps_are_kept_per_day(tmp_path: Path) -> None:
    body = WARMUP.replace("weekly_caps = [2000, 5000, 10000]", "daily_caps = [50, 100, 10000]")
    warmup = env_with(tmp_path, pool(body)).dedicated_ip_pools[0].warmup
    assert warmup is not None
    assert (warmup.caps, warmup.period_days, warmup.full_daily_volume) == ((50, 100, 10000), 1, 10000)


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        (("[2000, 5000, 10000]", "[2000, 0, 10000]"), "warmup.weekly_caps[1]", "≥ 1, got 0"),
        (("[2000, 5000, 10000]", "[5000, 2000, 10000]"), "warmup.weekly_caps[1]", "may not decrease"),
        (("[2000, 5000, 10000]", "[2000, 5000]"), "warmup.weekly_caps[1]", "below full_volume 10000"),
        (("[2000, 5000, 10000]", '[2000, "many"]'), "warmup.weekly_caps[1]", "expected a whole number"),
        (("2026-12-01", "2026-02-30"), "warmup.start", "is not a calendar date"),
        (("2026-12-01", "1 Dec"), "warmup.start", "a date YYYY-MM-DD"),
        (("    full_volume = 10000\n", ""), "warmup.full_volume", "is required"),
        (("weekly_caps", "daily_caps = [1]\n    weekly_caps"), "warmup", "both are set"),
        (("weekly_caps", "wekly_caps"), "warmup", "neither is set"),
    ],
)
def test_a_bad_schedule_names_the_key(tmp_path: Path, change: tuple[str, str], key: str, words: str) -> None:
    message = problem(tmp_path, pool(WARMUP.replace(*change)))
    assert message.startswith(f'bad/ses.hcl: dedicated_ip_pool "at-pool".{key}: ')
    assert words in message


def test_a_managed_pool_takes_no_schedule(tmp_path: Path) -> None:
    head = 'scaling_mode = "MANAGED"\n  slices = ["at-de"]'
    assert "only STANDARD pools take a schedule" in problem(tmp_path, pool(head=head))


def test_a_schedule_needs_the_slices_it_moves(tmp_path: Path) -> None:
    assert 'dedicated_ip_pool "at-pool".warmup: a schedule moves the mail of slices' in problem(
        tmp_path, pool(head="")
    )


def test_the_pools_configuration_set_is_the_one_set_naming_the_pool(tmp_path: Path) -> None:
    assert env_with(tmp_path, pool()).dedicated_ip_pools[0].configuration_set == "at-dedicated"


def test_slices_without_a_set_sending_through_the_pool_are_rejected(tmp_path: Path) -> None:
    message = problem(tmp_path, pool(), sets=SETS.replace('  dedicated_ip_pool = "at-pool"\n', ""))
    assert message.startswith(
        'bad/ses.hcl: dedicated_ip_pool "at-pool".configuration_set: no configuration set '
    )
    assert 'add dedicated_ip_pool = "at-pool" to a configuration_set block' in message


def test_a_named_set_that_sends_elsewhere_is_rejected(tmp_path: Path) -> None:
    message = problem(tmp_path, pool(head='configuration_set = "shared"\n  slices = ["at-de"]'))
    assert message == (
        'bad/ses.hcl: dedicated_ip_pool "at-pool".configuration_set: configuration_set "shared" sends '
        'through the shared pool; set dedicated_ip_pool = "at-pool" in it'
    )


def test_a_set_naming_a_pool_of_no_block_in_its_account_region_is_rejected(tmp_path: Path) -> None:
    message = problem(tmp_path, sets=SETS.replace('"at-pool"', '"other-pool"'))
    assert message == (
        'bad/ses.hcl: configuration_set "at-dedicated".dedicated_ip_pool: no dedicated_ip_pool "other-pool" '
        'in account "media" eu-central-1 (pools there: none); a set sends only through a pool of its own '
        "account-region"
    )


def test_a_slices_own_set_must_send_through_the_shared_pool(tmp_path: Path) -> None:
    other = 'dedicated_ip_pool "other" {\n  account = "media"\n  region = "eu-central-1"\n}\n'
    other += 'configuration_set "other-set" {\n  account = "media"\n  region = "eu-central-1"\n'
    other += '  dedicated_ip_pool = "other"\n}\n'
    message = problem(tmp_path, pool(), other, slice_=SLICE.replace('"shared"', '"other-set"'))
    assert message.startswith(
        'bad/ses.hcl: slice "at-de".configuration_set: "other-set" sends through pool "other"'
    )


def test_an_unknown_slice_is_named_with_the_slices_there(tmp_path: Path) -> None:
    message = problem(tmp_path, pool(head='slices = ["at-fr"]'))
    assert message == (
        'bad/ses.hcl: dedicated_ip_pool "at-pool".slices[0]: no slice "at-fr" in account "media" '
        "eu-central-1 (slices there: at-de)"
    )


def test_a_slice_may_move_to_one_pool_only(tmp_path: Path) -> None:
    second = pool(head='configuration_set = "at-dedicated"\n  slices = ["at-de"]').replace(
        '"at-pool"', '"at-pool-2"', 1
    )
    sets = SETS + 'configuration_set "two" {\n  account = "media"\n  region = "eu-central-1"\n'
    sets += '  dedicated_ip_pool = "at-pool-2"\n}\n'
    message = problem(tmp_path, pool(), second.replace('"at-dedicated"', '"two"'), sets=sets)
    assert 'slice "at-de" already moves to pool "at-pool"' in message


def test_the_shared_set_of_a_slice_must_not_be_the_pools_set(tmp_path: Path) -> None:
    slice_ = SLICE.replace('"shared"', '"at-dedicated"')
    assert "a slice's configuration_set is its shared-pool set" in problem(tmp_path, pool(), slice_=slice_)


def test_full_volume_above_the_daily_quota_is_rejected(tmp_path: Path) -> None:
    body = WARMUP.replace("[2000, 5000, 10000]", "[2000, 5000, 7000000]").replace("10000\n", "7000000\n")
    assert "warmup.full_volume: 1000000 recipients a day exceeds" in problem(tmp_path, pool(body))


def test_a_pool_in_an_undeclared_region_is_named(tmp_path: Path) -> None:
    text = pool(body="", head="").replace("eu-central-1", "us-east-1")
    assert problem(tmp_path, text, sets=SETS.replace('  dedicated_ip_pool = "at-pool"\n', "")).startswith(
        'bad/ses.hcl: dedicated_ip_pool "at-pool".region: account "media"'
    )


def test_a_pool_declared_twice_is_named_with_the_first_file(tmp_path: Path) -> None:
    files = ses(account(), domain(), SLICE, SETS, pool())
    files["pools.hcl"] = pool()
    (message,) = problems_of(tmp_path, files)
    assert (
        message == 'bad/ses.hcl: dedicated_ip_pool "at-pool": declared twice (first in bad/pools.hcl)'
    )  # sorted files


def test_a_bad_blocklist_zone_is_named(tmp_path: Path) -> None:
    body = WARMUP + '  blocklist_zones = ["bl.spamcop.net", "not a zone"]\n'
    assert 'dedicated_ip_pool "at-pool".blocklist_zones[1]: expected a DNS zone' in problem(
        tmp_path, pool(body)
    )

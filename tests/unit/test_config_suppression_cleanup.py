"""``suppression_cleanup``: defaults, which stacks get it, and bad input naming file, key path and
problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.config import ConfigError, EnvConfig, load_env

HEAD = """
environment = "bad"
account "media" {
  id = "111111111111"
  region "eu-central-1" {
    max_send_rate    = 100
    max_24_hour_send = 500000
  }
  region "eu-south-1" {
    max_send_rate    = 10
    max_24_hour_send = 5000
  }
}
account "shop" {
  id = "222222222222"
  region "eu-west-1" {
    max_send_rate    = 10
    max_24_hour_send = 5000
  }
}
"""


def load(tmp_path: Path, body: str) -> EnvConfig:
    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)
    (folder / "ses.hcl").write_text(HEAD + f"suppression_cleanup {{\n{body}\n}}\n", encoding="utf-8")
    return load_env(folder, display_root=tmp_path)


def problem(tmp_path: Path, body: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, body)
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


def test_an_empty_block_reports_weekly_in_every_stack_and_deletes_nothing(tmp_path: Path) -> None:
    env = load(tmp_path, "")
    cleanup = env.suppression_cleanup
    assert cleanup is not None
    assert (cleanup.schedule, cleanup.timezone, cleanup.delete) == ("cron(0 5 ? * MON *)", "UTC", False)
    assert all(stack.suppression_cleanup == cleanup for stack in env.stacks())


def test_without_the_block_no_stack_gets_a_cleanup(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "ses.hcl").write_text(HEAD, encoding="utf-8")
    env = load_env(folder, display_root=tmp_path)
    assert env.suppression_cleanup is None
    assert all(stack.suppression_cleanup is None for stack in env.stacks())


def test_accounts_and_regions_limit_the_stacks_that_get_it(tmp_path: Path) -> None:
    env = load(tmp_path, 'accounts = ["media"]\nregions = ["eu-south-1"]')
    chosen = [s.name for s in env.stacks() if s.suppression_cleanup is not None]
    assert chosen == ["bad-media-eu-south-1"]


def test_the_filters_reach_the_lambda_as_the_cli_names_them(tmp_path: Path) -> None:
    cleanup = load(
        tmp_path,
        'recipient_domains = ["privaterelay.appleid.com"]\nreasons = ["BOUNCE"]\n'
        'older_than_days = 2\nnewer_than_days = 30\npattern = "^[a-z0-9]+@"',
    ).suppression_cleanup
    assert cleanup is not None
    assert cleanup.filters() == {
        "domains": ["privaterelay.appleid.com"],
        "reasons": ["BOUNCE"],
        "pattern": "^[a-z0-9]+@",
        "older_than_days": 2,
        "newer_than_days": 30,
    }


def test_a_bad_regex_is_named_with_its_key_path(tmp_path: Path) -> None:
    message = problem(tmp_path, 'pattern = "user(["')
    assert message.startswith("bad/ses.hcl: suppression_cleanup.pattern: not a regular expression")


def test_an_unknown_reason_is_named_with_its_index(tmp_path: Path) -> None:
    message = problem(tmp_path, 'reasons = ["BOUNCE", "SPAM"]')
    assert message == 'bad/ses.hcl: suppression_cleanup.reasons[1]: expected BOUNCE or COMPLAINT, got "SPAM"'


def test_an_upper_case_or_bare_domain_is_refused(tmp_path: Path) -> None:
    message = problem(tmp_path, 'recipient_domains = ["PrivateRelay.AppleID.com"]')
    assert message.startswith("bad/ses.hcl: suppression_cleanup.recipient_domains[0]: expected a lower-case")


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("weekly", "expected cron("),
        ("rate(5 minutes)", "at most one run an hour"),
        ("rate(1 hours)", "singular unit for 1"),
        ("cron(0 5 * * MON *)", "must be ?"),
        ("cron(*/5 * ? * * *)", "at most one run an hour"),
        ("cron(0 5 ? * MON)", "six cron fields"),
        ("at(2026-03-01T05:00:00)", "runs once"),
    ],
)
def test_a_bad_schedule_expression_says_what_is_wrong(tmp_path: Path, schedule: str, says: str) -> None:
    message = problem(tmp_path, f'schedule = "{schedule}"')
    assert message.startswith("bad/ses.hcl: suppression_cleanup.schedule: ")
    assert says in message


@pytest.mark.parametrize("schedule", ["rate(1 hour)", "rate(7 days)", "cron(30 4 1 * ? *)"])
def test_hourly_or_rarer_schedules_are_accepted(tmp_path: Path, schedule: str) -> None:
    cleanup = load(tmp_path, f'schedule = "{schedule}"').suppression_cleanup
    assert cleanup is not None
    assert cleanup.schedule == schedule


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    message = problem(tmp_path, 'timezone = "Europe/Vienne"')
    assert message.startswith("bad/ses.hcl: suppression_cleanup.timezone: expected an IANA time zone")


def test_a_date_range_that_selects_nothing_is_refused(tmp_path: Path) -> None:
    message = problem(tmp_path, "older_than_days = 30\nnewer_than_days = 7")
    assert message.startswith("bad/ses.hcl: suppression_cleanup.newer_than_days: must be more than")


def test_deleting_without_a_narrowing_filter_is_refused(tmp_path: Path) -> None:
    message = problem(tmp_path, 'reasons = ["BOUNCE"]\ndelete = true')
    assert message.startswith("bad/ses.hcl: suppression_cleanup.delete: true without recipient_domains")


def test_an_unknown_account_is_named(tmp_path: Path) -> None:
    message = problem(tmp_path, 'accounts = ["media", "news"]')
    assert (
        message == 'bad/ses.hcl: suppression_cleanup.accounts[1]: no account "news" (accounts: media, shop)'
    )


def test_a_region_outside_the_chosen_accounts_is_named(tmp_path: Path) -> None:
    message = problem(tmp_path, 'accounts = ["shop"]\nregions = ["eu-central-1"]')
    assert message.startswith(
        'bad/ses.hcl: suppression_cleanup.regions[0]: "eu-central-1" is not a region of the chosen accounts'
    )


def test_an_unknown_key_gets_a_did_you_mean(tmp_path: Path) -> None:
    message = problem(tmp_path, "older_then_days = 30")
    assert 'suppression_cleanup.older_then_days: unknown key; did you mean "older_than_days"?' in message


def test_two_suppression_cleanup_blocks_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.hcl").write_text(HEAD + "suppression_cleanup {}\n", encoding="utf-8")
    (folder / "b.hcl").write_text("suppression_cleanup {}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_env(folder, display_root=tmp_path)
    assert caught.value.problems == [
        "bad/b.hcl: suppression_cleanup: already set in bad/a.hcl; one per environment"
    ]


def test_multi_region_reports_apple_relay_bounces_in_every_stack() -> None:
    repo = Path(__file__).resolve().parents[2]
    env = load_env(repo / "envs" / "multi-region", display_root=repo)
    chosen = {s.name: s.suppression_cleanup for s in env.stacks() if s.suppression_cleanup is not None}
    assert list(chosen) == [s.name for s in env.stacks()]
    cleanup = chosen["multi-region-shop-us-east-1"]
    assert (cleanup.accounts, cleanup.regions) == (None, None)  # no filter: every account-region
    assert (cleanup.recipient_domains, cleanup.reasons, cleanup.delete) == (
        ("privaterelay.appleid.com",),
        ("BOUNCE",),
        False,
    )

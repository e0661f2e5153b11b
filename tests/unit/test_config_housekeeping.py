"""``bounce_report`` and a slice's ``archive`` block: defaults, and bad input naming file, key path
and problem."""

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
  region "eu-south-1" {
    max_send_rate    = 10
    max_24_hour_send = 5000
  }
}
domain "news.example.at" {
  account        = "media"
  hosted_zone_id = "Z0123456789ABCDEFGHIJ"
}
domain "archive.example.at" {
  account        = "media"
  regions        = ["eu-central-1"]
  hosted_zone_id = "Z0123456789ABCDEFGHIJ"
}
configuration_set "transactional" {
  account = "media"
  region  = "eu-central-1"
}
"""


def slice_block(name: str = "at-de", region: str = "eu-central-1", archive: str = "") -> str:
    return (
        f'slice "{name}" {{\n  account = "media"\n  region = "{region}"\n  rate_per_second = 5\n'
        f'  from_domains = ["news.example.at"]\n{archive}\n}}\n'
    )


def load(tmp_path: Path, *blocks: str) -> EnvConfig:
    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)
    (folder / "ses.hcl").write_text(HEAD + "\n".join(blocks), encoding="utf-8")
    return load_env(folder, display_root=tmp_path)


def problems(tmp_path: Path, *blocks: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, *blocks)
    return caught.value.problems


def test_the_example_env_has_a_weekly_bounce_report_mailed_from_news() -> None:
    env = load_env(REPO / "envs" / "example", display_root=REPO)
    report = env.bounce_report
    assert report is not None
    assert (report.schedule, report.timezone, report.retention_days, report.period_days) == (
        "cron(0 6 ? * MON *)",
        "Europe/Vienna",
        400,
        7,
    )
    assert report.mail_from == "reports@news.example.at"
    assert all(stack.bounce_report == report for stack in env.stacks())


def test_bounce_report_defaults_when_the_block_is_empty(tmp_path: Path) -> None:
    report = load(tmp_path, "bounce_report {}").bounce_report
    assert report is not None
    assert (report.schedule, report.timezone, report.retention_days, report.mail_to) == (
        "cron(0 6 ? * MON *)",
        "UTC",
        400,
        (),
    )


def test_a_bad_schedule_is_named_with_its_key_path(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, 'bounce_report {\n schedule = "weekly"\n}')
    assert problem.startswith("bad/ses.hcl: bounce_report.schedule: expected cron(...) or rate(...)")


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("cron(bogus)", "six cron fields"),
        ("cron(0 6 * * MON *)", "must be ?"),
        ("rate(1 days)", "singular unit for 1"),
        ("rate(0 hours)", "singular unit for 1"),
        ("at(2026-03-01T06:00:00)", "runs once"),
    ],
)
def test_a_bounce_report_schedule_is_checked_as_the_cleanups_is(
    tmp_path: Path, schedule: str, says: str
) -> None:
    (problem,) = problems(tmp_path, f'bounce_report {{\n schedule = "{schedule}"\n}}')
    assert problem.startswith("bad/ses.hcl: bounce_report.schedule: ")
    assert says in problem
    assert f'got "{schedule}"' in problem


@pytest.mark.parametrize(
    "schedule", ["rate(15 minutes)", "rate(1 day)", "cron(0 6 ? * MON *)", "cron(0/30 * ? * * *)"]
)
def test_a_bounce_report_may_run_more_often_than_the_cleanup(tmp_path: Path, schedule: str) -> None:
    report = load(tmp_path, f'bounce_report {{\n schedule = "{schedule}"\n}}').bounce_report
    assert report is not None
    assert report.schedule == schedule


def test_a_bounce_report_time_zone_is_checked_as_the_cleanups_is(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, 'bounce_report {\n timezone = "Europe/Vienne"\n}')
    assert problem == (
        "bad/ses.hcl: bounce_report.timezone: expected an IANA time zone such as Europe/Vienna, "
        'got "Europe/Vienne"'
    )


def test_mail_without_recipients_is_refused(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, 'bounce_report {\n mail {\n from = "r@news.example.at"\n }\n}')
    assert (
        problem == "bad/ses.hcl: bounce_report.mail.to: expected at least one address to send the summary to"
    )


def test_the_mail_domain_must_be_an_identity_where_a_report_is_built(tmp_path: Path) -> None:
    block = 'bounce_report {\n mail {\n from = "r@elsewhere.example"\n to = ["a@example.at"]\n }\n}'
    (problem,) = problems(tmp_path, block)
    assert problem.startswith(
        'bad/ses.hcl: bounce_report.mail.from: "elsewhere.example" is not a domain of account "media" '
        "in eu-central-1"
    )


def test_two_bounce_report_blocks_are_refused(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "bounce_report {}", "bounce_report {}")
    assert problem == "bad/ses.hcl: bounce_report: may appear once, found 2 blocks"


def test_a_slice_archive_reads_its_address_and_defaults(tmp_path: Path) -> None:
    env = load(tmp_path, slice_block(archive='archive {\n address = "archive@archive.example.at"\n}'))
    archive = env.slices[0].archive
    assert archive is not None
    assert (archive.address, archive.activate_receipt_rule_set, archive.retention_days) == (
        "archive@archive.example.at",
        False,
        2557,
    )


def test_an_archive_in_a_region_where_ses_does_not_receive_is_refused(tmp_path: Path) -> None:
    block = slice_block(region="eu-south-1", archive='archive {\n address = "archive@archive.example.at"\n}')
    (problem,) = problems(tmp_path, block)
    assert problem.startswith('bad/ses.hcl: slice "at-de".archive: SES does not receive mail in eu-south-1')


def test_an_archive_domain_that_is_not_an_identity_there_is_refused(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, slice_block(archive='archive {\n address = "copy@mail.example.org"\n}'))
    assert problem.startswith(
        'bad/ses.hcl: slice "at-de".archive.address: "mail.example.org" is not a domain of account "media"'
    )


def test_slices_of_one_account_region_must_agree_on_activation(tmp_path: Path) -> None:
    one = slice_block(
        "one", archive='archive {\n address = "a@archive.example.at"\n activate_receipt_rule_set = true\n}'
    )
    two = slice_block("two", archive='archive {\n address = "b@archive.example.at"\n}')
    (problem,) = problems(tmp_path, one, two)
    assert problem.startswith(
        'bad/ses.hcl: slice "two".archive.activate_receipt_rule_set: differs from slice "one"'
    )


def test_an_unknown_archive_key_is_refused(tmp_path: Path) -> None:
    (problem,) = problems(
        tmp_path, slice_block(archive='archive {\n address = "a@archive.example.at"\n bucket = "x"\n}')
    )
    assert problem.startswith('bad/ses.hcl: slice "at-de".archive.bucket')

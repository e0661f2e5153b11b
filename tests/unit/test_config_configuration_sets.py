"""``configuration_set`` blocks: read with their defaults, resolved per account-region, and the
names domains and slices use resolved against them; bad input names file, key path and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from modules.config import ConfigError, EnvConfig, load_env
from modules.configuration_set.props import EVENT_TYPES, ReputationAlarms

REPO = Path(__file__).resolve().parents[2]
BAD = "bad"
REGION = '  region "{name}" {{\n    max_send_rate = 100\n    max_24_hour_send = 500000\n  }}\n'
ACCOUNT = (
    'environment = "bad"\naccount "media" {\n  id = "111111111111"\n'
    + REGION.format(name="eu-central-1")
    + REGION.format(name="eu-west-1")
    + "}\n"
)
DOMAIN = (
    'domain "news.example.at" {{\n  account = "media"\n  hosted_zone_id = "Z0123456789ABCDEFGHIJ"\n{body}}}\n'
)
SLICE = (
    'slice "at-de" {{\n  account = "media"\n  region = "eu-central-1"\n  rate_per_second = 10\n'
    '  from_domains = ["news.example.at"]\n{body}}}\n'
)
CS = 'configuration_set "transactional"'


def cset(body: str = "", *, name: str = "transactional", region: str = "eu-central-1") -> str:
    return f'configuration_set "{name}" {{\n  account = "media"\n  region = "{region}"\n{body}\n}}\n'


def load(tmp_path: Path, *blocks: str) -> EnvConfig:
    folder = tmp_path / BAD
    folder.mkdir()
    (folder / "ses.hcl").write_text(ACCOUNT + "\n".join(blocks), encoding="utf-8")
    return load_env(folder, display_root=tmp_path)


def problems(tmp_path: Path, *blocks: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, *blocks)
    return caught.value.problems


def test_example_env_declares_one_set_that_its_slice_names() -> None:
    env = load_env(REPO / "envs" / "example", display_root=REPO)
    # (the example's second set, "at-dedicated", sends through its dedicated IP pool)
    item = next(c for c in env.configuration_sets if c.name == "transactional")
    assert (item.name, item.account, item.region, item.external) == (
        "transactional",
        "media",
        "eu-central-1",
        False,
    )
    assert env.slices[0].configuration_set == "transactional"
    assert item in env.stacks()[0].configuration_sets


def test_a_set_without_settings_gets_the_secure_defaults(tmp_path: Path) -> None:
    (item,) = load(tmp_path, cset()).configuration_sets
    assert (item.tls_policy, item.reputation_metrics, item.suppressed_reasons) == (
        "REQUIRE",
        True,
        ("BOUNCE", "COMPLAINT"),
    )
    (destination,) = item.destinations
    assert (destination.type, destination.event_types) == ("sns", EVENT_TYPES)
    assert item.alarms == ReputationAlarms()
    assert (item.custom_redirect_domain, item.max_delivery_seconds, item.dedicated_ip_pool) == (
        None,
        None,
        None,
    )
    assert (item.engagement_metrics, item.optimized_shared_delivery) == (None, None)


def test_set_settings_event_destinations_and_alarm_levels_are_read(tmp_path: Path) -> None:
    body = """
  tls_policy             = "OPTIONAL"
  custom_redirect_domain = "track.news.example.at"
  max_delivery_seconds   = 3600
  dedicated_ip_pool      = "at-pool"
  engagement_metrics     = false
  suppressed_reasons     = ["COMPLAINT"]
  event_destination "bus" {
    type        = "event_bridge"
    event_types = ["BOUNCE"]
  }
  event_destination "metrics" {
    type       = "cloud_watch"
    dimensions = { slice = "none" }
  }
  reputation_alarms {
    bounce_warning_percent = 1
    complaint_critical_percent = 0.07
    breaker = false
  }
"""
    # A set may only name a pool declared in its account-region (modules/config/dedicated_ip_pools.py).
    pool = 'dedicated_ip_pool "at-pool" {\n  account = "media"\n  region = "eu-central-1"\n}\n'
    (item,) = load(tmp_path, cset(body), pool).configuration_sets
    assert (item.tls_policy, item.custom_redirect_domain, item.max_delivery_seconds) == (
        "OPTIONAL",
        "track.news.example.at",
        3600,
    )
    assert (item.dedicated_ip_pool, item.engagement_metrics, item.suppressed_reasons) == (
        "at-pool",
        False,
        ("COMPLAINT",),
    )
    bus, metrics = item.destinations
    assert (bus.name, bus.type, bus.event_types) == ("bus", "event_bridge", ("BOUNCE",))
    assert [(d.name, d.default_value) for d in metrics.dimensions] == [("slice", "none")]
    assert item.alarms == ReputationAlarms(
        bounce_warning_percent=1, complaint_critical_percent=0.07, breaker=False
    )


def test_one_name_may_be_declared_once_per_account_region(tmp_path: Path) -> None:
    env = load(tmp_path, cset(), cset(region="eu-west-1"))
    assert [t.configuration_sets[0].region for t in env.stacks()] == ["eu-central-1", "eu-west-1"]


def test_domain_and_slice_names_resolve_to_declared_sets(tmp_path: Path) -> None:
    env = load(
        tmp_path,
        cset(),
        cset(region="eu-west-1"),
        DOMAIN.format(body='  configuration_set = "transactional"\n'),
        SLICE.format(body='  configuration_set = "transactional"\n'),
    )
    assert env.domains[0].configuration_set == env.slices[0].configuration_set == "transactional"


def test_an_external_set_resolves_names_and_creates_nothing(tmp_path: Path) -> None:
    env = load(
        tmp_path,
        cset("external = true"),
        DOMAIN.format(body=""),
        SLICE.format(body='  configuration_set = "transactional"\n'),
    )
    assert env.configuration_sets[0].external is True


@pytest.mark.parametrize(
    ("blocks", "where", "expected"),
    [
        (
            (DOMAIN.format(body=""), SLICE.format(body='  configuration_set = "transactional"\n')),
            'slice "at-de".configuration_set',
            'no configuration set "transactional" in account "media" eu-central-1 (declared there: none;',
        ),
        (
            (cset(), DOMAIN.format(body='  configuration_set = "transactional"\n')),
            'domain "news.example.at".configuration_set',
            'no configuration set "transactional" in account "media" eu-west-1',
        ),
        ((cset(), cset('tls_policy = "OPTIONAL"')), CS, 'declared twice for account "media" in eu-central-1'),
        ((cset(region="us-east-1"),), f"{CS}.region", 'account "media" has no region "us-east-1"'),
        ((cset('tls_policy = "NONE"'),), f"{CS}.tls_policy", 'expected one of REQUIRE, OPTIONAL, got "NONE"'),
        ((cset("max_delivery_seconds = 60"),), f"{CS}.max_delivery_seconds", "from 300 to 50400, got 60"),
        ((cset('suppressed_reasons = ["SPAM"]'),), f"{CS}.suppressed_reasons[0]", 'got "SPAM"'),
        ((cset('custom_redirect_domain = "Track"'),), f"{CS}.custom_redirect_domain", "not a valid domain"),
        ((cset('external = true\ntls_policy = "REQUIRE"'),), f"{CS}.tls_policy", "unknown key"),
        (
            (cset('event_destination "x" {\n type = "sqs"\n}'),),
            f'{CS}.event_destination "x".type',
            "expected one of sns, event_bridge, cloud_watch, firehose",
        ),
        (
            (cset('event_destination "x" {\n type = "cloud_watch"\n}'),),
            f'{CS}.event_destination "x"',
            "dimensions are required by a cloud_watch destination",
        ),
        (
            (cset('event_destination "x" {\n event_types = ["BOUNCED"]\n}'),),
            f'{CS}.event_destination "x".event_types[0]',
            'got "BOUNCED"',
        ),
        (
            (cset("reputation_alarms {\n bounce_critical_percent = 6\n}"),),
            f"{CS}.reputation_alarms.bounce_critical_percent",
            "below SES's review threshold 5 %",
        ),
        (
            (cset("reputation_alarms {\n bounce_warnings_percent = 1\n}"),),
            f"{CS}.reputation_alarms.bounce_warnings_percent",
            'did you mean "bounce_warning_percent"',
        ),
        (
            ('configuration_set "bad set" {\n account = "media"\n region = "eu-central-1"\n}',),
            'configuration_set "bad set"',
            "1-64 letters",
        ),
    ],
)
def test_bad_configuration_set_input_names_file_key_path_and_problem(
    tmp_path: Path, blocks: tuple[str, ...], where: str, expected: str
) -> None:
    (problem,) = problems(tmp_path, *blocks)
    assert problem.startswith(f"{BAD}/ses.hcl: {where}: "), problem
    assert expected in problem, problem


def test_a_broken_set_is_not_reported_again_where_it_is_used(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        cset('tls_policy = "NONE"'),
        DOMAIN.format(body=""),
        SLICE.format(body='  configuration_set = "transactional"\n'),
    )
    assert len(found) == 1
    assert f"{CS}.tls_policy" in found[0]

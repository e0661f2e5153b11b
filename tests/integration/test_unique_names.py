"""Every stack of an env applies side by side: no name AWS keeps unique per account, per
account-region or globally is claimed twice, within an env or across the envs in envs/ (which
may share accounts); synth refuses a repeat (exit 2, nothing left to apply)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modules.config import load_env
from modules.platform.synthesis import synth_quietly
from modules.platform.tf_check import synth_envs

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (REPO_ROOT / "envs").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("envs")
    found = synth_envs(ENVS, envs_dir=REPO_ROOT / "envs", work=work, repo_root=REPO_ROOT)
    assert found is not None, "a name repeats within or across the envs in envs/ (printed above)"
    return found


def iam_roles(out: Path, stack: str) -> set[str]:
    document: dict[str, Any] = json.loads((out / "stacks" / stack / "cdk.tf.json").read_text())
    return {role["name"] for role in document["resource"]["aws_iam_role"].values()}


def test_the_envs_in_envs_pass_the_name_check_within_and_across_them(synthesized: dict[str, Path]) -> None:
    assert sorted(synthesized) == ENVS


def test_the_two_media_stacks_of_one_account_create_the_same_parts_under_names_of_their_own(
    synthesized: dict[str, Path],
) -> None:
    out = synthesized["multi-region"]
    central = iam_roles(out, "multi-region-media-eu-central-1")
    west = iam_roles(out, "multi-region-media-eu-west-1")
    assert central.isdisjoint(west)
    # the three, and every other part both regions run, each with its region
    parts = ("ses-event-logger", "ses-bounce-report", "ses-bounce-report-scheduler", "ses-heartbeat",
             "ses-heartbeat-states", "ses-warmup", "ses-blocklist", "ses-suppression-cleanup")  # fmt: skip
    for part in parts:
        assert f"multi-region-{part}-eu-central-1" in central
        assert f"multi-region-{part}-eu-west-1" in west
    assert all(len(name) <= 64 for name in central | west)


def test_synth_refuses_the_old_region_less_role_names_naming_both_stacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without the region (the names before this fix), multi-region's media stacks collide."""
    import modules.heartbeat.construct
    import modules.lambda_asset.construct
    import modules.shared.scheduled

    def without_region(name: str, *_: str, **__: int) -> str:
        return name

    for module in (
        modules.lambda_asset.construct,
        modules.shared.scheduled,
        modules.heartbeat.construct,
    ):
        monkeypatch.setattr(module, "with_region", without_region)
    env = load_env(REPO_ROOT / "envs" / "multi-region", display_root=REPO_ROOT)
    out = tmp_path / "out"
    assert synth_quietly(env, out) == 2
    err = capsys.readouterr().err
    assert (
        'envs/multi-region: IAM role "multi-region-ses-event-logger": claimed by '
        "multi-region-media-eu-central-1 (aws_iam_role.event_logger) and multi-region-media-eu-west-1 "
        "(aws_iam_role.event_logger) in account 333333333333; IAM role names are unique per account"
    ) in err
    assert 'IAM role "multi-region-ses-bounce-report-scheduler": claimed by' in err
    assert "nothing synthesized" in err
    assert not out.exists()  # nothing half-valid is left to apply


ENV = """environment = "{name}"
account "media" {{
  id = "444444444444"
  region "eu-west-1" {{
    max_send_rate    = 10
    max_24_hour_send = 1000
  }}
}}
domain "news.example.org" {{
  account        = "media"
  hosted_zone_id = "Z0SHAREDZONE"
}}
"""


def test_two_envs_in_one_account_may_not_claim_one_identity_or_dns_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("staging", "prod"):
        (tmp_path / "envs" / name).mkdir(parents=True)
        (tmp_path / "envs" / name / "ses.hcl").write_text(ENV.format(name=name))
    found = synth_envs(
        ["prod", "staging"], envs_dir=tmp_path / "envs", work=tmp_path / "work", repo_root=tmp_path
    )
    assert found is None
    err = capsys.readouterr().err
    assert (
        'envs/prod, envs/staging: SES identity "news.example.org": claimed by prod-media-eu-west-1 '
        "(aws_sesv2_email_identity.news_example_org) and staging-media-eu-west-1 "
        "(aws_sesv2_email_identity.news_example_org) in account 444444444444 eu-west-1"
    ) in err
    assert 'Route 53 record "_dmarc.news.example.org TXT"' in err
    assert "name problem(s) across the environments prod, staging" in err


def test_synth_checks_names_against_the_envs_beside_it_that_share_an_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    envs = tmp_path / "envs"
    for name, account in (("prod", "444444444444"), ("staging", "444444444444"), ("sandbox", "555555555555")):
        (envs / name).mkdir(parents=True)
        (envs / name / "ses.hcl").write_text(ENV.format(name=name).replace("444444444444", account))
    (envs / "broken").mkdir()
    (envs / "broken" / "ses.hcl").write_text('environment = "broken"\naccount "x" { id = "444444444444" }\n')
    prod = load_env(envs / "prod", display_root=tmp_path)
    assert synth_quietly(prod, tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert 'envs/prod, envs/staging: SES identity "news.example.org": claimed by prod-media-eu-west-1' in err
    assert "sandbox" not in err  # its own account: nothing to share
    assert "note: broken: shares an account but does not validate" in err
    assert not (tmp_path / "out").exists()

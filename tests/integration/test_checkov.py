"""checkov on every env's synth output, and proof that each CKV_SESPLAT policy loads and bites.

checkov runs from its own virtualenv (``CHECKOV_BIN``, default ``.venv-checkov/bin/checkov``)
through :mod:`modules.platform.scan`, which stages checkov-readable copies of the stacks. Each
checkov run costs seconds, so there are four: one per env, one over a directory of small
broken stacks, each broken in exactly one way, asserted stack by stack, and one with a copy of
the policies made to crash (checkov drops a crashed check's results: that must not pass).

checkov's ``summary.resource_count`` is always 0 for ``--framework terraform_json`` (3.3.30's
runner never records resources), so "something was scanned" is asserted per resource instead:
every SES identity, MAIL FROM and DMARC record of a stack must carry results from our checks.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from modules.platform import scan
from modules.platform.scan import Finding, ScanResult, StackResult

pytestmark = pytest.mark.slow  # minutes on a 2-core machine: make test-fast leaves it out

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (REPO_ROOT / "envs").iterdir() if p.is_dir())
CHECKOV_BIN = os.environ.get("CHECKOV_BIN", str(REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
ALL_CUSTOM = {f"CKV_SESPLAT_{n}" for n in range(1, 9)}
# Checks the example envs must exercise (7 needs BYODKIM, 4 an access key: the fixtures cover them).
EXERCISED_BY_ENVS = {f"CKV_SESPLAT_{n}" for n in (1, 2, 3, 5, 6, 8)}


@pytest.fixture(scope="session")
def checkov_bin() -> str:
    if not Path(CHECKOV_BIN).is_file():
        pytest.fail(
            f"checkov not found at {CHECKOV_BIN}: it lives in its own virtualenv; run `make test` "
            "(builds .venv-checkov) or set CHECKOV_BIN"
        )
    return CHECKOV_BIN


@pytest.fixture(scope="session")
def synthesized(synthesized_env: Callable[[str], Any]) -> dict[str, Path]:
    """Every env as ``make synth`` writes it, from the session's one synth per env (read only)."""
    return {env: synthesized_env(env).out for env in ENVS}


@pytest.fixture(scope="session")
def env_scans(synthesized: dict[str, Path], checkov_bin: str) -> dict[str, ScanResult]:
    return {env: scan.scan(checkov_bin, out) for env, out in synthesized.items()}


def results(stack: StackResult) -> Iterator[tuple[str, Finding]]:
    for outcome in ("passed", "failed", "skipped"):
        for finding in getattr(stack, outcome):
            yield outcome, finding


def outcomes(stack: StackResult, resource: str) -> dict[str, str]:
    """check id → passed/failed/skipped for one resource address."""
    return {f.check_id: outcome for outcome, f in results(stack) if f.resource == resource}


def resources_of(document: dict[str, Any], resource_type: str) -> list[str]:
    return [f"{resource_type}.{name}" for name in document.get("resource", {}).get(resource_type, {})]


# --- every env ---------------------------------------------------------------------------------


@pytest.mark.checkov
@pytest.mark.parametrize("env", ENVS)
def test_env_passes_checkov(env: str, env_scans: dict[str, ScanResult], synthesized: dict[str, Path]) -> None:
    result = env_scans[env]
    stack_files = sorted(synthesized[env].glob("stacks/*/cdk.tf.json"))
    assert [s.file for s in result.stacks] == stack_files
    assert result.problems() == []
    assert result.exit_code() == 0
    for stack in result.stacks:
        assert stack.failed == [], [f"{f.check_id} {f.resource}" for f in stack.failed]
        assert len(stack.passed) > 0
        # Every resource our policies cover got a result from each policy that applies to it.
        document = json.loads(stack.file.read_text())
        for identity in resources_of(document, "aws_sesv2_email_identity"):
            got = outcomes(stack, identity)
            expected = {"CKV_SESPLAT_1", "CKV_SESPLAT_2", "CKV_SESPLAT_3", "CKV_SESPLAT_6"}
            assert {k: v for k, v in got.items() if k in expected} == dict.fromkeys(expected, "passed")
        for mail_from in resources_of(document, "aws_sesv2_email_identity_mail_from_attributes"):
            assert outcomes(stack, mail_from).get("CKV_SESPLAT_8") == "passed"
        for record in resources_of(document, "aws_route53_record"):
            if document["resource"]["aws_route53_record"][record.split(".")[1]]["name"].startswith("_dmarc."):
                assert outcomes(stack, record) == {"CKV_SESPLAT_5": "passed"}
    passed_ids = {f.check_id for stack in result.stacks for f in stack.passed}
    assert passed_ids >= EXERCISED_BY_ENVS, "custom policies did not load"


@pytest.mark.checkov
def test_no_built_in_check_fails_and_some_ran(env_scans: dict[str, ScanResult]) -> None:
    built_in = {f.check_id for r in env_scans.values() for s in r.stacks for f in s.passed}
    assert built_in - ALL_CUSTOM, "no built-in checkov check ran at all"


@pytest.mark.checkov
def test_every_smtp_secret_passes_the_cmk_and_rotation_checks(env_scans: dict[str, ScanResult]) -> None:
    secrets = 0
    for result in env_scans.values():
        for stack in result.stacks:
            document = json.loads(stack.file.read_text())
            for secret in resources_of(document, "aws_secretsmanager_secret"):
                secrets += 1
                got = outcomes(stack, secret)
                # CMK, rotation enabled, rotation within 90 days (the last is scanned on the rotation).
                assert (got.get("CKV_AWS_149"), got.get("CKV2_AWS_57")) == ("passed", "passed"), secret
            for rotation in resources_of(document, "aws_secretsmanager_secret_rotation"):
                assert outcomes(stack, rotation).get("CKV_AWS_304") == "passed", rotation
    assert secrets >= 2  # the example's and multi-region's SMTP users


# --- each policy fails where it should -----------------------------------------------------------

EASY = {"next_signing_key_length": "RSA_2048_BIT"}
SECRET = "${data.aws_secretsmanager_secret_version.dkim.secret_string}"
BYO = {"domain_signing_selector": "sel1", "domain_signing_private_key": SECRET}
SECRET_DATA = {"aws_secretsmanager_secret_version": {"dkim": {"secret_id": "ses/dkim"}}}


def stack_json(
    domain: str,
    *,
    dns: str = "route53",
    region: str = "eu-central-1",
    zone: str = "Z0FIXTURE",
    dkim: dict[str, str] | None = None,
    mail_from: bool = True,
    mx_region: str | None = None,
    mx: bool = True,
    dmarc: str | None = "v=DMARC1; p=reject; rua=mailto:dmarc@example.org; adkim=s; aspf=s",
    dmarc_zone: str | None = None,
    data: dict[str, Any] | None = None,
    extra_resources: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A cdktn-shaped stack with one domain identity, as the construct would write it."""
    dkim = EASY if dkim is None else dkim
    slug = re.sub(r"[^a-z0-9]+", "_", domain)
    identity: dict[str, Any] = {"email_identity": domain}
    if dkim:
        identity["dkim_signing_attributes"] = dkim
    resources: dict[str, Any] = {"aws_sesv2_email_identity": {slug: identity}}
    records: list[tuple[str, str, str, str]] = []
    if "next_signing_key_length" in dkim:
        for i in range(3):
            token = f"${{element(aws_sesv2_email_identity.{slug}.dkim_signing_attributes[0].tokens, {i})}}"
            records.append(
                (f"dkim{i}", f"{token}._domainkey.{domain}", "CNAME", f"{token}.dkim.amazonses.com")
            )
    if mail_from:
        resources["aws_sesv2_email_identity_mail_from_attributes"] = {
            slug: {
                "email_identity": f"${{aws_sesv2_email_identity.{slug}.email_identity}}",
                "mail_from_domain": f"bounce.{domain}",
                "behavior_on_mx_failure": "USE_DEFAULT_VALUE",
            }
        }
        if mx:
            mx_value = f"10 feedback-smtp.{mx_region or region}.amazonses.com"
            records.append(("mail_from_mx", f"bounce.{domain}", "MX", mx_value))
        records.append(("mail_from_spf", f"bounce.{domain}", "TXT", "v=spf1 include:amazonses.com ~all"))
    if dmarc is not None:
        records.append(("dmarc", f"_dmarc.{domain}", "TXT", dmarc))
    document: dict[str, Any] = {
        "provider": {"aws": [{"region": region}]},
        "resource": resources,
        "terraform": {
            "required_providers": {"aws": {"source": "hashicorp/aws", "version": "6.69.1"}},
            "required_version": ">= 1.10.0",  # what checkov cannot parse: scan.stage drops it
        },
    }
    if dns == "route53":
        resources["aws_route53_record"] = {
            f"{slug}_{purpose}": {
                "name": name,
                "type": record_type,
                "ttl": 600,
                "records": [value],
                "zone_id": dmarc_zone if purpose == "dmarc" and dmarc_zone else zone,
            }
            for purpose, name, record_type, value in records
        }
    else:
        document["output"] = {
            f"{slug}_dns_records": {"value": [{"name": n, "type": t, "value": v} for _, n, t, v in records]}
        }
    if data:
        document["data"] = data
    resources.update(extra_resources or {})
    return document


# stack name → (document, the CKV_SESPLAT ids that must fail in it - and no others)
FIXTURES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "good-route53": (stack_json("good.example.org"), set()),
    "good-external": (stack_json("ext-good.example.org", dns="external"), set()),
    "good-byodkim": (stack_json("byo.example.org", dkim=BYO, data=SECRET_DATA), set()),
    "no-dkim": (stack_json("nodkim.example.org", dkim={}), {"CKV_SESPLAT_1"}),
    "dkim-1024": (
        stack_json("weak.example.org", dkim={"next_signing_key_length": "RSA_1024_BIT"}),
        {"CKV_SESPLAT_6"},
    ),
    "byodkim-no-selector": (
        stack_json("byo-nosel.example.org", dkim={"domain_signing_private_key": SECRET}, data=SECRET_DATA),
        {"CKV_SESPLAT_1"},
    ),
    "byodkim-literal-key": (
        stack_json("byo-literal.example.org", dkim={**BYO, "domain_signing_private_key": "MIIEvQIBADANBg"}),
        {"CKV_SESPLAT_7"},
    ),
    "no-mail-from": (stack_json("nomailfrom.example.org", mail_from=False), {"CKV_SESPLAT_2"}),
    "no-mx": (stack_json("nomx.example.org", mx=False), {"CKV_SESPLAT_8"}),
    "mx-other-region": (stack_json("mxregion.example.org", mx_region="us-east-1"), {"CKV_SESPLAT_8"}),
    "no-dmarc": (stack_json("nodmarc.example.org", dmarc=None), {"CKV_SESPLAT_3"}),
    "dmarc-other-zone": (stack_json("dmarczone.example.org", dmarc_zone="Z0OTHERZONE"), {"CKV_SESPLAT_3"}),
    "dmarc-not-dmarc1": (
        stack_json("notdmarc.example.org", dmarc="v=spf1 -all"),
        {"CKV_SESPLAT_3", "CKV_SESPLAT_5"},
    ),
    "dmarc-bad-policy": (
        stack_json("badpolicy.example.org", dmarc="v=DMARC1; p=monitor; pct=150; rua=dmarc@example.org"),
        {"CKV_SESPLAT_5"},
    ),
    "external-no-dmarc": (
        stack_json("ext-nodmarc.example.org", dns="external", dmarc=None),
        {"CKV_SESPLAT_3"},
    ),
    "iam-access-key": (
        stack_json(
            "smtp.example.org", extra_resources={"aws_iam_access_key": {"smtp": {"user": "ses-smtp"}}}
        ),
        {"CKV_SESPLAT_4"},
    ),
}
# checkov cannot parse a resource that is not an object: the scan must not pass quietly.
UNPARSEABLE = {"resource": {"aws_s3_bucket": {"b": "not an object"}}}
# A non-home-region stack (its domain's DMARC lives in the home region's stack) scanned alone.
NON_HOME_STACK = "multi-region-media-eu-west-1"


@pytest.fixture(scope="module")
def broken_scan(
    tmp_path_factory: pytest.TempPathFactory, synthesized: dict[str, Path], checkov_bin: str
) -> ScanResult:
    out = tmp_path_factory.mktemp("broken")
    for name, (document, _) in [*FIXTURES.items(), ("unparseable", (UNPARSEABLE, set()))]:
        (out / "stacks" / name).mkdir(parents=True)
        (out / "stacks" / name / "cdk.tf.json").write_text(json.dumps(document, indent=2, sort_keys=True))
    shutil.copytree(synthesized["multi-region"] / "stacks" / NON_HOME_STACK, out / "stacks" / NON_HOME_STACK)
    return scan.scan(checkov_bin, out)


def stack_named(result: ScanResult, name: str) -> StackResult:
    return next(s for s in result.stacks if s.name == name)


@pytest.mark.checkov
@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_each_policy_fails_exactly_where_broken(name: str, broken_scan: ScanResult) -> None:
    stack = stack_named(broken_scan, name)
    _, must_fail = FIXTURES[name]
    failed = {f.check_id for f in stack.failed}
    assert failed == must_fail, [(f.check_id, f.resource, f.details) for f in stack.failed]
    assert stack.passed, "nothing passed: the stack was not really checked"
    assert not stack.unchecked_identities()


@pytest.mark.checkov
def test_every_custom_policy_both_passes_and_fails_somewhere(broken_scan: ScanResult) -> None:
    passed = {f.check_id for s in broken_scan.stacks for f in s.passed}
    failed = {f.check_id for s in broken_scan.stacks for f in s.failed}
    assert failed >= ALL_CUSTOM
    assert passed >= ALL_CUSTOM - {"CKV_SESPLAT_4"}  # 4 has nothing to pass: it only fails access keys


@pytest.mark.checkov
def test_failures_name_the_resource_file_and_reason(broken_scan: ScanResult) -> None:
    bad_policy = stack_named(broken_scan, "dmarc-bad-policy").failed
    assert [f.resource for f in bad_policy] == ["aws_route53_record.badpolicy_example_org_dmarc"]
    assert bad_policy[0].file.name == "cdk.tf.json"
    assert bad_policy[0].file.parent.name == "dmarc-bad-policy"
    assert any("p='monitor'" in d for d in bad_policy[0].details)
    assert any("pct='150'" in d for d in bad_policy[0].details)
    assert any("rua" in d for d in bad_policy[0].details)
    key = stack_named(broken_scan, "iam-access-key").failed
    assert [(f.check_id, f.resource) for f in key] == [("CKV_SESPLAT_4", "aws_iam_access_key.smtp")]
    lines = bad_policy[0].file.read_text().splitlines()
    assert '"badpolicy_example_org_dmarc": {' in lines[bad_policy[0].lines[0] - 1]  # original's lines


@pytest.mark.checkov
def test_non_home_region_stack_alone_fails_dmarc(broken_scan: ScanResult) -> None:
    stack = stack_named(broken_scan, NON_HOME_STACK)
    assert [(f.check_id, f.resource) for f in stack.failed] == [
        ("CKV_SESPLAT_3", "aws_sesv2_email_identity.news_example_at")
    ]


@pytest.mark.checkov
def test_unparseable_stack_makes_the_scan_untrustworthy(broken_scan: ScanResult) -> None:
    problems = broken_scan.problems()
    assert any("could not parse" in p and "unparseable" in p for p in problems), problems
    assert "unparseable: no check ran" in problems
    assert broken_scan.exit_code() == scan.EXIT_SCAN_UNTRUSTED
    out = io.StringIO()
    scan.report(broken_scan, out)
    text = out.getvalue()
    assert re.search(
        r"^FAILED CKV_SESPLAT_4  aws_iam_access_key\.smtp  .*iam-access-key/cdk\.tf\.json:\d+-\d+$",
        text,
        re.M,
    )
    assert "ERROR  unparseable: no check ran" in text
    assert text.rstrip().endswith(
        f"scan NOT TRUSTWORTHY: {len(broken_scan.stacks)} stack(s), {len(broken_scan.failed)} failure(s)"
    )
    trusted = ScanResult(stacks=[s for s in broken_scan.stacks if s.name != "unparseable"])
    assert trusted.problems() == []
    assert trusted.exit_code() == scan.EXIT_FAILED_CHECKS


@pytest.mark.checkov
def test_a_crashing_policy_makes_the_scan_untrustworthy(
    tmp_path: Path, synthesized: dict[str, Path], checkov_bin: str
) -> None:
    """checkov drops the result of a check that raises: "0 failed" must not pass then."""
    policies = tmp_path / "policies"
    shutil.copytree(scan.POLICIES_DIR, policies, ignore=shutil.ignore_patterns("__pycache__"))
    dkim = policies / "sesplat_dkim.py"
    source = dkim.read_text()
    crash = "        problem = dkim_problem(dkim_block(conf))\n"
    assert crash in source
    dkim.write_text(source.replace(crash, '        raise RuntimeError("policy bug")\n'))
    graph = policies / "sesplat_dns_graph.py"
    source = graph.read_text()
    crash = '        raw = fqdn(subject.get("email_identity"))\n'
    assert crash in source
    graph.write_text(source.replace(crash, '        raise RuntimeError("policy bug")\n'))

    result = scan.scan(checkov_bin, synthesized["example"], policies_dir=policies)

    problems = result.problems()
    assert any("Failed to run check CKV_SESPLAT_1" in p for p in problems), problems
    assert any("CKV_SESPLAT_3 crashed" in p for p in problems), problems
    assert {f.check_id for f in result.failed} == {"CKV_SESPLAT_3"}  # the graph check fails closed
    assert result.exit_code() == scan.EXIT_SCAN_UNTRUSTED


# --- scan.py without checkov ------------------------------------------------------------------


def test_scan_of_no_stacks_is_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan.run_checkov("/nonexistent/checkov", tmp_path) == scan.EXIT_SCAN_UNTRUSTED
    assert "no stacks" in capsys.readouterr().out


def test_missing_checkov_is_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks" / "s").mkdir(parents=True)
    (tmp_path / "stacks" / "s" / "cdk.tf.json").write_text(json.dumps(stack_json("x.example.org")))
    assert scan.run_checkov(str(tmp_path / "no-checkov"), tmp_path) == scan.EXIT_SCAN_UNTRUSTED
    assert "could not run checkov" in capsys.readouterr().out


def test_stack_that_is_not_json_is_not_a_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "stacks" / "s").mkdir(parents=True)
    (tmp_path / "stacks" / "s" / "cdk.tf.json").write_text("{not json")
    assert scan.run_checkov("/nonexistent/checkov", tmp_path) == scan.EXIT_SCAN_UNTRUSTED
    out = capsys.readouterr().out
    assert "cannot read a stack" in out
    assert "not valid JSON" in out


def test_staging_drops_only_terraform_scalars_and_keeps_lines(tmp_path: Path) -> None:
    document = stack_json("lines.example.org")
    original = tmp_path / "out" / "stacks" / "s" / "cdk.tf.json"
    original.parent.mkdir(parents=True)
    text = json.dumps(document, indent=2, sort_keys=True)
    original.write_text(text)
    staged = scan.stage([original], tmp_path / "staged")
    (copy,) = staged
    assert staged[copy] == original
    staged_doc = json.loads(copy.read_text())
    assert "required_version" not in staged_doc["terraform"]
    assert staged_doc["terraform"]["required_providers"] == document["terraform"]["required_providers"]
    assert {k: v for k, v in staged_doc.items() if k != "terraform"} == {
        k: v for k, v in document.items() if k != "terraform"
    }
    prefix = text[: text.index('"terraform"')]
    assert copy.read_text().startswith(prefix)
    addresses = scan.resource_addresses(copy.read_text())
    assert "aws_sesv2_email_identity.lines_example_org" in addresses.values()


# --- per-resource skips (checkov's terraform_json runner reads none itself) ----------------------


@pytest.mark.checkov
def test_env_skips_are_only_the_senders_and_heartbeats_documented_ones_each_with_its_reason(
    env_scans: dict[str, ScanResult],
) -> None:
    skipped = [f for result in env_scans.values() for stack in result.stacks for f in stack.skipped]
    assert skipped, "the senders' skips were not applied"
    for finding in skipped:
        if finding.resource.startswith("aws_iam_user.smtp_"):  # modules/smtp_user/README.md
            assert finding.check_id == "CKV_AWS_273"
            continue
        if finding.resource in {"aws_s3_bucket.bounce_reports", "aws_s3_bucket.archive"}:
            # modules/bounce_report/README.md, modules/shadow_archive/README.md
            assert finding.check_id in {"CKV_AWS_18", "CKV_AWS_144", "CKV2_AWS_62"}
            assert len(finding.details[0]) > 40
            continue
        assert finding.resource.startswith("aws_lambda_function.")
        if finding.resource == "aws_lambda_function.heartbeat":  # modules/heartbeat/README.md
            assert finding.check_id in {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272"}
        elif finding.resource in {  # modules/reputation/README.md, modules/event_pipeline/README.md
            "aws_lambda_function.reputation_breaker",
            "aws_lambda_function.event_logger",
        }:
            assert finding.check_id in {"CKV_AWS_117", "CKV_AWS_272"}
        elif finding.resource.endswith("_rotation"):  # an SMTP user's rotation Lambda
            assert finding.resource.startswith("aws_lambda_function.smtp_")
            assert finding.check_id in {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272"}
        elif finding.resource in {
            "aws_lambda_function.warmup",
            "aws_lambda_function.blocklist",
            "aws_lambda_function.bounce_report",
            "aws_lambda_function.suppression_cleanup",
        }:
            # scheduled Lambdas: modules/dedicated_ip_pool/README.md, modules/bounce_report/README.md,
            # modules/suppression_cleanup/README.md
            assert finding.check_id in {"CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_272"}
        else:
            assert finding.resource.endswith("_sender")
            assert finding.check_id in {"CKV_AWS_117", "CKV_AWS_272"}
        assert finding.details
        assert len(finding.details[0]) > 40


LAMBDA_WITH_SKIPS = {
    "aws_lambda_function": {
        "f": {
            "//": {
                "checkov": {
                    "skip": [
                        {"id": "CKV_AWS_117", "comment": "calls AWS APIs only"},
                        {"id": "CKV_AWS_272", "comment": " "},
                        {"id": "CKV_AWS_999", "comment": "a check that never reports here"},
                    ]
                },
                "metadata": {"path": "s/f", "uniqueId": "f"},
            },
            "function_name": "f",
        }
    }
}


def test_skips_are_read_from_each_resources_comment_block() -> None:
    document = stack_json("skips.example.org", extra_resources=LAMBDA_WITH_SKIPS)
    assert scan.resource_skips(document) == {
        ("aws_lambda_function.f", "CKV_AWS_117"): "calls AWS APIs only",
        ("aws_lambda_function.f", "CKV_AWS_272"): "",
        ("aws_lambda_function.f", "CKV_AWS_999"): "a check that never reports here",
    }


def test_skipped_results_move_to_skipped_and_bad_skips_are_problems(tmp_path: Path) -> None:
    original = tmp_path / "out" / "stacks" / "s" / "cdk.tf.json"
    original.parent.mkdir(parents=True)
    original.write_text(
        json.dumps(stack_json("skips.example.org", extra_resources=LAMBDA_WITH_SKIPS), indent=2)
    )
    staged = scan.stage([original], tmp_path / "staged")
    (copy,) = staged
    line = next(
        n for n, a in scan.resource_addresses(copy.read_text()).items() if a == "aws_lambda_function.f"
    )

    def record(check_id: str) -> dict[str, Any]:
        return {
            "check_id": check_id,
            "resource": "resource.f",
            "file_path": "/s/cdk.tf.json",
            "file_line_range": [line, line + 1],
        }

    report = {
        "check_type": "terraform_json",
        "results": {
            "passed_checks": [record("CKV_AWS_50")],
            "failed_checks": [record("CKV_AWS_117"), record("CKV_AWS_272")],
        },
    }
    result = scan.collect([report], staged, tmp_path / "staged")

    (stack,) = result.stacks
    assert [(f.check_id, f.details) for f in stack.skipped] == [("CKV_AWS_117", ("calls AWS APIs only",))]
    assert [f.check_id for f in stack.failed] == ["CKV_AWS_272"]  # a skip without a reason does not count
    assert [f.check_id for f in stack.passed] == ["CKV_AWS_50"]
    assert result.checkov_failures == 2
    assert result.errors == [
        "s: skip of CKV_AWS_272 on aws_lambda_function.f gives no reason (comment)",
        "s: skip of CKV_AWS_999 on aws_lambda_function.f matches no checkov result",
    ]
    assert result.exit_code() == scan.EXIT_SCAN_UNTRUSTED

"""checkov over every synthesized stack: built-in checks plus ours in ``modules/checkov_policies``.

checkov lives in its own virtualenv, so it runs here as a subprocess; this module uses the
standard library only. One checkov run covers all stacks under ``<out>/stacks``: the DMARC
check (CKV_SESPLAT_3) looks across stacks, because a domain in several regions publishes DMARC
once, from its home region's stack.

Two checkov 3.3.30 traps this module defends against, both of which end in "0 failed, exit 0":

* checkov's plain HCL ``terraform`` framework reads no ``.tf.json`` at all, so only the
  ``terraform_json`` framework is used.
* checkov's ``terraform_json`` parser rejects a file whose ``terraform`` block holds a plain
  value, and cdktn writes ``"required_version": ">= ..."`` when asked to. The file then counts as a
  parsing error and nothing in it is checked. So each stack is scanned as a staged copy without
  the ``terraform`` block's non-object settings (no check reads them); everything else is
  byte-identical and keeps its line numbers, and findings name the original file.

A third gap: checkov 3.3.30's ``terraform_json`` runner honours no inline skip at all (it hands
every check an empty skip list; neither ``checkov:skip=`` text nor a ``"//"`` entry is read:
bridgecrewio/checkov#4634). So a resource carries its skips in its ``"//"`` comment block, in the
form checkov reads from CloudFormation metadata and #4634 proposes for CDK for Terraform::

    "//": {"checkov": {"skip": [{"id": "CKV_AWS_117", "comment": "why this check does not apply"}]}}

and this module applies them to checkov's results: that check on that resource counts as
skipped, with its comment. A skip without a comment, or one that matches no result (misspelt id,
wrong resource, a check that no longer runs), makes the scan untrustworthy.

A scan passes only if checkov ran cleanly, parsed every stack, ran at least one check on every
stack and one of our checks on every SES identity, and nothing failed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

POLICIES_DIR = Path(__file__).resolve().parents[1] / "checkov_policies"
FRAMEWORK = "terraform_json"
CUSTOM_PREFIX = "CKV_SESPLAT_"
STACK_FILE = "cdk.tf.json"
TIMEOUT_SECONDS = 900

EXIT_OK = 0
EXIT_FAILED_CHECKS = 1
EXIT_SCAN_UNTRUSTED = 2  # no stacks, checkov broke, a file did not parse, or nothing was checked

# checkov logs these and carries on; a check that crashed or never loaded reports nothing.
_CHECKOV_ERRORS = re.compile(r"Failed to run check|Cannot load external check|crashed; failing every")
_JSON_KEY_LINE = re.compile(r'^( *)"((?:[^"\\]|\\.)*)": \{$')


@dataclass(frozen=True)
class Finding:
    """One check result on one resource."""

    check_id: str
    check_name: str
    resource: str
    file: Path
    lines: tuple[int, int]
    details: tuple[str, ...] = ()


@dataclass
class StackResult:
    name: str
    file: Path
    identities: tuple[str, ...] = ()
    passed: list[Finding] = field(default_factory=list)
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)

    def unchecked_identities(self) -> list[str]:
        """SES identities none of our checks reported on (policies not loaded, or a check broke)."""
        seen = {
            f.resource
            for f in self.passed + self.failed + self.skipped
            if f.check_id.startswith(CUSTOM_PREFIX)
        }
        return [identity for identity in self.identities if identity not in seen]


@dataclass
class ScanResult:
    stacks: list[StackResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checkov_version: str = "?"
    checkov_failures: int = 0  # failed results as checkov reported them, before our skips

    @property
    def failed(self) -> list[Finding]:
        return [finding for stack in self.stacks for finding in stack.failed]

    def problems(self) -> list[str]:
        """Reasons the scan cannot be trusted (beyond failed checks)."""
        problems = list(self.errors)
        if not self.stacks and not self.errors:
            problems.append(f"no stacks: nothing matches stacks/*/{STACK_FILE}")
        for stack in self.stacks:
            if not (stack.passed or stack.failed):
                problems.append(f"{stack.name}: no check ran")
            for identity in stack.unchecked_identities():
                problems.append(f"{stack.name}: no {CUSTOM_PREFIX}* check reported on {identity}")
        return problems

    def exit_code(self) -> int:
        if self.problems():
            return EXIT_SCAN_UNTRUSTED
        return EXIT_FAILED_CHECKS if self.failed else EXIT_OK


def checkov_compatible(document: Mapping[str, Any]) -> dict[str, Any]:
    """``document`` without the ``terraform`` block's non-object settings (``required_version``)."""
    result = dict(document)
    settings = result.get("terraform")
    if isinstance(settings, dict):
        result["terraform"] = {key: value for key, value in settings.items() if isinstance(value, dict)}
    return result


def stage(stack_files: Sequence[Path], dest: Path) -> dict[Path, Path]:
    """Write checkov-readable copies as ``dest/<stack>/cdk.tf.json``; map each copy to its original."""
    staged: dict[Path, Path] = {}
    for original in stack_files:
        try:
            document = json.loads(original.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ValueError(f"{original}: not valid JSON ({exc})") from exc
        copy = dest / original.parent.name / STACK_FILE
        copy.parent.mkdir(parents=True)
        # cdktn writes JSON.stringify(doc, null, 2) with sorted keys, which this reproduces; the
        # terraform block sorts after data, output and resource, so those keep their line numbers.
        copy.write_text(
            json.dumps(checkov_compatible(document), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        staged[copy.resolve()] = original
    return staged


def checkov_command(checkov_bin: str, scan_root: Path, policies_dir: Path = POLICIES_DIR) -> list[str]:
    return [
        checkov_bin,
        "--directory",
        str(scan_root),
        "--framework",
        FRAMEWORK,
        "--skip-download",
        "--external-checks-dir",
        str(policies_dir),
        "--output",
        "json",
    ]


def resource_addresses(text: str) -> dict[int, str]:
    """Line of each ``"<name>": {`` under ``resource``/``data`` → its address (cdktn's 2-space layout).

    checkov labels a Python check's result ``resource.<name>``, dropping the type; the line maps
    it back to ``<type>.<name>``.
    """
    addresses: dict[int, str] = {}
    section = block_type = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = _JSON_KEY_LINE.match(line)
        if not match:
            continue
        depth, key = len(match.group(1)), match.group(2)
        if depth == 2:
            section = key
        elif depth == 4:
            block_type = key
        elif depth == 6 and section in ("resource", "data"):
            prefix = "data." if section == "data" else ""
            addresses[number] = f"{prefix}{block_type}.{key}"
    return addresses


def _identities(document: Mapping[str, Any]) -> tuple[str, ...]:
    resources = document.get("resource", {})
    names = resources.get("aws_sesv2_email_identity", {}) if isinstance(resources, dict) else {}
    return tuple(f"aws_sesv2_email_identity.{name}" for name in sorted(names) if name != "//")


def _finding(record: Mapping[str, Any], original: Path, addresses: Mapping[int, str]) -> Finding:
    line_range = record.get("file_line_range") or [0, 0]
    resource = str(record.get("resource", "?"))
    if resource.startswith(("resource.", "data.")) and resource.count(".") == 1:
        resource = addresses.get(int(line_range[0]), resource)
    return Finding(
        check_id=str(record.get("check_id", "?")),
        check_name=str(record.get("check_name", "")),
        resource=resource,
        file=original,
        lines=(int(line_range[0]), int(line_range[-1])),
        details=tuple(str(d) for d in record.get("details") or ()),
    )


def collect(reports: Sequence[Mapping[str, Any]], staged: Mapping[Path, Path], scan_root: Path) -> ScanResult:
    """Sort checkov's JSON report(s) into per-stack results keyed by the original files."""
    result = ScanResult()
    by_file: dict[Path, StackResult] = {}
    addresses: dict[Path, dict[int, str]] = {}
    for copy, original in sorted(staged.items(), key=lambda item: item[1].parent.name):
        text = copy.read_text(encoding="utf-8")
        stack = StackResult(
            name=original.parent.name, file=original, identities=_identities(json.loads(text))
        )
        result.stacks.append(stack)
        by_file[copy] = stack
        addresses[copy] = resource_addresses(text)
    if not any(report.get("check_type") == FRAMEWORK for report in reports):
        result.errors.append(f"checkov returned no {FRAMEWORK} report")
    for report in reports:
        if report.get("check_type") != FRAMEWORK:
            continue
        result.checkov_version = str(report.get("summary", {}).get("checkov_version", "?"))
        results = report.get("results", {})
        for path in results.get("parsing_errors", []):
            original = staged.get(Path(path).resolve(), Path(path))
            result.errors.append(f"checkov could not parse {original}: nothing in it was checked")
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            for record in results.get(key, []):
                copy = (scan_root / str(record.get("file_path", "")).lstrip("/")).resolve()
                stack_result = by_file.get(copy)
                if stack_result is None:
                    result.errors.append(f"checkov reported on an unknown file {record.get('file_path')!r}")
                    continue
                finding = _finding(record, stack_result.file, addresses[copy])
                getattr(stack_result, key.removesuffix("_checks")).append(finding)
                result.checkov_failures += key == "failed_checks"
    for copy, stack in by_file.items():
        result.errors.extend(apply_skips(stack, resource_skips(json.loads(copy.read_text(encoding="utf-8")))))
    return result


def resource_skips(document: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """``(address, check id) → comment`` from each resource's ``"//": {"checkov": {"skip": [...]}}``."""
    skips: dict[tuple[str, str], str] = {}
    for section, prefix in (("resource", ""), ("data", "data.")):
        blocks = document.get(section, {})
        for block_type, items in blocks.items() if isinstance(blocks, dict) else []:
            for name, body in items.items() if isinstance(items, dict) else []:
                comment_block = body.get("//", {}) if isinstance(body, dict) else {}
                checkov = comment_block.get("checkov", {}) if isinstance(comment_block, dict) else {}
                entries = checkov.get("skip", []) if isinstance(checkov, dict) else []
                for entry in entries if isinstance(entries, list) else []:
                    if isinstance(entry, dict):
                        address = f"{prefix}{block_type}.{name}"
                        skips[(address, str(entry.get("id", "")))] = str(entry.get("comment") or "").strip()
    return skips


def apply_skips(stack: StackResult, skips: Mapping[tuple[str, str], str]) -> list[str]:
    """Move results that a resource skips into ``stack.skipped``; return problems with the skips."""
    problems = []
    used: set[tuple[str, str]] = set()
    for outcome in ("passed", "failed"):
        kept = []
        for finding in getattr(stack, outcome):
            key = (finding.resource, finding.check_id)
            if skips.get(key):
                used.add(key)
                stack.skipped.append(replace(finding, details=(skips[key],)))
            else:
                kept.append(finding)
        setattr(stack, outcome, kept)
    for (address, check_id), comment in sorted(skips.items()):
        if not comment:
            problems.append(f"{stack.name}: skip of {check_id} on {address} gives no reason (comment)")
        elif (address, check_id) not in used:
            problems.append(f"{stack.name}: skip of {check_id} on {address} matches no checkov result")
    return problems


def scan(checkov_bin: str, out_dir: Path, *, policies_dir: Path = POLICIES_DIR) -> ScanResult:
    """Run checkov once over all stacks of ``out_dir`` and collect the results."""
    stack_files = sorted(out_dir.glob(f"stacks/*/{STACK_FILE}"))
    if not stack_files:
        return ScanResult()
    with tempfile.TemporaryDirectory(prefix="ses-platform-checkov-") as tmp:
        scan_root = Path(tmp).resolve() / "stacks"
        try:
            staged = stage(stack_files, scan_root)
        except (OSError, ValueError) as exc:
            return ScanResult(errors=[f"cannot read a stack: {exc}"])
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "LOG_LEVEL": "WARNING"}
        try:
            proc = subprocess.run(  # noqa: S603 - our own argument list, no shell
                checkov_command(checkov_bin, scan_root, policies_dir),
                capture_output=True,
                text=True,
                env=env,
                check=False,
                timeout=TIMEOUT_SECONDS,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return ScanResult(errors=[f"could not run checkov {checkov_bin!r}: {exc}"])
        try:
            parsed = json.loads(proc.stdout)
        except json.JSONDecodeError:
            parsed = None
        reports = parsed if isinstance(parsed, list) else [parsed] if isinstance(parsed, dict) else []
        result = collect(reports, staged, scan_root)
    if parsed is None:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        result.errors.append(f"checkov exited {proc.returncode} without a JSON report: {tail}")
    elif proc.returncode not in (0, 1):
        result.errors.append(f"checkov exited {proc.returncode}")
    elif proc.returncode == 1 and not result.checkov_failures:
        result.errors.append("checkov exited 1 but reported no failed check")
    result.errors.extend(
        f"checkov: {line.strip()}" for line in proc.stderr.splitlines() if _CHECKOV_ERRORS.search(line)
    )
    return result


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def report(result: ScanResult, stream: TextIO) -> None:
    """The compact summary: one line per stack, then every failure and problem."""
    print(f"checkov {result.checkov_version} ({FRAMEWORK}; built-in checks + {CUSTOM_PREFIX}*)", file=stream)
    width = max((len(stack.name) for stack in result.stacks), default=0)
    for stack in result.stacks:
        ours = sum(f.check_id.startswith(CUSTOM_PREFIX) for f in stack.passed + stack.failed)
        print(
            f"  {stack.name:<{width}}  {len(stack.passed):>3} passed  {len(stack.failed):>3} failed  "
            f"{len(stack.skipped):>3} skipped  ({ours} results from {CUSTOM_PREFIX}*)",
            file=stream,
        )
    for finding in result.failed:
        start, end = finding.lines
        print(
            f"FAILED {finding.check_id}  {finding.resource}  {_display(finding.file)}:{start}-{end}\n"
            f"       {finding.check_name}",
            file=stream,
        )
        for detail in finding.details:
            print(f"       - {detail}", file=stream)
    for stack in result.stacks:
        for finding in stack.skipped:
            reason = finding.details[0] if finding.details else ""
            print(f"skipped {finding.check_id}  {finding.resource}: {reason}", file=stream)
    for problem in result.problems():
        print(f"ERROR  {problem}", file=stream)
    verdict = {EXIT_OK: "passed", EXIT_FAILED_CHECKS: "FAILED", EXIT_SCAN_UNTRUSTED: "NOT TRUSTWORTHY"}
    print(
        f"scan {verdict[result.exit_code()]}: {len(result.stacks)} stack(s), {len(result.failed)} failure(s)",
        file=stream,
    )


def to_sarif(result: ScanResult) -> dict[str, Any]:
    """SARIF 2.1.0 for code scanning: every failed check (after our skips) and every reason the
    scan cannot be trusted. Written from our results rather than by checkov, so the skips carried
    in ``"//"`` metadata (which checkov's own SARIF ignores) hold there too."""
    rules = {f.check_id: f.check_name for f in result.failed}
    results: list[dict[str, Any]] = [
        {
            "ruleId": f.check_id,
            "level": "error",
            "message": {"text": f"{f.resource}: {f.check_name}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": _display(f.file)},
                        "region": {"startLine": max(f.lines[0], 1), "endLine": max(f.lines[1], 1)},
                    }
                }
            ],
        }
        for f in result.failed
    ]
    if result.problems():
        rules["SCAN_UNTRUSTED"] = "the scan cannot be trusted"
    results += [
        {"ruleId": "SCAN_UNTRUSTED", "level": "error", "message": {"text": p}} for p in result.problems()
    ]
    driver = {
        "name": "checkov",
        "version": result.checkov_version,
        "informationUri": "https://www.checkov.io",
        "rules": [
            {"id": rule, "shortDescription": {"text": text or rule}} for rule, text in sorted(rules.items())
        ],
    }
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "results": results}],
    }


def run_checkov(checkov_bin: str, out_dir: Path, sarif: Path | None = None) -> int:
    """Scan every ``out_dir/stacks/*/cdk.tf.json``; print a summary; 0 only if all passed.

    Exit codes: 0 every check passed; 1 some check failed; 2 the scan cannot be trusted (no
    stacks, checkov missing or broken, a file checkov could not parse, a stack with no check run,
    an SES identity none of our checks reported on). ``sarif``: also write the results there.
    """
    result = scan(checkov_bin, out_dir)
    report(result, sys.stdout)
    if sarif is not None:
        sarif.parent.mkdir(parents=True, exist_ok=True)
        sarif.write_text(json.dumps(to_sarif(result), indent=2), encoding="utf-8")
    return result.exit_code()

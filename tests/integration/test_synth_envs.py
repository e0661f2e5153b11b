"""Every env under envs/ synthesizes through the real CLI, reproducibly, and the CLI's exits hold."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
ENVS = sorted(p.name for p in (REPO_ROOT / "envs").iterdir() if p.is_dir())


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modules.platform", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", **env},
        check=False,
        timeout=300,
    )


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("env", ENVS)
def test_env_synthesizes_identically_twice(env: str, tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    first = cli("synth", "--env", env, "--out", str(out), "--json")
    assert first.returncode == 0, first.stderr
    shutil.copytree(out, tmp_path / "first")
    second = cli("synth", "--env", env, "--out", str(out), "--json")
    assert second.returncode == 0, second.stderr

    files = tree(out)
    assert files == tree(tmp_path / "first")
    assert any(f.endswith("cdk.tf.json") for f in files)
    _, mismatch, errors = filecmp.cmpfiles(out, tmp_path / "first", files, shallow=False)
    assert (mismatch, errors) == ([], [])
    summary = json.loads(second.stdout)
    assert summary["environment"] == env
    assert all(sum(stack["resources"].values()) > 0 for stack in summary["stacks"])


def test_synth_replaces_stacks_left_over_from_another_env(tmp_path: Path) -> None:
    out = tmp_path / "cdktf.out"
    assert cli("synth", "--env", "multi-region", "--out", str(out), "--quiet").returncode == 0
    assert cli("synth", "--env", "example", "--out", str(out), "--quiet").returncode == 0
    assert sorted(p.name for p in (out / "stacks").iterdir()) == ["example-media-eu-central-1"]


def test_unknown_env_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    result = cli("synth", "--env", "nope", "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "envs/nope: no such environment directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_plan_without_terraform_or_tofu_exits_2_with_one_line() -> None:
    result = cli("plan", "--env", "example", TF_BIN="no-such-terraform-binary")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "neither terraform nor tofu is on PATH" in result.stderr


def test_validation_problems_exit_2_as_file_key_path_what_without_a_traceback(tmp_path: Path) -> None:
    env = tmp_path / "envs" / "bad"
    env.mkdir(parents=True)
    (env / "ses.hcl").write_text(
        'environment = "bad"\n'
        'account "media" {\n  id = "111111111111"\n  region "eu-central-1"\n  {\n'
        "    max_send_rate = 1\n    max_24_hour_send = 10\n  }\n}\n"
    )
    (env / "domains.hcl").write_text(
        'domain "news.example.at" {\n  account = "media"\n  dns = "external"\n'
        '  mail_from {\n    subdomain = "news.example.at"\n  }\n}\n'
        'domain "bücher.example.at" {\n  account = "media"\n  dns = "external"\n}\n'
    )
    result = cli("validate", "--env", "bad", "--envs-dir", str(tmp_path / "envs"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert (
        lines[-1] == "1 problem(s) in environment 'bad'; nothing synthesized."
    )  # a syntax error stops there
    assert lines[0].endswith(
        'ses.hcl:4: account "media".region "eu-central-1": the "{" that opens the block must be on the '
        'same line as its header, as HCL requires: write region "eu-central-1" {'
    )
    (env / "ses.hcl").write_text(
        'environment = "bad"\naccount "media" {\n  id = "111111111111"\n  region "eu-central-1" {\n'
        "    max_send_rate = 1\n    max_24_hour_send = 10\n  }\n}\n"
    )
    result = cli("validate", "--env", "bad", "--envs-dir", str(tmp_path / "envs"))
    assert result.returncode == 2
    problems = result.stderr.strip().splitlines()[:-1]
    assert [p.split(": ")[1] for p in problems] == [
        'domain "news.example.at".mail_from.subdomain',
        'domain "bücher.example.at"',
    ]
    assert 'write "xn--bcher-kva.example.at"' in problems[1]

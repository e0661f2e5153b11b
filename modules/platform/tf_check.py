"""``make tf-check``: real Terraform on every synthesized stack of every env, without credentials.

For each env: synth (which refuses names two stacks would both create), then the name check
across all the envs checked (envs sharing an account must not claim one identity or record).
For each stack, in a copy under ``<work>/<env>/<stack>/`` (the synthesized folder stays as it
is, pinned to the provider users get):

1. ``terraform init -backend=false`` with the pinned provider from the registry, or from a local
   filesystem mirror (found, or named by ``TF_PLUGIN_MIRROR``) through a generated CLI config.
   A mirror older than the pin: an override file pins the mirror's version for the check only,
   and what that provider lacks is left out and listed (:mod:`modules.platform.tf_prepare`).
2. ``terraform validate``.
3. ``terraform test`` with a generated ``tests/mocked.tftest.hcl``: ``mock_provider "aws"`` (one
   per alias), ``command = plan`` then ``command = apply``.

Writes ``<work>/report.json`` (per stack: result, resources, what was left out, seconds).
Exit 0 when every stack passes, 1 when a Terraform step fails, 2 on a bad env, a repeated name,
no terraform/tofu, or no provider.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from modules.platform.tf_prepare import Left, count_resources, leave_out, required_version, tftest_file
from modules.platform.tf_provider import (
    Mirror,
    cli_config,
    find_mirror,
    provider_schema,
    registry_host,
    version_key,
)

EXIT_FAILED, EXIT_CONFIG = 1, 2
OVERRIDE = "zz_tf_check_override.tf.json"  # merged last by terraform; only in the check's copy
TEST_FILE = "tests/mocked.tftest.hcl"
STEP_TIMEOUT = 900


@dataclass(kw_only=True)
class Context:
    """What every stack of a run shares: the binary, where the provider comes from, its schema."""

    binary: str
    work: Path
    env: dict[str, str]
    mirror: Mirror | None
    version: str | None = None  # the provider the check runs with (None until the first stack)
    pinned: str | None = None
    schema: dict[str, Any] = field(default_factory=dict)

    @property
    def overridden(self) -> bool:
        return self.version is not None and self.version != self.pinned


@dataclass(kw_only=True)
class StackResult:
    env: str
    stack: str
    passed: bool
    step: str  # the last step run: init, validate, test
    resources: int
    provider: str
    pinned: str | None
    left_out: list[str]
    seconds: float
    output: str = ""


def context(binary: str, work: Path, mirror_path: str | None) -> Context:
    """The run's context: a CLI config for the mirror (if any) and a shared plugin cache."""
    work = work.resolve()  # terraform runs in each stack's folder: every path it is given is absolute
    work.mkdir(parents=True, exist_ok=True)
    mirror = find_mirror(mirror_path, host=registry_host(binary))
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1", "TF_INPUT": "0"}
    if mirror is not None:
        config = work / "terraform.tfrc"
        config.write_text(cli_config(mirror))
        env["TF_CLI_CONFIG_FILE"] = str(config)
    else:  # the registry: download once for every stack
        cache = work / "plugin-cache"
        cache.mkdir(exist_ok=True)
        env["TF_PLUGIN_CACHE_DIR"] = str(cache)
    return Context(binary=binary, work=work, env=env, mirror=mirror)


def choose_provider(ctx: Context, pinned: str) -> list[str]:
    """Settle the provider version (the pin, or the mirror's newest) and load its schema; the
    lines to print about it."""
    if ctx.version is not None:
        if pinned != ctx.pinned:
            raise ValueError(f"stacks pin different AWS provider versions ({ctx.pinned}, {pinned})")
        return []
    ctx.pinned = pinned
    lines = []
    if ctx.mirror is None:
        ctx.version = pinned
        lines.append(f"provider hashicorp/aws {pinned} (the stacks' pin) from the registry")
    elif pinned in ctx.mirror.versions:
        ctx.version = pinned
        lines.append(f"provider hashicorp/aws {pinned} (the stacks' pin) from the mirror {ctx.mirror.path}")
    else:
        ctx.version = ctx.mirror.newest
        older = version_key(ctx.version) < version_key(pinned)
        lines.append(
            f"provider hashicorp/aws: the stacks pin {pinned} (users get it from the registry); the "
            f"mirror {ctx.mirror.path} has {', '.join(ctx.mirror.versions)}, so this check pins "
            f"{ctx.version} in an override file of its own copy"
            + (", an older provider: what it lacks is left out and listed per stack" if older else "")
        )
    ctx.schema = provider_schema(ctx.binary, ctx.version, ctx.work / "provider-schema", ctx.env)
    return lines


def prepare(ctx: Context, stack_dir: Path, target: Path) -> tuple[dict[str, Any], list[Left]]:
    """The check's copy of a synthesized stack folder in ``target``."""
    document = json.loads((stack_dir / "cdk.tf.json").read_text())
    pinned = required_version(document)
    if pinned is None:
        raise ValueError(f"{stack_dir}: no hashicorp/aws version in terraform.required_providers")
    for line in choose_provider(ctx, pinned):
        print(line, flush=True)
    left: list[Left] = []
    if ctx.overridden:
        document, left = leave_out(document, ctx.schema, provider_version=ctx.version or "")
    if target.exists():
        for stale in (target / "cdk.tf.json", target / OVERRIDE, target / "assets"):
            if stale.is_symlink() or stale.is_file():
                stale.unlink()
            elif stale.is_dir():
                shutil.rmtree(stale)
    target.mkdir(parents=True, exist_ok=True)
    (target / "cdk.tf.json").write_text(json.dumps(document, indent=2))
    if (stack_dir / "assets").is_dir():  # the Lambda zips, read by filebase64sha256 at plan time
        (target / "assets").symlink_to((stack_dir / "assets").resolve(), target_is_directory=True)
    if ctx.overridden:
        aws = {"source": "hashicorp/aws", "version": ctx.version}
        override = {
            "//": f"tf-check only: the mirror has hashicorp/aws {ctx.version}, the stack pins {ctx.pinned}",
            "terraform": {"required_providers": {"aws": aws}},
        }
        (target / OVERRIDE).write_text(json.dumps(override, indent=2))
    (target / "tests").mkdir(exist_ok=True)
    (target / TEST_FILE).write_text(tftest_file(document, ctx.schema))
    return document, left


STEPS = {
    "init": ("init", "-backend=false", "-input=false", "-no-color"),
    "validate": ("validate", "-no-color"),
    "test": ("test", "-no-color"),
}


def check_stack(
    ctx: Context, env_name: str, stack_dir: Path, target: Path, *, steps: tuple[str, ...] = tuple(STEPS)
) -> StackResult:
    """init, validate and the mocked plan + apply of one stack; stops at the first failing step."""
    start = time.perf_counter()
    document, left = prepare(ctx, stack_dir, target)
    passed, step, output = True, "init", ""
    for step in steps:  # the last step run is the one reported
        argv = [ctx.binary, *STEPS[step]]
        run = subprocess.run(  # noqa: S603 - our own argv, no shell
            argv, cwd=target, env=ctx.env, capture_output=True, text=True, check=False, timeout=STEP_TIMEOUT
        )
        output = run.stdout + run.stderr
        if run.returncode != 0:
            passed = False
            break
    return StackResult(
        env=env_name,
        stack=stack_dir.name,
        passed=passed,
        step=step,
        resources=count_resources(document),
        provider=ctx.version or "",
        pinned=ctx.pinned,
        left_out=[str(item) for item in left],
        seconds=round(time.perf_counter() - start, 2),
        output="" if passed else output,
    )


def run(envs: list[str], *, envs_dir: Path, work: Path, mirror: str | None, repo_root: Path) -> int:
    """The whole check (see the module docstring); prints as it goes."""
    from modules.platform import terraform

    work = work.resolve()
    binary = terraform.find_binary()
    if binary is None:
        print("tf-check: neither terraform nor tofu is on PATH (or TF_BIN); install one", file=sys.stderr)
        return EXIT_CONFIG
    try:
        ctx = context(binary, work, mirror)
    except ValueError as exc:
        print(f"tf-check: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    started = time.perf_counter()
    synthesized = synth_envs(envs, envs_dir=envs_dir, work=work, repo_root=repo_root)
    if synthesized is None:
        return EXIT_CONFIG
    results: list[StackResult] = []
    per_env: dict[str, float] = {}
    for name, out in synthesized.items():
        env_start = time.perf_counter()
        for stack_dir in terraform.stack_dirs(out):
            try:
                result = check_stack(ctx, name, stack_dir, work / name / stack_dir.name)
            except (ValueError, RuntimeError) as exc:
                print(f"tf-check: {stack_dir.name}: {exc}", file=sys.stderr)
                return EXIT_CONFIG
            results.append(result)
            _print_result(result)
        per_env[name] = round(time.perf_counter() - env_start, 2)
    _report(work, results, per_env, round(time.perf_counter() - started, 2))
    failed = [r for r in results if not r.passed]
    total = sum(r.resources for r in results)
    print(
        f"tf-check: {len(results) - len(failed)} of {len(results)} stack(s) passed init, validate and a "
        f"mocked plan + apply ({total} resources, provider {ctx.version}); report {work / 'report.json'}"
    )
    return EXIT_FAILED if failed else 0


def synth_envs(envs: list[str], *, envs_dir: Path, work: Path, repo_root: Path) -> dict[str, Path] | None:
    """Each env synthesized into ``<work>/<env>/synth`` (synth's own checks), then the name check
    across them all; ``None`` (problems printed) when any fails."""
    from modules.config import ConfigError, load_env
    from modules.naming.check import check_names, read_stacks
    from modules.platform.synthesis import synth_quietly

    synthesized, stacks = {}, []
    for name in envs:
        try:
            env = load_env(envs_dir / name, display_root=repo_root)
        except ConfigError as exc:
            print("\n".join(exc.problems), file=sys.stderr)
            return None
        out = work / name / "synth"
        if synth_quietly(env, out, siblings=False) != 0:  # all of them are checked together below
            return None
        synthesized[name] = out
        stacks += read_stacks(out, env.directory_display)
    problems = check_names(stacks)  # across envs: each env alone passed in synth
    if problems:
        print("\n".join(problems), file=sys.stderr)
        print(f"{len(problems)} name problem(s) across the environments {', '.join(envs)}", file=sys.stderr)
        return None
    return synthesized


def _print_result(result: StackResult) -> None:
    verdict = "passed" if result.passed else f"FAILED at terraform {result.step}"
    print(f"==> {result.stack}: {verdict} ({result.resources} resources, {result.seconds} s)", flush=True)
    if result.left_out:
        print(f"    left out ({len(result.left_out)}), provider {result.provider} lacks them:")
        for item in result.left_out:
            print(f"      {item}")
    if not result.passed:
        print(result.output.rstrip(), flush=True)


def _report(work: Path, results: list[StackResult], per_env: dict[str, float], seconds: float) -> None:
    report = {
        "seconds": seconds,
        "tf_check_seconds": per_env,
        "stacks": [{k: v for k, v in asdict(r).items() if k != "output"} for r in results],
    }
    (work / "report.json").write_text(json.dumps(report, indent=2) + "\n")

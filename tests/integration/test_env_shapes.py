"""Every env shape the validation accepts synthesizes, with one stack foundation per stack and
no name two stacks would both create; every input it refuses is refused as
``<file>: <key path>: <what is wrong>`` (exit 2), never with a traceback.

* the issue's crash: a dedicated IP pool plus ``suppression_cleanup {}`` in an account-region
  without slices or configuration sets (through the CLI, as a user meets it);
* a table: every combination of the blocks that use the stack's key, state table and alarm
  topic (slice, configuration set, pool, cleanup, heartbeat), one account-region each, in one env;
* a property test (hypothesis): random valid envs of up to three account-regions, any mix of
  blocks including none, synthesized; and random damage to valid env files, only loaded.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modules.config import ConfigError, load_env
from modules.config.model import StackTarget
from modules.naming.check import check_names, read_stacks
from modules.platform.synthesis import synth_quietly
from tests.support.env_shapes import (
    CONFIGURATION_SET_KINDS,
    POOL_KINDS,
    REGIONS,
    Shape,
    Target,
    render_env,
    write_env,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBLEM = re.compile(r"^[\w./-]+\.hcl(?::\d+(?::\d+)?|:end of file)?: \S.*: \S")


def synth_ok(
    folder: Path, out: Path, capsys: pytest.CaptureFixture[str]
) -> list[tuple[StackTarget, dict[str, object]]]:
    """Load and synthesize an env as the CLI does; each stack's target and JSON document."""
    env = load_env(folder, display_root=folder.parent)
    code = synth_quietly(env, out)
    assert code == 0, capsys.readouterr().err
    stacks = read_stacks(out, env.directory_display)
    assert check_names(stacks) == []
    return list(zip(env.stacks(), [dict(s.document) for s in stacks], strict=True))


def uses_foundation(target: StackTarget) -> bool:
    managed_sets = [c for c in target.configuration_sets if not c.external]
    return bool(target.slices or managed_sets or target.dedicated_ip_pools or target.suppression_cleanup)


def foundation_parts(document: dict[str, object]) -> tuple[int, int, int]:
    resources = document.get("resource", {})
    assert isinstance(resources, dict)
    keys = [k for k in resources.get("aws_kms_key", {}) if k == "sending"]
    tables = [k for k in resources.get("aws_dynamodb_table", {}) if k == "sending_state"]
    topics = [k for k in resources.get("aws_sns_topic", {}) if k == "alarms"]
    return len(keys), len(tables), len(topics)


def test_a_pool_and_suppression_cleanup_alone_synthesize_through_the_cli(tmp_path: Path) -> None:
    """The issue's crash: "There is already a Construct with name 'sending'"."""
    shape = Shape(pool="managed", cleanup=True)
    write_env(tmp_path / "envs", "lonely", [Target(account=0, region="eu-west-1", shape=shape)])
    result = subprocess.run(
        [sys.executable, "-m", "modules.platform", "synth", "--env", "lonely", "--json",
         "--envs-dir", str(tmp_path / "envs"), "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (stack,) = json.loads(result.stdout)["stacks"]
    assert stack["resources"]["aws_sesv2_dedicated_ip_pool"] == 1
    document = json.loads((tmp_path / "out" / "stacks" / stack["name"] / "cdk.tf.json").read_text())
    assert foundation_parts(document) == (1, 1, 1)
    assert "suppression_cleanup" in document["resource"]["aws_lambda_function"]
    assert "blocklist" in document["resource"]["aws_lambda_function"]


def table_shapes() -> list[Shape]:
    """Every combination of the blocks sharing the stack's foundation (heartbeat and a warm-up
    only with a slice, which they need)."""
    shapes = []
    for slices, sets, pool, cleanup, heartbeat in itertools.product(
        (0, 1), ("none", "sns"), ("none", "managed", "warmup"), (False, True), (False, True)
    ):
        if not slices and (heartbeat or pool == "warmup"):
            continue
        shapes.append(
            Shape(slices=slices, configuration_set=sets, pool=pool, cleanup=cleanup, heartbeat=heartbeat)
        )
    return shapes


def test_every_combination_of_foundation_users_in_an_account_region_synthesizes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shapes = table_shapes()
    targets = [
        Target(account=i // len(REGIONS), region=REGIONS[i % len(REGIONS)], shape=shape.valid())
        for i, shape in enumerate(shapes)
    ]
    folder = write_env(tmp_path, "table", targets, bounce_report=True)
    stacks = synth_ok(folder, tmp_path / "out", capsys)
    assert len(stacks) == len(shapes) == 32
    for (target, document), asked in zip(stacks, targets, strict=True):
        # one key, state table and alarm topic, created by the stack, whoever asks for them
        expected = (1, 1, 1) if uses_foundation(target) else (0, 0, 0)
        assert foundation_parts(document) == expected, asked.shape.label()


# --- property tests --------------------------------------------------------------------------

shapes = st.builds(
    Shape,
    domains=st.integers(0, 2),
    configuration_set=st.sampled_from(CONFIGURATION_SET_KINDS),
    slices=st.integers(0, 2),
    heartbeat=st.booleans(),
    events=st.booleans(),
    pool=st.sampled_from(POOL_KINDS),
    smtp_user=st.booleans(),
    tenant=st.booleans(),
    archive=st.booleans(),
    cleanup=st.booleans(),
).map(Shape.valid)
places = st.lists(st.tuples(st.integers(0, 1), st.sampled_from(REGIONS)), min_size=1, max_size=3, unique=True)
# Environment names up to NAME's 32 characters: long ones push every derived name to its limit.
env_names = st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]", fullmatch=True).filter(lambda n: "--" not in n)


@st.composite
def envs(draw: st.DrawFn) -> tuple[str, list[Target], bool]:
    targets = [Target(account=a, region=r, shape=draw(shapes)) for a, r in draw(places)]
    return draw(env_names), targets, draw(st.booleans())


@settings(max_examples=int(os.environ.get("SHAPE_EXAMPLES", "8")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(envs())
def test_any_valid_env_synthesizes_without_a_repeated_name(
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    env: tuple[str, list[Target], bool],
) -> None:
    name, targets, bounce_report = env
    root = tmp_path_factory.mktemp("env")
    folder = write_env(root, name, targets, bounce_report=bounce_report)
    try:
        loaded = load_env(folder, display_root=root)
    except ConfigError as exc:  # the generator writes only valid envs: a refusal is a bug in one of them
        pytest.fail(
            "a valid shape was refused:\n" + "\n".join(exc.problems) + "\n" + render_env(name, targets)
        )
    code = synth_quietly(loaded, root / "out")
    assert code == 0, capsys.readouterr().err + "\n" + render_env(name, targets)


BLOCK = re.compile(r'\n(?:slice|domain|smtp_user|tenant) "[^"]+" \{[^}]*\}')
DAMAGE = [
    ("a string becomes a number", re.compile(r'= "[^"\n]*"'), "= 42"),
    ("a number becomes a string", re.compile(r"= [0-9.]+"), '= "many"'),
    ("a string becomes empty", re.compile(r'= "[^"\n]*"'), '= ""'),
    ("a name gets upper case", re.compile(r'"([a-z])'), lambda m: '"' + m.group(1).upper()),
    ("a name gets a non-ASCII letter", re.compile(r'"([a-z]+)'), lambda m: '"' + m.group(1) + "ü"),
    ("a block's brace moves to the next line", re.compile(r'" \{\n'), '"\n{\n'),
    ("a key is misspelt", re.compile(r"\n(\s*)([a-z_]+)(\s*)="), lambda m: f"\n{m[1]}{m[2]}x{m[3]}="),
    ("a line goes missing", re.compile(r"\n[^\n]*\n"), "\n"),
    ("a block is doubled", BLOCK, lambda m: m[0] * 2),
    ("a value becomes an expression", re.compile(r'= "[^"\n]*"'), '= "${var.x}"'),
    ("a list loses its brackets", re.compile(r"= \[([^\]\n]*)\]"), lambda m: "= " + (m.group(1) or '""')),
]  # fmt: skip


@settings(max_examples=int(os.environ.get("DAMAGE_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(envs(), st.sampled_from(DAMAGE), st.integers(0, 200))
def test_a_damaged_env_is_refused_file_key_path_and_what_or_still_valid_never_a_traceback(
    tmp_path_factory: pytest.TempPathFactory,
    env: tuple[str, list[Target], bool],
    damage: tuple[str, re.Pattern[str], object],
    which: int,
) -> None:
    name, targets, bounce_report = env
    _, pattern, replacement = damage
    text = render_env(name, targets, bounce_report=bounce_report)
    matches = list(pattern.finditer(text))
    if not matches:
        return
    match = matches[which % len(matches)]
    new = replacement(match) if callable(replacement) else str(replacement)
    damaged = text[: match.start()] + new + text[match.end() :]
    folder = tmp_path_factory.mktemp("damaged") / name
    folder.mkdir()
    (folder / "ses.hcl").write_text(damaged, encoding="utf-8")
    problems: list[str] = []
    try:
        load_env(folder, display_root=folder.parent)
    except ConfigError as exc:
        problems = exc.problems or ["(a ConfigError without problems)"]
    for problem in problems:
        assert PROBLEM.match(problem), f"{problem!r} is not <file>: <key path>: <what>\n{damaged}"

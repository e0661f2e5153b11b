"""Synth benchmark → bench-results/synth.json (+ synth.png).

``synth_seconds``: ``python -m modules.platform synth --env example`` as a whole process.
``bare_import_seconds``: a bare script importing the same bindings and synthesizing one empty
stack, in the same run. ``ratio`` = synth / bare; goal ≤ 1.3. Medians of interleaved runs.
``tf_check_seconds``: per env, ``make tf-check``'s terraform init + validate + mocked plan and
apply of every stack (after synth; one run, provider from the local mirror), with the stack and
resource counts and what the mirror's provider lacks (``tf_check``).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS = REPO_ROOT / "bench-results"
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
GOAL_RATIO = 1.3


def timed(argv: list[str]) -> float:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    start = time.perf_counter()
    subprocess.run(argv, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def test_synth_overhead_over_a_bare_cdktn_synth(tmp_path: Path) -> None:
    synth = [sys.executable, "-m", "modules.platform", "synth", "--env", "example", "--quiet", "--out"]
    bare = [sys.executable, str(Path(__file__).with_name("bare_synth.py"))]
    timed([*bare, str(tmp_path / "warm")])  # warm the page cache and jsii's package cache
    synth_runs, bare_runs = [], []
    for i in range(RUNS):  # interleaved, so drift on the machine hits both alike
        synth_runs.append(timed([*synth, str(tmp_path / f"s{i}")]))
        bare_runs.append(timed([*bare, str(tmp_path / f"b{i}")]))
    synth_s, bare_s = statistics.median(synth_runs), statistics.median(bare_runs)
    result = {
        "synth_seconds": round(synth_s, 3),
        "bare_import_seconds": round(bare_s, 3),
        "ratio": round(synth_s / bare_s, 3),
        "goal_ratio": GOAL_RATIO,
        "runs": RUNS,
        "synth_runs_seconds": [round(t, 3) for t in synth_runs],
        "bare_runs_seconds": [round(t, 3) for t in bare_runs],
        "env": "example",
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "command": "make bench",
    }
    _merge(result)
    _plot(result)
    # No timed assertion (figures are judged by people); but a synth that wrote nothing is no figure.
    assert list(tmp_path.glob("s0/stacks/*/cdk.tf.json"))


def _merge(result: dict[str, object]) -> None:
    """Write ``result``'s keys into synth.json, keeping the other test's keys."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / "synth.json"
    current = json.loads(path.read_text()) if path.is_file() else {}
    (RESULTS / "synth.json").write_text(json.dumps({**current, **result}, indent=2) + "\n")


@pytest.mark.skipif(shutil.which("terraform") is None and shutil.which("tofu") is None, reason="no terraform")
def test_tf_check_seconds_per_env(tmp_path: Path) -> None:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    command = [sys.executable, "-m", "modules.platform", "tf-check", "--work", str(tmp_path)]
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    total = time.perf_counter() - start
    report = json.loads((tmp_path / "report.json").read_text())
    stacks = report["stacks"]
    _merge(
        {
            "tf_check_seconds": report["tf_check_seconds"],
            "tf_check": {
                "total_seconds_with_synth": round(total, 2),
                "stacks": len(stacks),
                "resources": sum(s["resources"] for s in stacks),
                "provider": stacks[0]["provider"],
                "pinned": stacks[0]["pinned"],
                "left_out": sum(len(s["left_out"]) for s in stacks),
            },
        }
    )
    assert all(s["passed"] for s in stacks)


def _plot(result: dict[str, object]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    labels = ["bare cdktn synth\n(same bindings)", "make synth\n(envs/example)"]
    runs = [result["bare_runs_seconds"], result["synth_runs_seconds"]]
    ax.boxplot(runs, orientation="horizontal", tick_labels=labels)
    ax.set_xlabel("seconds per process (wall clock)")
    ax.set_title(f"synth vs bare import: ratio {result['ratio']} (goal ≤ {GOAL_RATIO})")
    fig.tight_layout()
    fig.savefig(RESULTS / "synth.png", dpi=110)
    plt.close(fig)

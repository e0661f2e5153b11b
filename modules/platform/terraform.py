"""``make plan`` / ``make apply``: run terraform (or tofu) in every synthesized stack folder.

A thin, predictable loop for users who have ``terraform`` or ``tofu`` on PATH and credentials.
Without credentials, ``make tf-check`` (:mod:`modules.platform.tf_check`) runs the same stacks
through init, validate and a mocked plan + apply.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXIT_NO_BINARY = 2


def find_binary() -> str | None:
    """``$TF_BIN`` if set, else terraform, else tofu."""
    wanted = os.environ.get("TF_BIN")
    if wanted:
        return shutil.which(wanted)
    return shutil.which("terraform") or shutil.which("tofu")


def stack_dirs(out_dir: Path) -> list[Path]:
    """Stack folders in manifest order (the manifest is rewritten by every synth)."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    return [out_dir / stack["workingDirectory"] for stack in manifest["stacks"].values()]


def run(action: str, out_dir: Path, extra_args: list[str]) -> int:
    binary = find_binary()
    if binary is None:
        print(
            f"make {action}: neither terraform nor tofu is on PATH (or TF_BIN); install one, "
            f"or apply {out_dir}/stacks/*/cdk.tf.json with your pipeline",
            file=sys.stderr,
        )
        return EXIT_NO_BINARY
    for directory in stack_dirs(out_dir):
        print(f"==> {directory.name}: {Path(binary).name} {action}", flush=True)
        steps = [[binary, "init", "-input=false"]]
        if action == "plan":
            steps.append([binary, "plan", "-input=false", "-out=plan.tfplan", *extra_args])
        else:
            steps.append([binary, "apply", "-input=false", *extra_args])
        for step in steps:
            code = subprocess.call(step, cwd=directory)  # noqa: S603 - our own argv, no shell
            if code != 0:
                print(
                    f"{directory.name}: {' '.join(step[1:2])} failed with exit code {code}", file=sys.stderr
                )
                return code
    return 0

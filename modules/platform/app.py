"""Build the cdktn ``App`` for an environment: one :class:`SesStack` per account-region."""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import App

from modules.config.model import EnvConfig
from modules.platform.stack import LOCAL_STATE_DIR, SesStack

TARGET_VERSIONS = {"terraform": ">=1.10.0", "opentofu": ">=1.10.0"}


def build_app(env: EnvConfig, outdir: str | Path, *, repo_root: str | Path) -> tuple[App, list[SesStack]]:
    outdir = Path(outdir)
    # S3 native state locking (use_lockfile) needs Terraform/OpenTofu 1.10: cdktn validates every
    # feature against these targets. (No required_version in the JSON: checkov 3.3's terraform_json
    # parser rejects any plain value in the terraform block and would then scan nothing.)
    app = App(outdir=str(outdir), context={"targetVersions": dict(TARGET_VERSIONS)})
    stacks = []
    for target in env.stacks():
        stack_dir = outdir.resolve() / "stacks" / target.name
        state_dir = os.path.relpath(Path(repo_root).resolve() / LOCAL_STATE_DIR, stack_dir)
        stack = SesStack(app, target, backend=env.backend, tags=dict(env.tags), state_dir=state_dir)
        stacks.append(stack)
    return app, stacks

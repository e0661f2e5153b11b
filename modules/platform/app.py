"""Build the cdktn ``App`` for an environment: one :class:`SesStack` per account-region."""

from __future__ import annotations

import os
from pathlib import Path

from cdktn import App

from modules.config.model import EnvConfig
from modules.platform.stack import LOCAL_STATE_DIR, SesStack


def build_app(env: EnvConfig, outdir: str | Path, *, repo_root: str | Path) -> tuple[App, list[SesStack]]:
    outdir = Path(outdir)
    app = App(outdir=str(outdir))
    stacks = []
    for target in env.stacks():
        stack_dir = outdir.resolve() / "stacks" / target.name
        state_dir = os.path.relpath(Path(repo_root).resolve() / LOCAL_STATE_DIR, stack_dir)
        stacks.append(
            SesStack(app, target, backend=env.backend, tags=dict(env.tags), state_dir=state_dir)
        )
    return app, stacks

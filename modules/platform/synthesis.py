"""Synthesis with every check ``make synth`` makes: an env's stacks into an output folder, the
names AWS keeps unique checked across them and across the envs beside it, a summary. Used by the
command line (``modules.platform.cli``) and by tf-check, which synthesizes every env first."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modules.config import EnvConfig
    from modules.naming.check import StackDocument

EXIT_CONFIG = 2
REPO_ROOT = Path(__file__).resolve().parents[2]


def synth_quietly(env: EnvConfig, out: Path, *, siblings: bool = True) -> int:
    """Synthesize ``env`` into ``out`` with every check synth makes; 0, or 2 with the problems
    on stderr. ``siblings=False``: no name check against envs beside it (the caller checks all)."""
    return synthesize(env, out, as_json=False, quiet=True, siblings=siblings)


def synthesize(env: EnvConfig, out: Path, *, as_json: bool, quiet: bool, siblings: bool = True) -> int:
    from modules.naming.check import check_names, read_stacks
    from modules.platform.app import build_app
    from modules.platform.summary import render, summarize, to_json

    # Replace the whole output so a stack removed from the env cannot linger and be applied.
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        app, stacks = build_app(env, out, repo_root=REPO_ROOT)
    except ValueError as exc:  # a construct check the config layer did not already make
        print(f"{env.directory_display}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    app.synth()
    # Names AWS keeps unique per account, account-region or globally, across every stack of the
    # env: a repeat (or a name too long for AWS) passes plan and fails apply, so refuse it here.
    repeats = check_names(read_stacks(out, env.directory_display))
    if not repeats and siblings:  # and across the envs beside it that share one of its accounts
        repeats = _shared_account_repeats(env, read_stacks(out, env.directory_display))
    if repeats:
        shutil.rmtree(out, ignore_errors=True)  # nothing half-valid is left to apply
        for problem in repeats:
            print(problem, file=sys.stderr)
        print(f"{len(repeats)} name problem(s) in environment {env.environment!r}; nothing synthesized.",
              file=sys.stderr)  # fmt: skip
        return EXIT_CONFIG
    summaries = summarize(stacks, out)
    if as_json:
        print(to_json(env.environment, summaries))
    elif not quiet:
        print(render(env.environment, summaries, root=REPO_ROOT))
    return 0


def _shared_account_repeats(env: EnvConfig, own: list[StackDocument]) -> list[str]:
    """Names ``env``'s stacks claim that an env beside it, in one of its accounts, claims too."""
    from modules.naming.check import find_repeats
    from modules.platform.shared_accounts import sibling_stacks

    others, notes = sibling_stacks(env, repo_root=REPO_ROOT)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if not others:
        return []
    mine = env.directory_display
    return [p for p in find_repeats(own + others) if mine in p.partition(": ")[0].split(", ")]

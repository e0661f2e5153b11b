"""``python -m modules.platform synth``: env HCL → Terraform JSON per stack, and a summary.

Exit codes: 0 done, 2 bad configuration (each problem printed on stderr as
``<file>: <key path>: <what is wrong>``, no traceback).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

# jsii prints a banner for Node 20 on every start; the value is the major version to silence.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

EXIT_CONFIG = 2
REPO_ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modules.platform", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    synth = commands.add_parser("synth", help="synthesize an environment into Terraform JSON")
    synth.add_argument("--env", default="example", help="environment folder under envs/ (default: example)")
    synth.add_argument("--envs-dir", default=str(REPO_ROOT / "envs"), help="where environments live")
    synth.add_argument("--out", default=str(REPO_ROOT / "cdktf.out"), help="output folder (replaced)")
    synth.add_argument("--json", action="store_true", help="print the summary as JSON")
    synth.add_argument("--quiet", action="store_true", help="print nothing on success")
    check = commands.add_parser("validate", help="only load and validate an environment")
    check.add_argument("--env", default="example")
    check.add_argument("--envs-dir", default=str(REPO_ROOT / "envs"))
    args = parser.parse_args(argv)

    from modules.config import ConfigError, load_env

    try:
        env = load_env(Path(args.envs_dir) / args.env, display_root=REPO_ROOT)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in environment {args.env!r}; nothing synthesized.", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "validate":
        print(f"{args.env}: valid ({len(env.stacks())} stack(s), {len(env.domains)} domain(s))")
        return 0
    return _synth(env, Path(args.out), as_json=args.json, quiet=args.quiet)


def _synth(env: object, out: Path, *, as_json: bool, quiet: bool) -> int:
    from modules.config import EnvConfig
    from modules.platform.app import build_app
    from modules.platform.summary import render, summarize, to_json

    assert isinstance(env, EnvConfig)
    # Replace the whole output so a stack removed from the env cannot linger and be applied.
    shutil.rmtree(out, ignore_errors=True)
    try:
        app, stacks = build_app(env, out, repo_root=REPO_ROOT)
    except ValueError as exc:  # a props check the config layer did not catch
        print(f"{env.directory}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    app.synth()
    summaries = summarize(stacks, out)
    if as_json:
        print(to_json(env.environment, summaries))
    elif not quiet:
        print(render(env.environment, summaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())

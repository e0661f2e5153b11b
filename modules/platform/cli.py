"""``python -m modules.platform``: env HCL → Terraform JSON per stack, scan, tf-check, plan, apply.

Exit codes: 0 done; 2 bad configuration (each problem on stderr as
``<file>: <key path>: <what is wrong>``, no traceback) or no terraform/tofu for plan/apply;
any other code is the failing tool's own.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from modules.platform.synthesis import EXIT_CONFIG, REPO_ROOT, synthesize

# jsii prints a banner for Node 20 on every start; the value is the major version to silence.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m modules.platform", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def env_command(name: str, help_: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_)
        sub.add_argument("--env", default="example", help="folder under envs/ (default: example)")
        sub.add_argument("--envs-dir", default=str(REPO_ROOT / "envs"), help="where environments live")
        sub.add_argument("--out", default=str(REPO_ROOT / "cdktf.out"), help="output folder (replaced)")
        return sub

    synth = env_command("synth", "synthesize an environment and print a summary")
    synth.add_argument("--json", action="store_true", help="print the summary as JSON")
    synth.add_argument("--quiet", action="store_true", help="print nothing on success")
    env_command("validate", "only load and validate an environment")
    for action in ("plan", "apply"):
        run = env_command(action, f"synthesize, then terraform/tofu {action} every stack")
        run.add_argument("extra", nargs="*", help="passed to terraform, e.g. -- -auto-approve")
    check = commands.add_parser(
        "tf-check", help="terraform init, validate and a mocked plan + apply of every stack (no credentials)"
    )
    check.add_argument("--env", action="append", help="an env under envs/ (repeat; default: every env)")
    check.add_argument("--envs-dir", default=str(REPO_ROOT / "envs"), help="where environments live")
    check.add_argument(
        "--work",
        default=str(REPO_ROOT / "cdktf.out" / "tf-check"),
        help="working folder (synth, copies, report)",
    )
    check.add_argument("--mirror", help="provider filesystem mirror (default: $TF_PLUGIN_MIRROR, then found)")
    scan = commands.add_parser("scan", help="checkov (built-in + our SES policies) on synthesized stacks")
    scan.add_argument("--checkov", required=True, help="checkov executable (from its own virtualenv)")
    scan.add_argument("--out", default=str(REPO_ROOT / "cdktf.out"))
    scan.add_argument("--sarif", type=Path, help="also write the results as SARIF 2.1.0 (code scanning)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command in ("tf-check", "scan"):
        return _tools(args)
    out = Path(args.out)

    from modules.config import ConfigError, load_env
    from modules.platform import terraform

    if args.command in ("plan", "apply") and terraform.find_binary() is None:
        return terraform.run(args.command, out, args.extra)  # says so before spending a synth
    try:
        env = load_env(Path(args.envs_dir) / args.env, display_root=REPO_ROOT)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"{len(exc.problems)} problem(s) in environment {args.env!r}; nothing synthesized.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.command == "validate":
        print(f"{args.env}: valid ({len(env.stacks())} stack(s), {len(env.domains)} domain(s))")
        return 0
    quiet = args.command != "synth" or args.quiet
    code = synthesize(env, out, as_json=args.command == "synth" and args.json, quiet=quiet)
    if code or args.command == "synth":
        return code
    return terraform.run(args.command, out, args.extra)


def _tools(args: argparse.Namespace) -> int:
    """The commands that run a tool on synthesized stacks: checkov, terraform."""
    if args.command == "scan":
        from modules.platform.scan import run_checkov

        return run_checkov(args.checkov, Path(args.out), args.sarif)
    from modules.platform.tf_check import run

    envs_dir = Path(args.envs_dir)
    envs = args.env or sorted(p.name for p in envs_dir.iterdir() if p.is_dir() and any(p.glob("*.hcl")))
    return run(envs, envs_dir=envs_dir, work=Path(args.work), mirror=args.mirror, repo_root=REPO_ROOT)


if __name__ == "__main__":
    sys.exit(main())

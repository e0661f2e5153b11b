"""The envs next to an env that share one of its AWS accounts: ``synth`` checks names across them.

Two envs in one account (staging and prod, say) must not both create one SES identity,
configuration set, DNS record or any other name AWS keeps unique there; each env alone passes its
own check. Only envs that declare one of the env's account ids are synthesized for this (in a
temporary folder), so envs in accounts of their own cost nothing.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

from modules.config import ConfigError, EnvConfig, load_env
from modules.naming.check import StackDocument, read_stacks


def sibling_stacks(env: EnvConfig, *, repo_root: Path) -> tuple[list[StackDocument], list[str]]:
    """The synthesized stacks of every env beside ``env`` (same parent folder) that declares one
    of its account ids, and a note for each such env that could not be checked. Their files are
    shown relative to the same root as ``env``'s."""
    from modules.platform.app import build_app

    folder = Path(env.directory).resolve()
    display_root = _display_root(folder, PurePath(env.directory_display), repo_root)
    mine = {account.id for account in env.accounts}
    stacks: list[StackDocument] = []
    notes: list[str] = []
    for other in sorted(folder.parent.iterdir()):
        if other.resolve() == folder or not other.is_dir() or not _declares_account(other, mine):
            continue  # none of our account ids in its files: no need to parse it (synth stays fast)
        try:
            sibling = load_env(other, display_root=display_root)
        except ConfigError:
            notes.append(
                f"{other.name}: shares an account but does not validate; names not checked against it"
            )
            continue
        if not mine & {account.id for account in sibling.accounts}:
            continue
        with tempfile.TemporaryDirectory(prefix="ses-platform-sibling-") as tmp:
            try:
                app, _ = build_app(sibling, Path(tmp) / "out", repo_root=repo_root)
            except ValueError:
                notes.append(
                    f"{sibling.directory_display}: shares an account but does not synthesize; not checked"
                )
                continue
            app.synth()
            stacks += read_stacks(Path(tmp) / "out", sibling.directory_display)
    return stacks, notes


def _declares_account(folder: Path, ids: set[str]) -> bool:
    text = "".join(path.read_text(encoding="utf-8", errors="replace") for path in folder.glob("*.hcl"))
    return any(account_id in text for account_id in ids)


def _display_root(folder: Path, shown: PurePath, fallback: Path) -> Path:
    """The root ``folder`` is shown relative to (``envs/prod`` under the repo → the repo)."""
    if shown.is_absolute() or folder.parts[-len(shown.parts) :] != shown.parts:
        return fallback  # shown as an absolute path: siblings outside it will be too
    return folder.parents[len(shown.parts) - 1]

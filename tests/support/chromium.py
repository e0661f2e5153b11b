"""Headless Chromium for tests that check what a reader sees: Debian's ``chromium`` package.

``make browser`` installs it (``python -m tests.support.chromium``: root and apt-get, as on the
CI machine, which runs it before ``make test``); the tests only look for it and are skipped,
saying so, where it is missing. Installing is a set-up step, not something a test run does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
INSTALL_TIMEOUT_SECONDS = 900


def find() -> str | None:
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


def ensure() -> tuple[str | None, str]:
    """The browser's path, installing Debian's package if needed; else ``(None, why not)``.
    For ``make browser`` only."""
    found = find()
    if found:
        return found, ""
    if not shutil.which("apt-get"):
        return None, "chromium is not installed and there is no apt-get to install it"
    if os.geteuid() != 0:
        return None, "chromium is not installed and installing it needs root (apt-get install -y chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log = []
    for command in (
        ["apt-get", "install", "-y", "-q", "chromium"],
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "chromium"],
    ):
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_SECONDS, check=False
        )
        log.append(done.stderr[-500:])
        if command[1] == "install" and done.returncode == 0:
            break
    found = find()
    return (found, "") if found else (None, "apt-get install chromium failed: " + " | ".join(log))


def visible_text(browser: str, html: str, workdir: Path) -> str:
    """The page's rendered text (``document.body.innerText``: what is laid out and visible, table
    cells tab-separated, rows on lines), read back through ``--dump-dom``. A probe script is added
    to a copy of the page; the page itself has none."""
    probe = (
        "<script>window.addEventListener('load',()=>{const t=document.body.innerText;"
        "document.body.textContent='';const p=document.createElement('pre');p.id='seen';"
        "p.textContent=t;document.body.appendChild(p);});</script>"
    )
    page = workdir / "page.html"
    page.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
    dom = _run(browser, workdir, "--dump-dom", "--virtual-time-budget=2000", page.as_uri())
    start, end = dom.index('<pre id="seen">') + len('<pre id="seen">'), dom.rindex("</pre>")
    import html as html_lib

    return html_lib.unescape(dom[start:end])


def screenshot(browser: str, html: str, workdir: Path, *, width: int = 1280, height: int = 1800) -> Path:
    page = workdir / "shot.html"
    page.write_text(html, encoding="utf-8")
    target = workdir / "report.png"
    _run(browser, workdir, f"--screenshot={target}", f"--window-size={width},{height}", page.as_uri())
    return target


def _run(browser: str, workdir: Path, *args: str) -> str:
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={workdir / 'profile'}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


def main() -> int:
    """``make browser``: 0 with the browser's path printed, 1 saying why it could not be had."""
    path, why = ensure()
    print(path or f"no browser: {why}")
    return 0 if path else 1


if __name__ == "__main__":
    raise SystemExit(main())

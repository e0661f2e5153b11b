"""Child processes of a wire run: each one ``python -m <module>`` with exactly the environment we
give it, its output in a log file, and a sure way to end it.

Why processes and not threads: Lambda runs each function instance in its own process, with its
own environment, module globals (the handlers cache their clients per container) and GIL; the
stand-ins get their own processes too, so a busy benchmark process cannot delay the clock that
stamps SES arrivals. Why files for ports and readiness: a child binds port 0 (a free port chosen
by the kernel, no race with other work on the machine) and says which one it got by writing a
file atomically; stdout stays free for the handlers' JSON logs. Why a parent watch in every
child: a benchmark killed hard (SIGKILL, a CI timeout) must not leave servers or workers running
and holding ports or CPU; each child exits on its own once its parent is gone or its time is up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[3]
LOOPBACK = "127.0.0.1"
# Kept from the parent's environment: enough to run Python, nothing that points boto3 elsewhere.
_PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "HOME", "TMPDIR", "TZ")


def base_environment() -> dict[str, str]:
    """What every child gets besides its own variables (no AWS_* from the machine, ever)."""
    env = {name: os.environ[name] for name in _PASSED_THROUGH if name in os.environ}
    env["PYTHONPATH"] = str(REPO_ROOT)
    env["PYTHONUNBUFFERED"] = "1"  # log lines reach the file as they happen, also when killed
    return env


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    restart: bool
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)


class ProcessGroup:
    """All processes of one run. ``stop`` (also on ``__exit__``, whatever happened) sends SIGTERM,
    waits ``grace`` seconds for all of them together, then SIGKILLs the rest; only the pids it
    started are ever signalled."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.children: dict[str, Child] = {}

    def start(
        self,
        name: str,
        module: str,
        args: Sequence[str] = (),
        *,
        env: Mapping[str, str],
        restart: bool = False,
    ) -> Child:
        if name in self.children:
            raise ValueError(f"a child named {name!r} exists already")
        child = Child(
            name=name,
            argv=[sys.executable, "-m", module, *args],
            env={**base_environment(), **env},
            log_path=self.run_dir / f"{name}.log",
            restart=restart,
        )
        self.children[name] = child
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        child.log = child.log or child.log_path.open("ab")
        child.process = subprocess.Popen(
            child.argv,
            env=child.env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C to the benchmark reaches us, and we stop them
        )
        child.starts += 1

    def supervise(self) -> list[str]:
        """Restart children that exited and may be restarted (Lambda replaces a dead sandbox
        with a cold one); returns the names restarted."""
        restarted = []
        for child in self.children.values():
            if child.process is None or child.process.poll() is None:
                continue
            code = child.process.returncode
            if child.restart and code != 0:
                child.exit_codes.append(code)
                self._spawn(child)
                restarted.append(child.name)
        return restarted

    def alive(self, names: Iterable[str] | None = None) -> list[str]:
        chosen = self.children if names is None else {n: self.children[n] for n in names}
        return [n for n, c in chosen.items() if c.process is not None and c.process.poll() is None]

    def stop(self, names: Iterable[str] | None = None, *, grace: float = 10.0) -> None:
        chosen = [self.children[n] for n in (names if names is not None else list(self.children))]
        running = [c for c in chosen if c.process is not None and c.process.poll() is None]
        for child in running:
            _signal(child, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(child, signal.SIGKILL)
                child.process.wait(timeout=10)
        for child in chosen:
            if child.process is not None and child.process.returncode is not None:
                child.exit_codes.append(child.process.returncode)
                child.process = None  # recorded once, also when stop() runs again on exit
            child.restart = False
            if child.log is not None:
                child.log.close()
                child.log = None

    def __enter__(self) -> ProcessGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(grace=5.0)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) of each running child so far, from /proc (Linux)."""
        ticks = os.sysconf("SC_CLK_TCK")
        out = {}
        for name, child in self.children.items():
            if child.process is None or child.process.poll() is not None:
                continue
            try:
                fields = Path(f"/proc/{child.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[name] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
        return out

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.children[name].log_path
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def wait_for_file(self, name: str, path: Path, timeout: float = 60.0) -> str:
        """The content of ``path`` once the child ``name`` wrote it; raises (with the child's log
        tail) if the child died first or time ran out."""
        deadline = time.monotonic() + timeout
        child = self.children[name]
        while time.monotonic() < deadline:
            if path.exists():
                return path.read_text()
            if child.process is not None and child.process.poll() is not None:
                raise RuntimeError(f"{name} exited with {child.process.returncode}:\n{self.tail(name)}")
            time.sleep(0.05)
        raise TimeoutError(f"{name} wrote no {path.name} within {timeout:g} s:\n{self.tail(name)}")


def _signal(child: Child, signum: int) -> None:
    assert child.process is not None
    with contextlib.suppress(ProcessLookupError):  # it ended between poll and signal
        child.process.send_signal(signum)


# -- the child's side -----------------------------------------------------------------------------


def write_file_atomically(path: Path, text: str) -> None:
    """Readers polling for ``path`` never see it half written."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def watch_parent(max_seconds: float, *, on_exit: Any = None) -> None:
    """Exit this process when its parent is gone or after ``max_seconds``, whichever comes first."""
    parent = os.getppid()
    deadline = time.monotonic() + max_seconds

    def watch() -> None:
        while os.getppid() == parent and time.monotonic() < deadline:
            time.sleep(0.5)
        if on_exit is not None:
            on_exit()
        os._exit(0 if time.monotonic() >= deadline else 70)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()

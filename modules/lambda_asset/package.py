"""Package one ``functions/<job>`` as a Lambda zip that is byte-for-byte reproducible.

The zip keeps the package path (``functions/__init__.py``, ``functions/common/…``,
``functions/<job>/…``), so ``import functions.common.log`` works the same in tests and in Lambda,
and the handler is ``functions.<job>.handler.lambda_handler``. It holds exactly the modules the
handler imports, directly or through each other (found by reading their ``import`` statements,
lazy ones included), plus their packages' ``__init__.py``: no READMEs, no producer-side helpers,
no shared module the job does not use.

Reproducible means: the same source files give the same bytes on any machine, so
``source_code_hash`` only changes when the code does and plans never show a perpetual diff.
Entries are sorted, every timestamp is 1980-01-01 00:00 (the earliest a zip can hold), every file
is mode 0644 from a Unix "creator", and nothing compiled (``__pycache__``, ``*.pyc``) or hidden
goes in. Entries are *stored*, not deflated: deflate output depends on the zlib build (zlib-ng and
classic zlib differ), and the jobs are a few dozen kilobytes of source.

Pure Python, no cdktn import.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import re
import stat
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "functions"
SHARED = "common"  # functions/common/: runtime code every job may import
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
_JOB = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class LambdaPackage:
    """A job's zip and what a Lambda function needs to know about it."""

    job: str
    zip_bytes: bytes
    entries: tuple[str, ...]  # archive paths, in zip order

    @property
    def handler(self) -> str:
        return f"{PACKAGE}.{self.job}.handler.lambda_handler"

    @property
    def source_code_hash(self) -> str:
        """Base64 SHA-256 of the zip: what Terraform's ``filebase64sha256`` of the file gives."""
        return base64.b64encode(hashlib.sha256(self.zip_bytes).digest()).decode("ascii")

    @property
    def file_name(self) -> str:
        return f"{self.job}.zip"


def package_job(job: str, *, source_root: Path = REPO_ROOT) -> LambdaPackage:
    """Zip ``functions/<job>/handler.py`` and every ``functions`` module it needs.

    Raises:
        ValueError: the job name is not a Python package name, is the shared package, or has no
            ``functions/<job>/__init__.py`` under ``source_root``.
    """
    if not _JOB.fullmatch(job) or job == SHARED:
        raise ValueError(f"job must be a package name under {PACKAGE}/ other than {SHARED!r}, got {job!r}")
    package = source_root / PACKAGE
    for required in (package / "__init__.py", package / job / "__init__.py", package / job / "handler.py"):
        if not required.is_file():
            raise ValueError(f"job {job!r}: {required} is missing")
    files = sorted(_import_closure(source_root, f"{PACKAGE}.{job}.handler"))
    return LambdaPackage(job=job, zip_bytes=build_zip(files), entries=tuple(name for name, _ in files))


def build_zip(files: Sequence[tuple[str, Path]]) -> bytes:
    """A zip of ``(archive path, source file)`` pairs, in the given order, with fixed metadata."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3  # Unix, so external_attr carries the mode on every platform
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            archive.writestr(info, path.read_bytes())
    return buffer.getvalue()


def _import_closure(source_root: Path, entry: str) -> set[tuple[str, Path]]:
    """(archive path, file) of ``entry`` and every ``functions.*`` module it imports, transitively."""
    found: set[tuple[str, Path]] = set()
    pending, seen = [entry], set()
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_file(source_root, module)
        if path is None:
            continue
        parts = module.split(".")
        for depth in range(1, len(parts)):  # every enclosing package's __init__.py
            init = source_root.joinpath(*parts[:depth], "__init__.py")
            if init.is_file():
                found.add(("/".join([*parts[:depth], "__init__.py"]), init))
        found.add((path.relative_to(source_root).as_posix(), path))
        pending += _imports(path, module, is_package=path.name == "__init__.py")
    return found


def _module_file(source_root: Path, module: str) -> Path | None:
    base = source_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str, *, is_package: bool) -> list[str]:
    """The ``functions.*`` modules ``path`` imports anywhere in its body (absolute or relative)."""
    names: list[str] = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.append(base)
            names += [f"{base}.{alias.name}" for alias in node.names]  # `from pkg import module`
    return [name for name in names if name == PACKAGE or name.startswith(f"{PACKAGE}.")]

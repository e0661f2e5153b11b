"""Package one ``functions/<job>`` as a Lambda zip that is byte-for-byte reproducible.

The zip keeps the package path: ``functions/__init__.py``, ``functions/common/**`` and
``functions/<job>/**``, so ``import functions.common.log`` works the same in tests and in Lambda,
and the handler is ``functions.<job>.handler.lambda_handler``.

Reproducible means: the same source files give the same bytes on any machine, so
``source_code_hash`` only changes when the code does and plans never show a perpetual diff.
Entries are sorted, every timestamp is 1980-01-01 00:00 (the earliest a zip can hold), every file
is mode 0644 from a Unix "creator", and nothing compiled (``__pycache__``, ``*.pyc``) or hidden
goes in. Entries are *stored*, not deflated: deflate output depends on the zlib build (zlib-ng and
classic zlib differ), and the jobs are a few dozen kilobytes of source.

Pure Python, no cdktn import.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import stat
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "functions"
SHARED = "common"  # functions/common/: runtime code every job may import
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
_EXCLUDED_DIRS = frozenset({"__pycache__"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
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
    """Zip ``functions/<job>`` with ``functions/__init__.py`` and ``functions/common/``.

    Raises:
        ValueError: the job name is not a Python package name, is the shared package, or has no
            ``functions/<job>/__init__.py`` under ``source_root``.
    """
    if not _JOB.fullmatch(job) or job == SHARED:
        raise ValueError(f"job must be a package name under {PACKAGE}/ other than {SHARED!r}, got {job!r}")
    package = source_root / PACKAGE
    for required in (package / "__init__.py", package / job / "__init__.py"):
        if not required.is_file():
            raise ValueError(f"job {job!r}: {required} is missing")
    files = [(f"{PACKAGE}/__init__.py", package / "__init__.py")]
    for folder in (SHARED, job):
        files += list(_tree(package / folder, f"{PACKAGE}/{folder}"))
    files.sort(key=lambda item: item[0])
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


def _tree(folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    if not folder.is_dir():
        return
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part in _EXCLUDED_DIRS or part.startswith(".") for part in relative.parts):
            continue
        if path.suffix in _EXCLUDED_SUFFIXES or not path.is_file():
            continue
        yield f"{prefix}/{relative.as_posix()}", path

"""The README's job ↔ construct table says what the code does: every ``functions/<job>/`` has a
row, and the construct a row names is the one that zips that job."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| `(?P<job>[a-z_]+)` \| [^|]+ \| (?P<construct>`[a-z_]+`|none[^|]*) \|$")


def readme_rows() -> dict[str, str | None]:
    rows: dict[str, str | None] = {}
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            construct = match["construct"]
            rows[match["job"]] = construct.strip("`") if construct.startswith("`") else None
    return rows


def zipped_by() -> dict[str, set[str]]:
    """Per job, the module packages that declare it as a Lambda job (``..._JOB = "<job>"``)."""
    found: dict[str, set[str]] = {}
    for path in (REPO / "modules").rglob("*.py"):
        for match in re.finditer(r'^\w*JOB = "([a-z_]+)"', path.read_text(encoding="utf-8"), re.M):
            found.setdefault(match[1], set()).add(path.relative_to(REPO / "modules").parts[0])
    return found


def test_every_function_package_has_a_row_and_every_row_a_package() -> None:
    packages = {p.name for p in (REPO / "functions").iterdir() if (p / "__init__.py").exists()}
    assert set(readme_rows()) == packages


def test_each_row_names_the_construct_that_zips_the_job() -> None:
    rows, declared = readme_rows(), zipped_by()
    for job, construct in rows.items():
        if construct is None:
            assert job not in declared, f"{job} is zipped by {declared.get(job)}; the README says none"
        else:
            assert declared.get(job) == {construct}, (
                f"{job}: README says {construct}, code says {declared.get(job)}"
            )

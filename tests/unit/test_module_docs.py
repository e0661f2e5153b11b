"""The module READMEs: one shape of sections, and their generated tables (``modules/shared/docs.py``)
say what the code says."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from modules.shared import docs

REPO = Path(__file__).resolve().parents[2]
READMES = docs.readmes()
SECTIONS = ["Use", "Inputs", "Outputs", "Resources", "Decisions", "Checkov skips"]


def _top_level_sections(text: str) -> list[str]:
    """The ``## `` headings of a Markdown text, outside fenced code blocks."""
    headings, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            headings.append(line[3:].strip())
    return headings


def _props_classes() -> set[str]:
    """Every dataclass defined in a ``modules/*/props.py``, read from the source."""
    found = set()
    for path in sorted((REPO / "modules").glob("*/props.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef) and any(
                "dataclass" in ast.unparse(decorator) for decorator in node.decorator_list
            ):
                found.add(node.name)
    return found


def test_every_module_with_a_construct_has_a_readme() -> None:
    with_construct = {path.parent.name for path in (REPO / "modules").glob("*/construct.py")}
    assert with_construct <= {path.parent.name for path in READMES}


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.parent.name)
def test_every_module_readme_has_the_six_sections_in_order_and_no_others(readme: Path) -> None:
    assert _top_level_sections(readme.read_text(encoding="utf-8")) == SECTIONS


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.parent.name)
def test_every_module_readme_title_names_its_folder(readme: Path) -> None:
    title = readme.read_text(encoding="utf-8").splitlines()[0]
    assert re.fullmatch(rf"# \S.* \(`modules/{readme.parent.name}/`\)", title), title


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.parent.name)
def test_every_module_readme_inputs_table_matches_its_props(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    assert docs.render(readme) == text, f"run: python -m modules.shared.docs --write ({readme.parent.name})"


@pytest.mark.parametrize("readme", READMES, ids=lambda path: path.parent.name)
def test_every_module_readme_lists_its_checkov_skips_in_its_skips_section(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    assert [m["name"] for m in docs.SKIPS.finditer(text)] == [readme.parent.name]
    skips_section = text.split("\n## Checkov skips\n", 1)[1]
    assert f"<!-- skips:{readme.parent.name} -->" in skips_section


def test_every_props_class_appears_in_some_readme_inputs_marker() -> None:
    marked = {
        m["name"] for readme in READMES for m in docs.INPUTS.finditer(readme.read_text(encoding="utf-8"))
    }
    assert _props_classes() - marked == set()


def test_the_skips_of_a_module_come_from_its_own_and_its_imported_skip_dicts() -> None:
    ids = {(s.check_id, s.resource) for s in docs.module_skips("smtp_user")}
    assert ("CKV_AWS_273", "aws_iam_user") in ids  # written by hand on the IAM user
    assert ("CKV_AWS_116", "aws_lambda_function") in ids  # passed to the rotation function
    scheduled = docs.module_skips("suppression_cleanup")
    assert {s.declared_in for s in scheduled} == {"`SCHEDULED_CHECKOV_SKIPS` (`modules/shared/scheduled.py`)"}
    assert docs.module_skips("tenant") == []


def test_the_check_lists_a_stale_readme_and_the_write_mends_it(tmp_path: Path) -> None:
    readme = tmp_path / "tenant" / "README.md"
    readme.parent.mkdir()
    readme.write_text("x\n<!-- inputs:TenantProps -->\nold\n<!-- /inputs -->\n", encoding="utf-8")
    assert docs.stale([readme]) == [readme]
    readme.write_text(docs.render(readme), encoding="utf-8")
    assert docs.stale([readme]) == []
    assert "| `tenant_name` | `str` | required |" in readme.read_text(encoding="utf-8")


# --- the generator's parsing, on dataclasses of its own -----------------------------------------


@dataclass(frozen=True, kw_only=True)
class Sample:
    """A sample.

    Attributes:
        name: the sample's name, which runs on
            over two lines | with a pipe.
        first / second: two fields, one description.
        limits: upper bounds by key. Default - none.
        ratio (float): a typed entry. Default 0.5.

    Raises:
        ValueError: never; this section is not the fields'.
    """

    name: str
    first: int
    second: int | None = None
    limits: Mapping[str, int] = field(default_factory=dict)
    ratio: float = 0.5


@dataclass(frozen=True)
class Undescribed:
    """Args:
    described: has a description.
    """

    described: str
    forgotten: tuple[str, ...] = ("a",)


def test_a_description_continued_on_indented_lines_is_joined_and_other_sections_ignored() -> None:
    described = docs.field_descriptions(Sample)
    assert described["name"] == "the sample's name, which runs on over two lines | with a pipe."
    assert described["first"] == described["second"] == "two fields, one description."
    assert described["ratio"] == "a typed entry. Default 0.5."
    assert "ValueError" not in described


def test_the_inputs_table_has_a_row_per_field_in_declaration_order() -> None:
    rows = docs.inputs_table(Sample).splitlines()
    assert rows[0] == "| Name | Type | Default | Description |"
    assert rows[2:] == [
        "| `name` | `str` | required | the sample's name, which runs on over two lines \\| with a pipe. |",
        "| `first` | `int` | required | two fields, one description. |",
        "| `second` | `int \\| None` | `None` | two fields, one description. |",
        "| `limits` | `Mapping[str, int]` | `{}` | upper bounds by key. Default - none. |",
        "| `ratio` | `float` | `0.5` | a typed entry. Default 0.5. |",
    ]


def test_a_field_without_a_description_raises_naming_it() -> None:
    with pytest.raises(docs.DocsError, match="forgotten"):
        docs.inputs_table(Undescribed)


def test_a_description_of_no_field_raises() -> None:
    @dataclass
    class Stale:
        """Attributes:
        kept: still here.
        removed: gone from the code.
        """

        kept: int

    with pytest.raises(docs.DocsError, match="removed"):
        docs.inputs_table(Stale)

"""The generated tables of the module READMEs: each props dataclass's inputs, each module's checkov skips.

A README marks a table with a pair of comments and this module writes what lies between them::

    <!-- inputs:CapacitySliceProps -->
    ...one row per field: name, type as annotated, default, the docstring's description...
    <!-- /inputs -->

    <!-- skips:capacity_slice -->
    ...one row per checkov skip the module's code declares: check, resource, reason, where...
    <!-- /skips -->

The inputs come from the dataclass itself (fields in declaration order, ``from __future__ import
annotations`` keeps each type as written) and the ``Attributes:`` (or ``Args:``) section of its
docstring, Google style (``name: text``, continued on deeper-indented lines; ``a / b: text`` and
``a, b: text`` describe several fields). A field without a description raises, so a new field
cannot reach a README undocumented. The skips are read from the source, not imported: every
module-level dict named ``*CHECKOV_SKIPS`` that a module's files define or import, its values
resolved through string constants (``CODE_SIGNING``). Pure Python: importing a props module costs
no cdktn start-up (a props class that lives in a ``construct.py`` does).

``python -m modules.shared.docs --write`` regenerates every marked table; ``--check`` exits 1 and
lists the READMEs whose tables differ from the code.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import importlib
import inspect
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

MODULES = Path(__file__).resolve().parents[1]
ROOT = MODULES.parent

INPUTS = re.compile(r"(<!-- inputs:(?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /inputs -->)", re.DOTALL)
SKIPS = re.compile(r"(<!-- skips:(?P<name>\w+) -->\n)(?P<body>.*?)(<!-- /skips -->)", re.DOTALL)

_SECTION = re.compile(r"^(?:Attributes|Args):\s*$")
_ENTRY = re.compile(r"^(?P<names>\w+(?:\s*[/,]\s*\w+)*)\s*(?:\([^)]*\))?:(?:\s+(?P<text>.*))?$")
_SKIPS_NAME = re.compile(r"^\w*CHECKOV_SKIPS$")
# What a skip dict passed as ``checkov_skips=`` lands on: the construct or props it is handed to.
_SKIP_TARGETS = {"PythonFunctionProps": "aws_lambda_function", "SecureBucket": "aws_s3_bucket"}


class DocsError(ValueError):
    """A table cannot be generated: a field without a description, an unknown class or module."""


# --- inputs ---------------------------------------------------------------------------------------


def field_descriptions(cls: type) -> dict[str, str]:
    """``{field name: description}`` from the ``Attributes:`` / ``Args:`` section of ``cls``'s docstring.

    Continuation lines are joined with single spaces; ``a / b: text`` gives ``a`` and ``b`` the same
    text. A docstring without such a section gives ``{}``.
    """
    # The raw docstring, not inspect.getdoc: a section that starts on the docstring's first line
    # keeps its entries deeper than itself only before cleandoc strips the common indent.
    lines = (cls.__doc__ or "").expandtabs().splitlines()
    start = next((i for i, line in enumerate(lines) if _SECTION.match(line.strip())), None)
    if start is None:
        return {}
    section_indent = _indent(lines[start])
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    entry_indent: int | None = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = _indent(line)
        if indent <= section_indent:  # back at the section's margin: the section is over
            break
        entry_indent = indent if entry_indent is None else entry_indent
        if indent < entry_indent:
            break
        if indent == entry_indent:
            match = _ENTRY.match(line.strip())
            if match is None:
                raise DocsError(f"{cls.__name__}: cannot read docstring line {line.strip()!r}")
            current = [match["text"] or ""]
            for name in re.split(r"\s*[/,]\s*", match["names"]):
                found[name] = current  # the same list: a continuation belongs to every name
        elif current is not None:
            current.append(line.strip())
    return {name: " ".join(part for part in parts if part) for name, parts in found.items()}


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _type_text(annotation: Any) -> str:
    if isinstance(annotation, str):  # ``from __future__ import annotations``: as written
        return annotation
    return inspect.formatannotation(annotation)


def _field_default(item: dataclasses.Field[Any]) -> Any:
    """The field's default value (calling its factory), or ``MISSING`` for a required field."""
    if item.default is not dataclasses.MISSING:
        return item.default
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory()
    return dataclasses.MISSING


def _short(value: Any) -> str:
    """``repr`` without what the reader knows already: a dataclass shows only the fields that
    differ from their defaults; a path inside this repository is shown relative to it."""
    if isinstance(value, Path) and value.is_relative_to(ROOT):
        relative = value.relative_to(ROOT)
        return "<repository>" if relative == Path() else f"<repository>/{relative.as_posix()}"
    if isinstance(value, list):
        return "[" + ", ".join(_short(item) for item in value) + "]"
    if isinstance(value, tuple):
        items = [_short(item) for item in value]
        return f"({items[0]},)" if len(items) == 1 else "(" + ", ".join(items) + ")"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = [
            f"{item.name}={_short(getattr(value, item.name))}"
            for item in dataclasses.fields(value)
            if getattr(value, item.name) != _field_default(item)
        ]
        return f"{type(value).__name__}({', '.join(changed)})"
    return repr(value)


def _default_text(item: dataclasses.Field[Any]) -> str:
    default = _field_default(item)
    return "required" if default is dataclasses.MISSING else f"`{_short(default)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def inputs_table(cls: type) -> str:
    """The Markdown inputs table of the dataclass ``cls``, one row per field in declaration order.

    Raises:
        DocsError: ``cls`` is not a dataclass, or a field has no description in its docstring.
    """
    if not dataclasses.is_dataclass(cls):
        raise DocsError(f"{cls.__name__} is not a dataclass")
    described = field_descriptions(cls)
    fields = dataclasses.fields(cls)
    missing = [f.name for f in fields if not described.get(f.name)]
    if missing:
        raise DocsError(
            f"{cls.__module__}.{cls.__name__}: no description in the docstring's Attributes section "
            f"for {', '.join(missing)}"
        )
    unknown = sorted(set(described) - {f.name for f in fields})
    if unknown:
        raise DocsError(
            f"{cls.__module__}.{cls.__name__}: the docstring describes no field {', '.join(unknown)}"
        )
    rows = ["| Name | Type | Default | Description |", "| --- | --- | --- | --- |"]
    for item in fields:
        cells = (f"`{item.name}`", f"`{_cell(_type_text(item.type))}`", _cell(_default_text(item)))
        rows.append(f"| {' | '.join(cells)} | {_cell(described[item.name])} |")
    return "\n".join(rows) + "\n"


def find_props_class(module_dir: str, name: str) -> type:
    """The class ``name`` of ``modules/<module_dir>/``: its ``props.py`` first, then ``construct.py``."""
    for leaf in ("props", "construct"):
        if not (MODULES / module_dir / f"{leaf}.py").is_file():
            continue
        found = getattr(importlib.import_module(f"modules.{module_dir}.{leaf}"), name, None)
        if isinstance(found, type):
            return found
    raise DocsError(f"modules/{module_dir}/ defines no class {name} in props.py or construct.py")


# --- checkov skips --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Skip:
    """One checkov skip: the check, the reason, the resource type it is put on and where it is declared."""

    check_id: str
    reason: str
    resource: str
    declared_in: str


def _module_file(dotted: str) -> Path:
    path = ROOT.joinpath(*dotted.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _constant(path: Path, name: str, seen: frozenset[tuple[Path, str]] = frozenset()) -> tuple[Any, Path]:
    """The value of module-level ``name`` in ``path``, evaluated from the source (literals, string
    constants, names bound in that file or imported from another module here) and the file it is in."""
    if (path, name) in seen:
        raise DocsError(f"{path.relative_to(ROOT)}: {name} refers to itself")
    seen = seen | {(path, name)}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return _evaluate(node.value, path, seen), path
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            if node.value is None:
                break
            return _evaluate(node.value, path, seen), path
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    return _constant(_module_file(node.module), alias.name, seen)
    raise DocsError(f"{path.relative_to(ROOT)}: no module-level {name}")


def _evaluate(node: ast.expr, path: Path, seen: frozenset[tuple[Path, str]]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _constant(path, node.id, seen)[0]
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {
            _evaluate(k, path, seen): _evaluate(v, path, seen)
            for k, v in zip(node.keys, node.values, strict=True)
            if k is not None
        }
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _evaluate(node.left, path, seen) + _evaluate(node.right, path, seen)
    raise DocsError(
        f"{path.relative_to(ROOT)}:{node.lineno}: cannot read {ast.unparse(node)} without running it"
    )


def _resource_type(class_name: str) -> str:
    """``IamUser`` → ``aws_iam_user``: a cdktn AWS provider class's Terraform resource type."""
    return "aws_" + re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower()


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )
    return None


def _passed_skips(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[tuple[str, str]]:
    """``checkov_skips=NAME`` keywords in ``function``: the dict lands on what the call builds."""
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        for keyword in node.keywords:
            if keyword.arg == "checkov_skips" and isinstance(keyword.value, ast.Name):
                callee = _call_name(node) or "?"
                if callee not in _SKIP_TARGETS:
                    raise DocsError(
                        f"{keyword.value.id} is passed to {callee}: add its resource type to _SKIP_TARGETS"
                    )
                yield keyword.value.id, _SKIP_TARGETS[callee]


def _override_target(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The class of the one resource ``function`` writes a ``"//.checkov"`` override on, if any."""
    assigned: dict[str, str] = {}
    targets: set[str | None] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and (callee := _call_name(node.value)):
            assigned.update((ast.unparse(target), callee) for target in node.targets)
    for node in ast.walk(function):
        func = node.func if isinstance(node, ast.Call) else None
        if isinstance(func, ast.Attribute) and func.attr == "add_override" and isinstance(node, ast.Call):
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and first.value == "//.checkov":
                targets.add(assigned.get(ast.unparse(func.value)))
    if len(targets) != 1 or None in targets:
        return None
    return targets.pop()


def _skip_uses(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """``(skips dict name, resource type)`` for each use of a ``*CHECKOV_SKIPS`` name in a module.

    A dict passed as ``checkov_skips=`` lands on what that call builds (``_SKIP_TARGETS``); one
    written into ``<target>.add_override("//.checkov", ...)`` by hand lands on ``<target>``, whose
    type is the class assigned to it in the same function. Any other use raises.
    """
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        passed = dict(_passed_skips(function))
        yield from passed.items()
        used = {
            node.id
            for node in ast.walk(function)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and _SKIPS_NAME.match(node.id)
        }
        for name in sorted(used - set(passed)):
            target = _override_target(function)
            if target is None:
                raise DocsError(f"{name} is used in {function.name} without one resource it lands on")
            yield name, _resource_type(target)


def module_skips(module_dir: str) -> list[Skip]:
    """Every checkov skip the files of ``modules/<module_dir>/`` put on a resource, each dict once."""
    skips: dict[tuple[str, str], Skip] = {}
    for path in sorted((MODULES / module_dir).glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name, resource in _skip_uses(tree):
            value, where = _constant(path, name)
            if not isinstance(value, dict):
                raise DocsError(f"{path.relative_to(ROOT)}: {name} is not a dict of check id → reason")
            declared = f"`{name}` (`{where.relative_to(ROOT)}`)"
            for check_id, reason in value.items():
                skips.setdefault((declared, check_id), Skip(check_id, reason, resource, declared))
    return list(skips.values())


def skips_table(module_dir: str) -> str:
    """The Markdown table of ``module_dir``'s checkov skips, or a line saying there are none."""
    skips = module_skips(module_dir)
    if not skips:
        return "None: no resource of this module carries a checkov skip.\n"
    rows = ["| Check | Resource | Reason | Declared in |", "| --- | --- | --- | --- |"]
    rows += [
        f"| `{s.check_id}` | `{s.resource}` | {_cell(s.reason)} | {_cell(s.declared_in)} |" for s in skips
    ]
    return "\n".join(rows) + "\n"


# --- READMEs --------------------------------------------------------------------------------------


def readmes() -> list[Path]:
    """Every module README: ``modules/<dir>/README.md``."""
    return sorted(MODULES.glob("*/README.md"))


def render(readme: Path) -> str:
    """``readme``'s text with every marked table regenerated from the code."""
    module_dir = readme.parent.name
    text = readme.read_text(encoding="utf-8")

    def inputs(match: re.Match[str]) -> str:
        return match[1] + "\n" + inputs_table(find_props_class(module_dir, match["name"])) + "\n" + match[4]

    def skips(match: re.Match[str]) -> str:
        if match["name"] != module_dir:
            raise DocsError(
                f"{readme.relative_to(ROOT)}: skips:{match['name']} in the README of {module_dir}"
            )
        return match[1] + "\n" + skips_table(module_dir) + "\n" + match[4]

    return SKIPS.sub(skips, INPUTS.sub(inputs, text))


def stale(paths: Sequence[Path]) -> list[Path]:
    """The READMEs among ``paths`` whose generated tables differ from the code."""
    return [path for path in paths if render(path) != path.read_text(encoding="utf-8")]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m modules.shared.docs", description=__doc__.splitlines()[0]
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate every marked table in place")
    mode.add_argument("--check", action="store_true", help="exit 1 listing the READMEs that are stale")
    args = parser.parse_args(argv)
    if args.check:
        behind = stale(readmes())
        for path in behind:
            print(f"stale: {path.relative_to(ROOT)} (run python -m modules.shared.docs --write)")
        return 1 if behind else 0
    for path in readmes():
        text = render(path)
        if text != path.read_text(encoding="utf-8"):
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

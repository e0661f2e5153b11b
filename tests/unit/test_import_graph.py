"""The packages' import graph has no circles: data flows env → config → stack → constructs, and a
Lambda's code imports only what it runs. Every import counts - module level, inside a function,
and under ``TYPE_CHECKING`` - since each is a dependency a reader has to follow."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("modules", "functions")


def module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path], name: str) -> set[str]:
    """The project modules ``path`` imports (``from a.b import c`` counts ``a.b``, and ``a.b.c``
    when ``c`` is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against this module's package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(t for t in targets if t in modules and t != name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_circle_and_only_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set(), "c": {"b"}}) == []


def test_relative_and_aliased_imports_are_followed(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\nfrom .c import thing\nimport pkg.d as d\n")
    modules = {
        name: package / f"{name.rpartition('.')[2]}.py" for name in ("pkg.a", "pkg.b", "pkg.c", "pkg.d")
    }
    assert imports_of(package / "a.py", modules, "pkg.a") == {"pkg.b", "pkg.c", "pkg.d"}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_itself_in_a_circle(package: str) -> None:
    modules = module_files()
    graph = {name: imports_of(path, modules, name) for name, path in modules.items()}
    circles = [c for c in cycles(graph) if c[0].split(".")[0] == package]
    assert circles == [], f"import circles: {circles}"
    assert len([m for m in modules if m.startswith(f"{package}.")]) > 10  # the walk found the code


# Packages every construct may use, and the one that composes the features into stacks.
COMMON = {"shared", "alarms", "naming", "lambda_asset", "config", "checkov_policies", "platform"}
# A feature that takes another feature's constructs or values as its input (not a helper).
INPUTS = {
    ("capacity_slice", "identity"): "a slice sends as DomainIdentity constructs",
    ("smtp_user", "identity"): "an SMTP user sends as DomainIdentity constructs",
    ("heartbeat", "capacity_slice"): "the heartbeat shares the rate among CapacitySlice constructs",
    ("reputation", "configuration_set"): "alarms on configuration sets, at their levels",
}


def test_a_feature_module_takes_helpers_from_shared_not_from_another_feature() -> None:
    modules = module_files()
    found: dict[tuple[str, str], list[str]] = {}
    for name, path in modules.items():
        parts = name.split(".")
        if parts[0] != "modules" or len(parts) < 3 or parts[1] in COMMON:
            continue
        for target in imports_of(path, modules, name):
            other = target.split(".")[1] if target.count(".") >= 1 else ""
            if other and other != parts[1] and other not in COMMON:
                found.setdefault((parts[1], other), []).append(f"{name} -> {target}")
    unexpected = {pair: where for pair, where in found.items() if pair not in INPUTS}
    assert unexpected == {}, f"feature-to-feature imports (move the helper to modules/shared): {unexpected}"
    assert set(INPUTS) <= set(found), f"no longer needed: {set(INPUTS) - set(found)}"

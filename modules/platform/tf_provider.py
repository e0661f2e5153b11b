"""The AWS provider for ``tf-check``: where it comes from, which version, and what it knows.

Terraform installs providers from the registry, or from a filesystem mirror named in a CLI
configuration. Build machines without the registry keep one in a local mirror (here
``/opt/tf-plugins``); ``TF_PLUGIN_MIRROR`` (or ``make tf-check TF_PLUGIN_MIRROR=…``) names
another. The mirror may hold an older provider than the stacks pin: the check then overrides the
pin for itself only and leaves out what that provider lacks, decided from the provider's own
schema (``terraform providers schema -json``) against the names the cdktn bindings were
generated with (their docs link every argument to its registry page of the pinned version).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

NAMESPACE, TYPE = "hashicorp", "aws"
# Terraform's implied local mirror directories (CLI configuration docs), and this house's.
MIRROR_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_PACKED = re.compile(r"^terraform-provider-aws_(\d+\.\d+\.\d+)_[a-z0-9]+_[a-z0-9]+\.zip$")


def registry_host(binary: str) -> str:
    """The registry a bare ``hashicorp/aws`` means to this binary."""
    return "registry.opentofu.org" if Path(binary).name.startswith("tofu") else "registry.terraform.io"


@dataclass(frozen=True, kw_only=True)
class Mirror:
    """A filesystem mirror holding ``<host>/hashicorp/aws`` in one or more versions."""

    path: Path
    host: str
    versions: tuple[str, ...]  # oldest first

    @property
    def newest(self) -> str:
        return self.versions[-1]


def find_mirror(explicit: str | None, *, host: str) -> Mirror | None:
    """``explicit`` (or ``$TF_PLUGIN_MIRROR``) if it holds the AWS provider, else the first of
    :data:`MIRROR_CANDIDATES` that does; ``None`` means: use the registry. An explicit mirror
    without the provider is an error (``ValueError``), never a silent fall-back."""
    named = explicit or os.environ.get("TF_PLUGIN_MIRROR")
    if named:
        mirror = _read_mirror(Path(named).expanduser(), host)
        if mirror is None:
            raise ValueError(f"{named}: no {host}/{NAMESPACE}/{TYPE} provider in this mirror")
        return mirror
    for candidate in MIRROR_CANDIDATES:
        mirror = _read_mirror(Path(candidate).expanduser(), host)
        if mirror is not None:
            return mirror
    return None


def _read_mirror(path: Path, host: str) -> Mirror | None:
    provider = path / host / NAMESPACE / TYPE
    if not provider.is_dir():
        return None
    versions = {p.name for p in provider.iterdir() if p.is_dir() and _VERSION.match(p.name)}  # unpacked
    versions |= {m.group(1) for p in provider.iterdir() if (m := _PACKED.match(p.name))}  # packed
    if not versions:
        return None
    return Mirror(path=path, host=host, versions=tuple(sorted(versions, key=version_key)))


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def cli_config(mirror: Mirror) -> str:
    """A CLI configuration installing the AWS provider from ``mirror`` only (never the network)."""
    address = f"{mirror.host}/{NAMESPACE}/{TYPE}"
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror.path))}\n"
        f"    include = [{json.dumps(address)}]\n"
        "  }\n"
        "  direct {\n"
        f"    exclude = [{json.dumps(address)}]\n"
        "  }\n"
        "}\n"
    )


def provider_schema(binary: str, version: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """``terraform providers schema -json`` of ``hashicorp/aws`` ``version`` (cached in ``work``)."""
    cached = work / f"schema-{version}.json"
    if not cached.is_file():
        work.mkdir(parents=True, exist_ok=True)
        pin = {
            "terraform": {"required_providers": {TYPE: {"source": f"{NAMESPACE}/{TYPE}", "version": version}}}
        }
        (work / "main.tf.json").write_text(json.dumps(pin))

        def run(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(  # noqa: S603 - our own argv, no shell
                [binary, *argv], cwd=work, env=env, capture_output=True, text=True, check=False, timeout=600
            )

        init = run("init", "-input=false", "-no-color")
        if init.returncode != 0:
            raise RuntimeError(f"terraform init for the provider schema failed:\n{init.stdout}{init.stderr}")
        shown = run("providers", "schema", "-json")
        if shown.returncode != 0:
            raise RuntimeError(f"terraform providers schema failed:\n{shown.stderr}")
        cached.write_text(shown.stdout)
    schemas: dict[str, Any] = json.loads(cached.read_text())["provider_schemas"]
    return next(v for k, v in schemas.items() if k.endswith(f"/{NAMESPACE}/{TYPE}"))


@dataclass(frozen=True, kw_only=True)
class Bindings:
    """What the cdktn AWS bindings know of a resource or data source type: the provider version
    they were generated from and every argument name they document (at any nesting depth)."""

    version: str | None
    names: frozenset[str]

    @property
    def known(self) -> bool:
        return self.version is not None


@cache
def bindings(kind: str, rtype: str) -> Bindings:
    """The bindings' view of ``rtype`` (``kind`` ``resource`` or ``data``), read from the docs of
    its Python module (``cdktn_provider_aws/<name>/__init__.py``) without importing it (that
    would start jsii): each argument's doc links ``…/aws/<version>/docs/resources/<name>#<arg>``."""
    import importlib.util

    short = rtype.removeprefix("aws_")
    module = short if kind == "resource" else f"data_aws_{short}"
    spec = importlib.util.find_spec("cdktn_provider_aws")
    roots = spec.submodule_search_locations if spec is not None else None
    if not roots:
        return Bindings(version=None, names=frozenset())
    source = Path(next(iter(roots))) / module / "__init__.py"
    if not source.is_file():
        return Bindings(version=None, names=frozenset())
    page = "resources" if kind == "resource" else "data-sources"
    pattern = re.compile(rf"/providers/{NAMESPACE}/{TYPE}/(\d+\.\d+\.\d+)/docs/{page}/{short}#([a-z0-9_]+)")
    found = pattern.findall(source.read_text(encoding="utf-8"))
    if not found:
        return Bindings(version=None, names=frozenset())
    return Bindings(version=found[0][0], names=frozenset(name for _, name in found))


@cache
def provider_bindings() -> Bindings:
    """The bindings' view of the provider block itself (``docs#<argument>``)."""
    import importlib.util

    spec = importlib.util.find_spec("cdktn_provider_aws")
    roots = spec.submodule_search_locations if spec is not None else None
    source = Path(next(iter(roots or []), "")) / "provider" / "__init__.py"
    if not roots or not source.is_file():
        return Bindings(version=None, names=frozenset())
    pattern = re.compile(rf"/providers/{NAMESPACE}/{TYPE}/(\d+\.\d+\.\d+)/docs#([a-z0-9_]+)")
    found = pattern.findall(source.read_text(encoding="utf-8"))
    return Bindings(version=found[0][0] if found else None, names=frozenset(n for _, n in found))

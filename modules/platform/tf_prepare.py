"""One stack's configuration as ``tf-check`` runs it: what the available provider lacks left out
(and listed), and a ``terraform test`` file whose mocked provider needs no credentials.

Only what the provider's own schema lacks **and** the bindings document is left out: a resource
type or argument unknown to both is a mistake in the project's JSON, so it stays and fails
``terraform validate``. Whatever refers to something left out goes too, and is listed with it.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modules.platform.tf_provider import Bindings, bindings, provider_bindings
from modules.shared.validation import partition

# Meta-arguments and cdktn's metadata: Terraform's, not the provider's.
_META = frozenset(
    {"//", "depends_on", "count", "for_each", "provider", "lifecycle", "provisioner", "connection"}
)
_ADDRESS = re.compile(r"(?<![\w.-])((?:data\.)?aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)")
# Services whose ARNs have no region (IAM, S3, Route 53) and types named after another service.
_GLOBAL_SERVICES = frozenset({"iam", "s3", "route53"})
_SERVICE = {"cloudwatch_log": "logs", "cloudwatch_event": "events", "sfn": "states", "sesv2": "ses"}
_TOKENS = [f"mocktoken{i}abcdefghijklmnopqrstu" for i in range(3)]  # 32 characters, as Easy DKIM's


@dataclass(frozen=True, kw_only=True)
class Left:
    """One thing left out of the check, and why."""

    what: str  # "resource aws_sesv2_tenant.shop", "argument aws_kms_replica_key.k.region", "output x"
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


def leave_out(
    document: Mapping[str, Any], schema: Mapping[str, Any], *, provider_version: str
) -> tuple[dict[str, Any], list[Left]]:
    """``document`` without what provider ``provider_version`` (``schema``) lacks, and the list."""
    doc: dict[str, Any] = copy.deepcopy(dict(document))
    left: list[Left] = []
    gone: set[str] = set()
    sections = (("resource", "resource", ""), ("data", "data", "data."))
    for section, kind, prefix in sections:
        schemas = schema[f"{'resource' if kind == 'resource' else 'data_source'}_schemas"]
        for rtype in list(doc.get(section, {})):
            known = bindings(kind, rtype)
            if rtype in schemas:
                for logical_id, body in doc[section][rtype].items():
                    address = f"{prefix}{rtype}.{logical_id}"
                    left += _strip(body, schemas[rtype]["block"], known, address, provider_version)
                continue
            if not known.known:  # unknown to the bindings too: a mistake, terraform will say so
                continue
            for logical_id in doc[section].pop(rtype):
                gone.add(f"{prefix}{rtype}.{logical_id}")
                why = f"type {rtype} is in the bindings' provider {known.version}, not in {provider_version}"
                left.append(Left(what=f"{kind} {prefix}{rtype}.{logical_id}", reason=why))
    for config in doc.get("provider", {}).get("aws", []):
        left += _strip(
            config, schema["provider"]["block"], provider_bindings(), "provider aws", provider_version
        )
    left += _dependents(doc, gone)
    for section, _, _ in sections:
        if section in doc and not doc[section]:
            del doc[section]
    return doc, left


def _strip(
    body: Any, block: Mapping[str, Any], known: Bindings, address: str, version: str
) -> list[Left]:  # fmt: skip
    """Remove (in place) the arguments ``block`` lacks that the bindings document."""
    if not isinstance(body, dict):
        return []
    left = []
    attributes, blocks = block.get("attributes", {}), block.get("block_types", {})
    for name in list(body):
        if name in _META or name in attributes:
            continue
        if name in blocks:
            inner = body[name] if isinstance(body[name], list) else [body[name]]
            for item in inner:
                left += _strip(item, blocks[name]["block"], known, f"{address}.{name}", version)
            continue
        if name in known.names:
            del body[name]
            reason = f"in the bindings' provider {known.version}, not in {version}"
            left.append(Left(what=f"argument {address}.{name}", reason=reason))
    return left


def _dependents(doc: dict[str, Any], gone: set[str]) -> list[Left]:
    """Remove, to a fixed point, every resource, data source and output referring to ``gone``."""
    left: list[Left] = []
    changed = bool(gone)
    while changed:
        changed = False
        for section, prefix in (("resource", ""), ("data", "data.")):
            for rtype, instances in list(doc.get(section, {}).items()):
                for logical_id in list(instances):
                    hit = _refers(instances[logical_id], gone)
                    if hit is None:
                        continue
                    address = f"{prefix}{rtype}.{logical_id}"
                    del instances[logical_id]
                    gone.add(address)
                    kind = "resource" if section == "resource" else "data"
                    left.append(Left(what=f"{kind} {address}", reason=f"refers to {hit}, left out"))
                    changed = True
                if not instances:
                    del doc[section][rtype]
        for name in list(doc.get("output", {})):
            hit = _refers(doc["output"][name], gone)
            if hit is not None:
                del doc["output"][name]
                left.append(Left(what=f"output {name}", reason=f"refers to {hit}, left out"))
    if "output" in doc and not doc["output"]:
        del doc["output"]
    return left


def _refers(body: Any, gone: set[str]) -> str | None:
    return next((a for a in _ADDRESS.findall(json.dumps(body)) if a in gone), None)


# --- the terraform test file -----------------------------------------------------------------


def tftest_file(document: Mapping[str, Any], schema: Mapping[str, Any]) -> str:
    """A ``*.tftest.hcl``: a mocked ``aws`` provider (one per alias), then a plan and an apply.

    The mocks give ARN-, URL- and token-shaped values where the provider validates what it is
    handed (``role`` must be an ARN) or the configuration indexes a list (DKIM tokens), so a
    failure means the project's JSON, not a random mock string.
    """
    (default, *_) = document.get("provider", {}).get("aws", [{}]) or [{}]
    region = str(default.get("region", "us-east-1"))
    account = str((default.get("allowed_account_ids") or ["123456789012"])[0])
    mocks = []
    for section, key, kind in (("resource", "resource_schemas", "mock_resource"), ("data", "data_source_schemas", "mock_data")):  # fmt: skip  # noqa: E501
        for rtype in sorted(document.get(section, {})):
            if rtype not in schema[key]:
                continue
            defaults = _defaults(rtype, schema[key][rtype]["block"], account, region)
            if defaults:
                mocks.append(f'  {kind} "{rtype}" {{\n    defaults = {_hcl(defaults)}\n  }}')
    aliases = [p.get("alias") for p in document.get("provider", {}).get("aws", [])] or [None]
    providers = []
    for alias in aliases:
        head = f'  alias = "{alias}"\n' if alias else ""
        providers.append('mock_provider "aws" {\n' + head + "\n".join(mocks) + "\n}\n")
    runs = 'run "plan" {\n  command = plan\n}\n\nrun "apply" {\n  command = apply\n}\n'
    header = "# Generated by `make tf-check`: the stack planned and applied against a mocked AWS provider.\n"
    return header + "\n".join(providers) + "\n" + runs


def _defaults(rtype: str, block: Mapping[str, Any], account: str, region: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, attribute in block.get("attributes", {}).items():
        if not attribute.get("computed"):
            continue
        kind = attribute.get("type")
        if kind == "string" and (name == "arn" or name.endswith("_arn")):
            found[name] = _arn(rtype, account, region)
        elif kind == "string" and (name == "url" or name.endswith("_url")):
            found[name] = f"https://{_service(rtype)}.{region}.amazonaws.com/{account}/mock"
        elif kind == "string" and name == "key_id":
            found[name] = "11111111-2222-3333-4444-555555555555"
        elif name == "tokens" and isinstance(kind, list) and kind[0] in ("list", "set"):
            found[name] = list(_TOKENS)
    for name, nested in block.get("block_types", {}).items():
        inner = _defaults(rtype, nested["block"], account, region)
        # One block at most: the mock takes it as an object (a list of them would be ambiguous).
        if inner and (nested.get("nesting_mode") == "single" or nested.get("max_items") == 1):
            found[name] = inner
    return found


def _service(rtype: str) -> str:
    short = rtype.removeprefix("aws_")
    return next((v for k, v in _SERVICE.items() if short.startswith(k)), short.split("_")[0])


def _arn(rtype: str, account: str, region: str) -> str:
    service = _service(rtype)
    where = "" if service in _GLOBAL_SERVICES else region
    owner = "" if service == "s3" else account
    return f"arn:{partition(region)}:{service}:{where}:{owner}:{rtype.removeprefix('aws_')}/mock"


def _hcl(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_hcl(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v) for v in value) + "]"
    return json.dumps(value)


def count_resources(document: Mapping[str, Any]) -> int:
    return sum(len(instances) for instances in document.get("resource", {}).values())


def required_version(document: Mapping[str, Any]) -> str | None:
    """The stack's pinned ``hashicorp/aws`` version (cdktn writes an exact version)."""
    providers = document.get("terraform", {}).get("required_providers", {})
    version = providers.get("aws", {}).get("version")
    return str(version) if version else None

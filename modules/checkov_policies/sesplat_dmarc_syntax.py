"""CKV_SESPLAT_5: every Route 53 ``_dmarc.`` TXT record holds exactly one valid DMARC record.

RFC 7489 section 6.3/6.4, checked a little stricter than receivers read it, because a typo
that a receiver silently ignores (``pc=50``) is still a typo:

* ``v=DMARC1`` first and ``p=`` (``none``/``quarantine``/``reject``) directly after it;
* known tags only (``v p sp pct rua ruf adkim aspf fo rf ri``), each at most once;
* ``sp`` like ``p``; ``pct`` 0-100; ``adkim``/``aspf`` ``r`` or ``s``; ``rua``/``ruf`` comma
  separated ``mailto:`` URIs; ``ri`` a whole number; ``fo`` from ``0 1 d s``; ``rf`` ``afrf``;
* one DMARC record per name: two ``v=DMARC1`` values make receivers ignore both.

A value holding a Terraform expression fails: it cannot be verified before apply. Records that
are not TXT ``_dmarc.`` records are not reported; a ``_dmarc`` CNAME (delegation to a DMARC
vendor) is not reported either, as its target is outside the configuration.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck

POLICIES = ("none", "quarantine", "reject")
ALIGNMENTS = ("r", "s")
MAILTO = re.compile(r"^mailto:[^@\s,;!]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,63}(?:![0-9]+[kmgtKMGT]?)?$")


def _is_mailto_list(value: str) -> bool:
    return all(MAILTO.match(uri.strip()) for uri in value.split(","))


# tag → (is the value valid?, what was expected)
TAG_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "v": (lambda v: v == "DMARC1", "DMARC1"),
    "p": (lambda v: v.lower() in POLICIES, " or ".join(POLICIES)),
    "sp": (lambda v: v.lower() in POLICIES, " or ".join(POLICIES)),
    "pct": (lambda v: v.isdigit() and 0 <= int(v) <= 100, "a whole number 0-100"),
    "adkim": (lambda v: v.lower() in ALIGNMENTS, "r or s"),
    "aspf": (lambda v: v.lower() in ALIGNMENTS, "r or s"),
    "rua": (_is_mailto_list, "comma separated mailto: URIs"),
    "ruf": (_is_mailto_list, "comma separated mailto: URIs"),
    "ri": (str.isdigit, "seconds as a whole number"),
    "fo": (lambda v: set(v.lower().split(":")) <= {"0", "1", "d", "s"}, "0, 1, d or s, colon separated"),
    "rf": (lambda v: set(v.lower().split(":")) <= {"afrf"}, "afrf"),
}


def dmarc_problems(record: str) -> list[str]:
    """Everything wrong with one DMARC TXT value; empty when it is valid."""
    if "${" in record:
        return ["the value is a Terraform expression and cannot be checked before apply"]
    parts = [part.strip() for part in record.split(";")]
    if parts and parts[-1] == "":
        parts.pop()  # a trailing ";" is allowed
    tags: list[tuple[str, str]] = []
    problems: list[str] = []
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep:
            problems.append(f"{part!r} is not a tag=value pair")
            continue
        tags.append((key.strip().lower(), value.strip()))
    if not tags or tags[0] != ("v", "DMARC1"):
        problems.append("must start with v=DMARC1")
    if len(tags) < 2 or tags[1][0] != "p":
        problems.append("p= must directly follow v=DMARC1")
    seen: set[str] = set()
    for key, value in tags:
        if key in seen:
            problems.append(f"tag {key} appears twice")
        seen.add(key)
        rule = TAG_RULES.get(key)
        if rule is None:
            problems.append(f"unknown tag {key!r}")
        elif not rule[0](value):
            problems.append(f"{key}={value!r}: expected {rule[1]}")
    return problems


def txt_values(records: Any) -> list[str]:
    """Route 53 TXT values, with the ``""`` joints of long (chunked) strings removed."""
    if not isinstance(records, list):
        return []
    flat: list[Any] = []
    for item in records:
        flat.extend(item if isinstance(item, list) else [item])
    return [value.replace('""', "") for value in flat if isinstance(value, str)]


def first(conf: dict[str, Any], key: str) -> Any:
    value = conf.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


class DmarcRecordValid(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="Route 53 _dmarc TXT record is one valid DMARC record (v=DMARC1; p=none|quarantine|reject)",
            id="CKV_SESPLAT_5",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_route53_record"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        name = first(conf, "name")
        record_type = first(conf, "type")
        if not (isinstance(name, str) and name.lower().startswith("_dmarc.")):
            return CheckResult.UNKNOWN
        if not (isinstance(record_type, str) and record_type.upper() == "TXT"):
            return CheckResult.UNKNOWN
        self.evaluated_keys = ["records"]
        values = txt_values(conf.get("records"))
        dmarc = [v for v in values if v.startswith("v=DMARC1") or "${" in v]
        if len(dmarc) != 1:
            self.details.append(f"expected exactly one v=DMARC1 value, found {len(dmarc)} in {values}")
            return CheckResult.FAILED
        problems = dmarc_problems(dmarc[0])
        self.details.extend(problems)
        return CheckResult.FAILED if problems else CheckResult.PASSED


CHECK = DmarcRecordValid()

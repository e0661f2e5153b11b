"""DNS checks that join resources: CKV_SESPLAT_3 (DMARC) and CKV_SESPLAT_8 (MAIL FROM records).

Neither a resource check (one resource's configuration) nor a YAML policy (attributes and
reference edges) can ask "is there a Route 53 record named ``_dmarc.`` + this identity's
domain?": the DMARC record does not reference the identity. So these two are graph checks
written in Python: subclasses of checkov's ``BaseGraphCheck`` appended to the Terraform graph
registry when checkov imports this file from ``--external-checks-dir``. They read the graph
checkov builds from *all* files of one scan, with references already resolved
(``email_identity = "${aws_sesv2_email_identity.x.email_identity}"`` reads as the domain).
This uses checkov internals (pinned 3.3.30); ``tests/integration/test_checkov.py`` proves on
every run that both checks report every identity, so a checkov change cannot silently drop them.

Where a domain's records live
    An identity's records are "in Route 53" when the identity's own stack file has an
    ``aws_route53_record`` named after the domain: ``<x>._domainkey.<domain>``,
    ``_dmarc.<domain>``, ``<domain>`` or the identity's MAIL FROM domain. Names must be fully
    qualified (Route 53 would otherwise append the zone name, which the configuration does not
    hold). Otherwise the domain uses external DNS, and the records must appear in an output as
    ``{name, type, value}`` objects (the construct's ``<domain>_dns_records`` output) for whoever
    runs that DNS. For external DNS this proves the stack *hands over* the record, not that it is
    published; checking live DNS is out of checkov's reach.

CKV_SESPLAT_3 - DMARC published
    Every domain identity needs a TXT record ``_dmarc.<domain>`` whose value starts with
    ``v=DMARC1`` (CKV_SESPLAT_5 checks the syntax of Route 53 ones). In Route 53 mode the record
    must be a Route 53 record in one of the zones that hold the identity's other records; in
    external mode a Route 53 record in any zone or an output record counts. The record may sit
    in *another file of the same scan*: a domain in several regions publishes DMARC once, from
    its home (first) region's stack. Scan all stacks of an environment together
    (``python -m modules.platform scan`` does); a non-home-region stack scanned alone fails.
    Stricter than RFC 7489, which would fall back to the organisational domain's record: the
    platform publishes one per identity domain. Email-address identities are not reported.

CKV_SESPLAT_8 - MAIL FROM records
    For every ``aws_sesv2_email_identity_mail_from_attributes``: an MX record on the MAIL FROM
    domain pointing at ``feedback-smtp.<region>.amazonses.com`` and a TXT record with
    ``v=spf1 ... include:amazonses.com``, found like the DMARC record (same zones in Route 53
    mode, outputs in external mode). Without the MX, SES falls back to amazonses.com or, with
    ``behavior_on_mx_failure = REJECT_MESSAGE``, refuses to send; an MX to another region's
    endpoint loses bounces. ``<region>`` is the literal ``region`` of the ``aws`` provider the
    resource uses (default or ``aws.<alias>``), read from the scanned file itself because
    checkov's terraform_json graph has no provider vertices; without one, any region passes.

A Terraform expression where a domain or MAIL FROM domain should be fails: it cannot be verified.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from checkov.common.checks_infra.registry import get_graph_checks_registry
from checkov.common.graph.checks_infra.base_check import BaseGraphCheck
from checkov.common.graph.graph_builder import CustomAttributes
from checkov.runner_filter import RunnerFilter

IDENTITY = "aws_sesv2_email_identity"
MAIL_FROM = "aws_sesv2_email_identity_mail_from_attributes"
RECORD = "aws_route53_record"
DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
REGION = re.compile(r"^[a-z]{2}(?:-[a-z]+)+-[0-9]+$")

logger = logging.getLogger(__name__)

Vertex = dict[str, Any]


def scalar(value: Any) -> Any:
    """A vertex attribute as one value (checkov keeps some as one-element lists)."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def fqdn(value: Any) -> str | None:
    """Lower-case name without the trailing dot, or ``None`` if not a plain string."""
    value = scalar(value)
    if not isinstance(value, str):
        return None
    return value.strip().lower().rstrip(".")


def literal_domain(value: Any) -> str | None:
    """The domain if ``value`` is a literal, fully qualified domain name."""
    name = fqdn(value)
    return name if name and "${" not in name and DOMAIN.match(name) else None


def txt_values(records: Any) -> tuple[str, ...]:
    """Record values; TXT chunks joined (Route 53 takes long strings as ``"a""b"``)."""
    items = records if isinstance(records, list) else [records]
    flat: list[Any] = []
    for item in items:
        flat.extend(item if isinstance(item, list) else [item])
    return tuple(v.replace('""', "") for v in flat if isinstance(v, str))


@dataclass(frozen=True)
class DnsRecord:
    name: str
    type: str
    values: tuple[str, ...]
    zone: str | None  # Route 53 zone id; None for a record handed over in an output
    file: str


@dataclass
class ScanIndex:
    """Everything the DNS checks need from one scan's graph."""

    mail_froms: list[Vertex] = field(default_factory=list)
    route53: list[DnsRecord] = field(default_factory=list)
    handed_over: list[DnsRecord] = field(default_factory=list)
    _providers: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, vertices: Iterable[Vertex]) -> ScanIndex:
        index = cls()
        for vertex in vertices:
            file = str(vertex.get(CustomAttributes.FILE_PATH, ""))
            block_type = vertex.get(CustomAttributes.BLOCK_TYPE)
            resource_type = vertex.get(CustomAttributes.RESOURCE_TYPE)
            if block_type == "output":
                index.handed_over.extend(output_records(vertex.get("value"), file))
            elif resource_type == MAIL_FROM:
                index.mail_froms.append(vertex)
            elif resource_type == RECORD:
                name, record_type = fqdn(vertex.get("name")), scalar(vertex.get("type"))
                if name and isinstance(record_type, str):
                    zone = scalar(vertex.get("zone_id"))
                    index.route53.append(
                        DnsRecord(
                            name=name,
                            type=record_type.upper(),
                            values=txt_values(vertex.get("records")),
                            zone=zone if isinstance(zone, str) else None,
                            file=file,
                        )
                    )
        return index

    def region(self, file: str, provider: Any) -> str | None:
        """The literal region of the ``aws`` provider a resource uses, if the file says.

        checkov's terraform_json graph has no provider vertices, so this reads the scanned file.
        """
        if file not in self._providers:
            self._providers[file] = aws_provider_regions(file)
        alias = scalar(provider)
        key = alias.removeprefix("aws.") if isinstance(alias, str) and alias.startswith("aws.") else ""
        return self._providers[file].get(key)

    def mail_from_domains(self, domain: str, file: str) -> set[str]:
        names = set()
        for vertex in self.mail_froms:
            if (
                vertex.get(CustomAttributes.FILE_PATH) == file
                and fqdn(vertex.get("email_identity")) == domain
            ):
                name = fqdn(vertex.get("mail_from_domain"))
                if name:
                    names.add(name)
        return names

    def zones_of(self, domain: str, file: str) -> set[str | None]:
        """Route 53 zones holding the domain's records in ``file``; empty means external DNS.

        The DMARC record itself only counts when the domain has no other Route 53 record there,
        so a DMARC record in a zone the domain's other records are not in does not vouch for
        itself.
        """
        own = {domain} | self.mail_from_domains(domain, file)
        dmarc = f"_dmarc.{domain}"
        mine = [r for r in self.route53 if r.file == file]
        zones = {r.zone for r in mine if r.name in own or r.name.endswith(f"._domainkey.{domain}")}
        return zones or {r.zone for r in mine if r.name == dmarc}

    def find(
        self, name: str, record_type: str, zones: set[str | None], accept: Callable[[str], bool]
    ) -> DnsRecord | None:
        """A record ``name``/``record_type`` with a value ``accept`` likes, in any file of the scan.

        With ``zones``, only Route 53 records in those zones count; without, any Route 53 record
        or a record handed over in an output.
        """
        candidates = (
            [r for r in self.route53 if r.zone in zones] if zones else self.route53 + self.handed_over
        )
        for record in candidates:
            if record.name == name and record.type == record_type and any(map(accept, record.values)):
                return record
        return None


def aws_provider_regions(file: str) -> dict[str, str]:
    """Alias ("" for the default provider) → literal region of each ``aws`` provider in ``file``."""
    try:
        with open(file, encoding="utf-8") as handle:
            document = json.load(handle)
        providers = document.get("provider", {}).get("aws", [])
    except (OSError, ValueError, AttributeError):
        return {}
    regions: dict[str, str] = {}
    for provider in providers if isinstance(providers, list) else [providers]:
        region = provider.get("region") if isinstance(provider, dict) else None
        if isinstance(region, str) and REGION.match(region):
            regions[str(provider.get("alias", ""))] = region
    return regions


def output_records(value: Any, file: str) -> list[DnsRecord]:
    """``{name, type, value}`` objects anywhere in an output value."""
    found: list[DnsRecord] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            name, record_type, record_value = (scalar(item.get(k)) for k in ("name", "type", "value"))
            if isinstance(name, str) and isinstance(record_type, str) and isinstance(record_value, str):
                found.append(
                    DnsRecord(fqdn(name) or "", record_type.upper(), txt_values(record_value), None, file)
                )
            else:
                stack.extend(item.values())
    return found


def graph_vertices(graph: Any) -> list[Vertex]:
    """Vertex attribute dicts of checkov's graph (rustworkx by default, or networkx)."""
    if type(graph).__module__.startswith("networkx"):
        return [attrs for _, attrs in graph.nodes(data=True)]
    return [payload[1] for payload in graph.nodes()]


Verdicts = tuple[list[Vertex], list[Vertex], list[Vertex]]


class JoinCheck(BaseGraphCheck):
    """A graph check deciding each vertex of ``subject_type`` with ``verdict(subject, index)``."""

    subject_type = ""

    def __init__(self, check_id: str, name: str) -> None:
        super().__init__()
        self.id = check_id
        self.name = name
        self.category = "GENERAL_SECURITY"
        self.resource_types = [self.subject_type]
        self.frameworks = ["terraform", "terraform_json"]

    def verdict(self, subject: Vertex, index: ScanIndex) -> bool | None:
        """True passes, False fails, None leaves the subject unreported."""
        raise NotImplementedError

    def run(self, graph_connector: Any) -> Verdicts:
        vertices = graph_vertices(graph_connector)
        subjects = [v for v in vertices if v.get(CustomAttributes.RESOURCE_TYPE) == self.subject_type]
        passed: list[Vertex] = []
        failed: list[Vertex] = []
        try:
            index = ScanIndex.build(vertices)
            for subject in subjects:
                verdict = self.verdict(subject, index)
                if verdict is not None:
                    (passed if verdict else failed).append(subject)
        except Exception:  # a broken check must fail loudly, never pass by reporting nothing
            logger.exception("%s crashed; failing every %s", self.id, self.subject_type)
            return [], subjects, []
        return passed, failed, []


class DmarcPublished(JoinCheck):
    subject_type = IDENTITY

    def verdict(self, subject: Vertex, index: ScanIndex) -> bool | None:
        raw = fqdn(subject.get("email_identity"))
        if raw and "@" in raw and "${" not in raw:
            return None  # email-address identity: DMARC belongs to its domain
        domain = literal_domain(raw)
        if domain is None:
            return False
        zones = index.zones_of(domain, str(subject.get(CustomAttributes.FILE_PATH, "")))
        found = index.find(f"_dmarc.{domain}", "TXT", zones, lambda v: v.startswith("v=DMARC1"))
        return found is not None


class MailFromRecords(JoinCheck):
    subject_type = MAIL_FROM

    def verdict(self, subject: Vertex, index: ScanIndex) -> bool | None:
        file = str(subject.get(CustomAttributes.FILE_PATH, ""))
        domain = literal_domain(subject.get("email_identity"))
        mail_from = literal_domain(subject.get("mail_from_domain"))
        if domain is None or mail_from is None:
            return False
        region = index.region(file, subject.get("provider"))
        region_re = re.escape(region) if region else r"[a-z0-9-]+"
        mx = re.compile(rf"^[0-9]+\s+feedback-smtp\.{region_re}\.amazonses\.com\.?$")
        zones = index.zones_of(domain, file)
        has_mx = index.find(mail_from, "MX", zones, lambda v: bool(mx.match(v.strip())))
        has_spf = index.find(mail_from, "TXT", zones, is_ses_spf)
        return has_mx is not None and has_spf is not None


def is_ses_spf(value: str) -> bool:
    terms = value.split()
    return bool(terms) and terms[0] == "v=spf1" and "include:amazonses.com" in terms


def register(check: BaseGraphCheck) -> None:
    registry = get_graph_checks_registry("terraform")
    if not any(existing.id == check.id for existing in registry.checks):
        registry.checks.append(check)
    RunnerFilter.notify_external_check(check.id)


register(
    DmarcPublished(
        "CKV_SESPLAT_3",
        "SES domain identity has a DMARC record (_dmarc.<domain> TXT v=DMARC1), in its Route 53 zone "
        "or, for external DNS, in an output",
    )
)
register(
    MailFromRecords(
        "CKV_SESPLAT_8",
        "SES MAIL FROM domain has its MX (this region's feedback-smtp endpoint) and SPF records",
    )
)

"""DNS doctor: does live DNS publish what SES needs for a sending domain?

Checks, each PASS / WARN / FAIL with a one-line fix for what is not right:

* DKIM: each Easy DKIM token's ``<token>._domainkey.<domain>`` is a CNAME to
  ``<token>.dkim.amazonses.com`` (tokens from SES ``GetEmailIdentity``, or given).
* MAIL FROM: ``<mail from domain>`` has ``MX 10 feedback-smtp.<region>.amazonses.com`` and an SPF
  record that includes ``amazonses.com``; that SPF record needs at most 10 DNS lookups
  (RFC 7208 4.6.4: ``include``, ``a``, ``mx``, ``ptr``, ``exists``, ``redirect``, counted through
  every include), else receivers answer PermError and SPF fails.
* DMARC: ``_dmarc.<domain>`` holds one ``v=DMARC1`` record; its policy, pct, alignment and
  reporting addresses are parsed and judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

from functions.ops.dns import DnsError, Resolver

SPF_LOOKUP_LIMIT = 10
SPF_LOOKUP_TERMS = frozenset({"include", "a", "mx", "ptr", "exists", "redirect"})


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # PASS, WARN or FAIL
    detail: str
    fix: str = ""


@dataclass
class Report:
    domain: str
    checks: list[Check] = field(default_factory=list)
    dmarc: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.status != "FAIL" for c in self.checks)

    def add(self, name: str, ok: bool, detail: str, fix: str = "", *, warn: bool = False) -> None:
        status = "PASS" if ok else ("WARN" if warn else "FAIL")
        self.checks.append(Check(name, status, detail, "" if ok else fix))

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "passed": self.passed,
            "checks": [asdict(c) for c in self.checks],
            "dmarc": self.dmarc,
        }


def txt_records(resolver: Resolver, name: str) -> list[str]:
    return [r.value for r in resolver.query(name, "TXT").of_type("TXT")]


def check_dkim(report: Report, resolver: Resolver, tokens: list[str]) -> None:
    for token in tokens:
        name = f"{token}._domainkey.{report.domain}"
        want = f"{token}.dkim.amazonses.com"
        got = [r.value for r in resolver.query(name, "CNAME").of_type("CNAME") if r.name == name]
        report.add(
            f"dkim {token[:8]}",
            got == [want],
            f"{name} CNAME {', '.join(got) or '(none)'}",
            f"publish {name}. CNAME {want}.",
        )


def check_mail_from(report: Report, resolver: Resolver, mail_from: str, region: str) -> None:
    want_mx = f"10 feedback-smtp.{region}.amazonses.com"
    mx = [r.value for r in resolver.query(mail_from, "MX").of_type("MX")]
    report.add(
        "mail from mx",
        want_mx in mx,
        f"{mail_from} MX {', '.join(mx) or '(none)'}",
        f"publish {mail_from}. MX {want_mx}. (bounces and complaints return there)",
    )
    spf = [t for t in txt_records(resolver, mail_from) if t.lower().startswith("v=spf1")]
    fix = f'publish {mail_from}. TXT "v=spf1 include:amazonses.com ~all"'
    if len(spf) != 1:
        detail = f"{mail_from}: {len(spf)} SPF records" + (" (receivers answer PermError)" if spf else "")
        report.add("mail from spf", False, detail, fix if not spf else "merge them into one v=spf1 record")
        return
    terms = spf[0].lower().split()
    report.add(
        "mail from spf",
        "include:amazonses.com" in terms,
        f"{mail_from} {spf[0]}",
        f"add include:amazonses.com to {mail_from}'s SPF record",
    )
    lookups, problems = count_spf_lookups(resolver, mail_from, spf[0])
    report.add(
        "spf lookups",
        lookups <= SPF_LOOKUP_LIMIT and not problems,
        f"{lookups} DNS lookups (limit {SPF_LOOKUP_LIMIT})" + "".join(f"; {p}" for p in problems),
        "flatten or drop includes until the record needs at most 10 lookups",
    )


def count_spf_lookups(
    resolver: Resolver, domain: str, record: str, seen: set[str] | None = None
) -> tuple[int, list[str]]:
    """DNS-querying terms of ``record``, counted through includes and redirects."""
    seen = seen if seen is not None else {domain}
    count, problems = 0, []
    for term in record.lower().split()[1:]:
        bare = term.lstrip("+-~?")
        if re.split(r"[:/=]", bare, maxsplit=1)[0] not in SPF_LOOKUP_TERMS:
            continue
        count += 1
        if not bare.startswith(("include:", "redirect=")):
            continue
        target = bare.split(":", 1)[1] if bare.startswith("include:") else bare.split("=", 1)[1]
        if target in seen:
            problems.append(f"loop through {target}")
            continue
        seen.add(target)
        try:
            nested = [t for t in txt_records(resolver, target) if t.lower().startswith("v=spf1")]
        except DnsError as exc:
            problems.append(f"{target}: {exc}")
            continue
        if len(nested) != 1:
            problems.append(f"{target} has {len(nested)} SPF records")
            continue
        inner, inner_problems = count_spf_lookups(resolver, target, nested[0], seen)
        count += inner
        problems.extend(inner_problems)
    return count, problems


def parse_dmarc(record: str) -> dict[str, str]:
    tags = {}
    for part in record.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            tags[key.strip().lower()] = value.strip()
    return tags


def check_dmarc(report: Report, resolver: Resolver, mail_from: str | None) -> None:
    name = f"_dmarc.{report.domain}"
    records = [t for t in txt_records(resolver, name) if re.match(r"v\s*=\s*DMARC1", t, re.IGNORECASE)]
    if len(records) != 1:
        fix = f'publish {name}. TXT "v=DMARC1; p=none; rua=mailto:dmarc@{report.domain}"'
        report.add(
            "dmarc", False, f"{name}: {len(records)} DMARC records", fix if not records else "keep one"
        )
        return
    tags = parse_dmarc(records[0])
    report.dmarc = tags
    policy = tags.get("p", "")
    if policy not in ("none", "quarantine", "reject"):
        report.add(
            "dmarc policy", False, f"p={policy or '(missing)'}", f"set p=none, quarantine or reject in {name}"
        )
        return
    report.add(
        "dmarc policy",
        policy != "none",
        f"p={policy} sp={tags.get('sp', policy)} pct={tags.get('pct', '100')}",
        "p=none only monitors: move to p=quarantine once reports show aligned mail",
        warn=True,
    )
    pct = tags.get("pct", "100")
    report.add("dmarc pct", pct.isdigit() and 0 <= int(pct) <= 100, f"pct={pct}", "set pct to 0-100")
    if mail_from and tags.get("aspf") == "s":
        # SPF passes for the MAIL FROM subdomain, which strict alignment does not accept.
        report.add(
            "dmarc alignment",
            tags.get("adkim", "r") == "r",
            f"aspf=s: SPF never aligns (MAIL FROM is {mail_from}); DKIM must align",
            "relax adkim to r, or aspf to r",
            warn=True,
        )
    else:
        report.add("dmarc alignment", True, f"adkim={tags.get('adkim', 'r')} aspf={tags.get('aspf', 'r')}")
    rua = tags.get("rua", "")
    report.add(
        "dmarc reporting",
        rua.startswith("mailto:"),
        f"rua={rua or '(none)'} ruf={tags.get('ruf', '(none)')}",
        f"add rua=mailto:dmarc@{report.domain} to receive aggregate reports",
        warn=True,
    )


def diagnose(
    resolver: Resolver, domain: str, *, region: str, dkim_tokens: list[str], mail_from: str | None
) -> Report:
    """Every check for ``domain``; a lookup that fails becomes a FAIL of its check."""
    report = Report(domain=domain.lower().rstrip("."))
    steps: list[tuple[str, Callable[[], None]]] = [
        ("dkim", partial(check_dkim, report, resolver, dkim_tokens)),
        ("dmarc", partial(check_dmarc, report, resolver, mail_from)),
    ]
    if mail_from:
        steps.insert(1, ("mail from", partial(check_mail_from, report, resolver, mail_from, region)))
    if not dkim_tokens:
        report.add("dkim", False, "no DKIM tokens to check", "pass --dkim-token three times, or --from-ses")
    for name, step in steps:
        try:
            step()
        except DnsError as exc:
            report.add(name, False, str(exc), "check the resolver (--nameserver) and try again")
    return report

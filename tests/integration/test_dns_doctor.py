"""``ses-ops dns-doctor`` against a local authoritative DNS server (dnslib) on 127.0.0.1."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from dnslib.server import DNSServer
from dnslib.zoneresolver import ZoneResolver

from functions.ops.cli import Io, main
from functions.ops.dns import Resolver

TOKENS = ["a" * 32, "b" * 32, "c" * 32]
REGION = "eu-central-1"

GOOD = f"""
{TOKENS[0]}._domainkey.good.example. 300 IN CNAME {TOKENS[0]}.dkim.amazonses.com.
{TOKENS[1]}._domainkey.good.example. 300 IN CNAME {TOKENS[1]}.dkim.amazonses.com.
{TOKENS[2]}._domainkey.good.example. 300 IN CNAME {TOKENS[2]}.dkim.amazonses.com.
bounce.good.example. 300 IN MX 10 feedback-smtp.{REGION}.amazonses.com.
bounce.good.example. 300 IN TXT "v=spf1 include:amazonses.com ~all"
amazonses.com. 300 IN TXT "v=spf1 ip4:199.255.192.0/22 ip4:199.127.232.0/22 -all"
_dmarc.good.example. 300 IN TXT "v=DMARC1; p=quarantine; pct=50; rua=mailto:dmarc@good.example"
"""

# Wrong and missing DKIM, the MX of another region, an SPF record needing 12 lookups, DMARC p=none.
BROKEN = f"""
{TOKENS[0]}._domainkey.broken.example. 300 IN CNAME {TOKENS[0]}.dkim.example.net.
{TOKENS[1]}._domainkey.broken.example. 300 IN CNAME {TOKENS[1]}.dkim.amazonses.com.
bounce.broken.example. 300 IN MX 10 feedback-smtp.us-east-1.amazonses.com.
bounce.broken.example. 300 IN TXT "v=spf1 include:amazonses.com include:one.broken.example mx a ~all"
one.broken.example. 300 IN TXT "v=spf1 include:two.broken.example a mx ptr exists:x.broken.example ~all"
two.broken.example. 300 IN TXT "v=spf1 a mx include:one.broken.example redirect=three.broken.example"
three.broken.example. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.broken.example. 300 IN TXT "v=DMARC1; p=none; aspf=s; adkim=s"
"""


@pytest.fixture(scope="module")
def nameserver() -> Iterator[str]:
    server = DNSServer(ZoneResolver(GOOD + BROKEN, glob=False), address="127.0.0.1", port=0)
    server.start_thread()
    try:
        host, port = server.server.server_address[:2]
        yield f"{host}:{port}"
    finally:
        server.stop()
        server.server.server_close()


def doctor(nameserver: str, domain: str, *extra: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    argv = ["dns-doctor", domain, "--region", REGION, "--nameserver", nameserver, "--json"]
    argv += [arg for token in TOKENS for arg in ("--dkim-token", token)]
    code = main([*argv, *extra], Io(stdout=out, stderr=io.StringIO()))
    return code, json.loads(out.getvalue())


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


def test_a_correctly_published_domain_passes_every_check(nameserver: str) -> None:
    code, report = doctor(nameserver, "good.example")
    assert code == 0
    assert set(statuses(report).values()) == {"PASS"}
    assert report["dmarc"]["p"] == "quarantine"
    assert report["dmarc"]["pct"] == "50"


def test_wrong_and_missing_dkim_cnames_fail_with_the_record_to_publish(nameserver: str) -> None:
    code, report = doctor(nameserver, "broken.example")
    checks = {c["name"]: c for c in report["checks"]}
    assert code == 1
    assert checks[f"dkim {TOKENS[0][:8]}"]["status"] == "FAIL"
    assert checks[f"dkim {TOKENS[1][:8]}"]["status"] == "PASS"
    assert checks[f"dkim {TOKENS[2][:8]}"]["fix"] == (
        f"publish {TOKENS[2]}._domainkey.broken.example. CNAME {TOKENS[2]}.dkim.amazonses.com."
    )


def test_a_mail_from_mx_of_another_region_fails(nameserver: str) -> None:
    _, report = doctor(nameserver, "broken.example")
    check = next(c for c in report["checks"] if c["name"] == "mail from mx")
    assert check["status"] == "FAIL"
    assert f"feedback-smtp.{REGION}.amazonses.com" in check["fix"]


def test_spf_lookups_are_counted_through_includes_and_loops_are_reported(nameserver: str) -> None:
    _, report = doctor(nameserver, "broken.example")
    check = next(c for c in report["checks"] if c["name"] == "spf lookups")
    # bounce: include×2, mx, a = 4; one: include, a, mx, ptr, exists = 5; two: a, mx, include
    # (a loop back to one), redirect = 4; amazonses.com and three: 0.
    assert check["detail"].startswith("13 DNS lookups")
    assert "loop through one.broken.example" in check["detail"]
    assert check["status"] == "FAIL"


def test_dmarc_is_parsed_and_weak_settings_warn_without_failing(nameserver: str) -> None:
    _, report = doctor(nameserver, "broken.example")
    found = statuses(report)
    assert report["dmarc"] == {"v": "DMARC1", "p": "none", "aspf": "s", "adkim": "s"}
    assert found["dmarc policy"] == "WARN"
    assert found["dmarc alignment"] == "WARN"
    assert found["dmarc reporting"] == "WARN"


def test_a_domain_without_records_fails_every_check_and_names_the_fix(nameserver: str) -> None:
    code, report = doctor(nameserver, "missing.example")
    assert code == 1
    assert all(c["status"] == "FAIL" and c["fix"] for c in report["checks"] if c["name"] != "spf lookups")


def test_the_text_report_prints_one_fix_line_per_failure(nameserver: str) -> None:
    out = io.StringIO()
    argv = ["dns-doctor", "broken.example", "--region", REGION, "--nameserver", nameserver]
    argv += [arg for token in TOKENS for arg in ("--dkim-token", token)]
    assert main(argv, Io(stdout=out, stderr=io.StringIO())) == 1
    lines = out.getvalue().splitlines()
    failures = [line for line in lines if line.startswith("FAIL")]
    fixes = [line for line in lines if line.strip().startswith("fix:")]
    assert len(fixes) >= len(failures) > 0
    assert lines[-1].startswith("broken.example:")


def test_tokens_and_mail_from_can_come_from_ses_get_email_identity(nameserver: str) -> None:
    class Ses:
        def get_email_identity(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs == {"EmailIdentity": "good.example"}
            return {
                "DkimAttributes": {"Tokens": TOKENS},
                "MailFromAttributes": {"MailFromDomain": "bounce.good.example"},
            }

    out = io.StringIO()
    argv = [
        "dns-doctor",
        "good.example",
        "--from-ses",
        "--region",
        REGION,
        "--nameserver",
        nameserver,
        "--json",
    ]
    code = main(argv, Io(stdout=out, stderr=io.StringIO(), sesv2=lambda _: Ses()))
    assert code == 0
    assert len([c for c in json.loads(out.getvalue())["checks"] if c["name"].startswith("dkim ")]) == 3


def test_an_unreachable_resolver_fails_the_checks_instead_of_crashing() -> None:
    err = io.StringIO()
    resolver = Resolver(("127.0.0.1", 9), timeout_seconds=0.2, attempts=1)
    code = main(
        ["dns-doctor", "good.example", "--no-mail-from", "--dkim-token", "x"],
        Io(stdout=io.StringIO(), stderr=err, resolver=lambda _: resolver),
    )
    assert code == 1

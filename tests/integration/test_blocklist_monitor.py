"""The blocklist monitor against a real DNS server on 127.0.0.1 (dnslib), started and stopped by
the tests: listed, not listed (NXDOMAIN and NODATA), SERVFAIL, a timeout, a refusal code."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSServer

from functions.blocklist_monitor.dns import Status, query_a, reverse_name
from functions.blocklist_monitor.handler import MonitorConfig, MonitorDeps, check
from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes

LISTED_IP, CLEAN_IP = "192.0.2.10", "192.0.2.20"
TIMEOUT = 0.3


class Blocklists(BaseResolver):  # type: ignore[misc]
    """Zones: ``bl.test`` lists LISTED_IP (127.0.0.2); ``nodata.test`` answers NOERROR with no
    records; ``broken.test`` SERVFAIL; ``slow.test`` never answers in time; ``refusing.test``
    answers Spamhaus's "public resolver" code 127.255.255.254."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.queries: list[str] = []

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:  # noqa: ARG002
        name = str(request.q.qname).rstrip(".")
        self.queries.append(name)
        reply = request.reply()
        if name.endswith(".slow.test"):
            self.release.wait(5)  # longer than the client's timeout; released at teardown
            return reply
        if name.endswith(".broken.test"):
            reply.header.rcode = RCODE.SERVFAIL
        elif name == reverse_name(LISTED_IP, "bl.test"):
            reply.add_answer(RR(name, QTYPE.A, rdata=A("127.0.0.2"), ttl=60))
        elif name.endswith(".refusing.test"):
            reply.add_answer(RR(name, QTYPE.A, rdata=A("127.255.255.254"), ttl=60))
        elif not name.endswith(".nodata.test"):
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class Quiet:
    """dnslib's logger, silenced (it prints every query)."""

    def __getattr__(self, name: str) -> Any:
        return self.nothing

    def nothing(self, *_: Any) -> None:
        return None


@pytest.fixture(scope="module")
def dns() -> Iterator[tuple[tuple[str, int], Blocklists]]:
    resolver = Blocklists()
    server = DNSServer(resolver, address="127.0.0.1", port=0, logger=Quiet())
    server.start_thread()
    try:
        yield ("127.0.0.1", server.server.server_address[1]), resolver
    finally:
        resolver.release.set()
        server.stop()
        server.server.server_close()


def lookup(dns: tuple[tuple[str, int], Blocklists], ip: str, zone: str) -> Any:
    return query_a(reverse_name(ip, zone), dns[0], timeout_seconds=TIMEOUT)


def test_reverse_name_puts_the_octets_in_reverse_before_the_zone() -> None:
    assert reverse_name("192.0.2.10", "bl.spamcop.net.") == "10.2.0.192.bl.spamcop.net"


def test_an_ip_with_an_a_record_in_the_zone_is_listed_with_its_code(dns: Any) -> None:
    result = lookup(dns, LISTED_IP, "bl.test")
    assert (result.status, result.codes) == (Status.LISTED, ("127.0.0.2",))


def test_nxdomain_means_not_listed(dns: Any) -> None:
    assert lookup(dns, CLEAN_IP, "bl.test").status is Status.NOT_LISTED


def test_noerror_without_records_means_not_listed(dns: Any) -> None:
    assert lookup(dns, CLEAN_IP, "nodata.test").status is Status.NOT_LISTED


def test_servfail_is_an_error_not_a_clean_bill(dns: Any) -> None:
    result = lookup(dns, CLEAN_IP, "broken.test")
    assert (result.status, result.detail) == (Status.ERROR, "SERVFAIL")


def test_no_answer_within_the_timeout_is_an_error_after_two_attempts(dns: Any) -> None:
    before = len(dns[1].queries)
    result = lookup(dns, CLEAN_IP, "slow.test")
    assert result.status is Status.ERROR
    assert result.detail.startswith("timeout")
    assert len(dns[1].queries) - before == 2


def test_a_blocklist_refusal_code_is_an_error_not_a_listing(dns: Any) -> None:
    assert lookup(dns, CLEAN_IP, "refusing.test").status is Status.ERROR


def run_monitor(dns: Any, zones: tuple[str, ...]) -> dict[str, Any]:
    config = MonitorConfig(name="prod-eu-central-1", zones=zones, resolver=dns[0], timeout_seconds=TIMEOUT)
    ses = FakeSes(
        dedicated_ips=[{"Ip": LISTED_IP, "PoolName": "at-pool"}, {"Ip": CLEAN_IP, "PoolName": "shop-pool"}],
        ip_page_size=1,  # two pages
    )
    return check(MonitorDeps(ses=ses, clock=ManualClock(1_800_000_000.0)), config)


def emf(out: str) -> list[dict[str, Any]]:
    return [d for d in map(json.loads, out.splitlines()) if "_aws" in d]


def test_monitor_checks_every_ip_of_every_page_in_every_zone(dns: Any) -> None:
    summary = run_monitor(dns, ("bl.test", "nodata.test"))
    assert summary["ips"] == 2
    assert [(x["ip"], x["zone"], x["pool"]) for x in summary["listings"]] == [
        (LISTED_IP, "bl.test", "at-pool")
    ]


def test_monitor_publishes_a_listed_metric_per_ip_and_zone(
    dns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run_monitor(dns, ("bl.test",))
    per_ip = {(d["Ip"], d["Zone"]): d["Listed"] for d in emf(capsys.readouterr().out) if "Ip" in d}
    assert per_ip == {(LISTED_IP, "bl.test"): 1.0, (CLEAN_IP, "bl.test"): 0.0}


def test_monitor_totals_listings_and_failed_lookups_for_the_alarms(
    dns: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    run_monitor(dns, ("bl.test", "broken.test"))
    (total,) = [d for d in emf(capsys.readouterr().out) if "Monitor" in d]
    assert (total["Listings"], total["LookupErrors"], total["IpsChecked"]) == (1.0, 2.0, 2.0)

"""A minimal DNS client for DNSBL lookups: one A query over UDP, standard library only.

Why not ``socket.gethostbyname``: the C resolver folds NXDOMAIN ("not listed"), SERVFAIL and a
timeout into the same ``gaierror`` and cannot be given a timeout, and a blocklist check must tell
"not listed" from "could not check". The Lambda runtime carries no DNS library (dnspython is not
in it), and a DNSBL lookup needs only this much of RFC 1035: build a query, read RCODE and the A
records of the answer.
"""

from __future__ import annotations

import enum
import ipaddress
import secrets
import socket
import struct
from dataclasses import dataclass

TYPE_A = 1
CLASS_IN = 1
RCODE_NOERROR, RCODE_SERVFAIL, RCODE_NXDOMAIN = 0, 2, 3
RCODES = {1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
# DNSBLs answer 127.0.0.2-127.0.0.254 for a listing; 127.255.255.0/24 are error codes (Spamhaus:
# .252 typo in the zone name, .254 query through a public resolver, .255 excessive queries).
LISTING = ipaddress.ip_network("127.0.0.0/8")
ERROR_CODES = ipaddress.ip_network("127.255.255.0/24")


class Status(enum.Enum):
    LISTED = "listed"
    NOT_LISTED = "not_listed"
    ERROR = "error"  # could not check: timeout, SERVFAIL, REFUSED, an error code or a bad answer


@dataclass(frozen=True)
class Lookup:
    status: Status
    codes: tuple[str, ...] = ()  # the A records of a listing (which list / reason)
    detail: str = ""


def reverse_name(ip: str, zone: str) -> str:
    """``192.0.2.10`` in ``bl.example.org`` → ``10.2.0.192.bl.example.org`` (IPv4 only: SES's
    dedicated IPs are IPv4)."""
    address = ipaddress.IPv4Address(ip)
    return ".".join(reversed(str(address).split("."))) + "." + zone.strip(".")


def build_query(name: str, query_id: int) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # RD set, one question
    labels = b"".join(
        bytes([len(part)]) + part for part in (label.encode("ascii") for label in name.split(".")) if part
    )
    return header + labels + b"\x00" + struct.pack(">HH", TYPE_A, CLASS_IN)


def _skip_name(data: bytes, offset: int) -> int:
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:  # compression pointer: two bytes, end of the name
            return offset + 2
        offset += 1
        if length == 0:
            return offset
        offset += length


def parse_response(data: bytes, query_id: int) -> tuple[int, list[str]]:
    """RCODE and the IPv4 addresses of the A records in the answer section."""
    if len(data) < 12:
        raise ValueError("short DNS response")
    rid, flags, qdcount, ancount, _, _ = struct.unpack(">HHHHHH", data[:12])
    if rid != query_id or not flags & 0x8000:
        raise ValueError("DNS response does not answer our query")
    if flags & 0x0200:
        raise ValueError("truncated DNS response")
    offset = 12
    for _ in range(qdcount):
        offset = _skip_name(data, offset) + 4
    addresses = []
    for _ in range(ancount):
        offset = _skip_name(data, offset)
        rtype, rclass, _ttl, length = struct.unpack(">HHIH", data[offset : offset + 10])
        offset += 10
        if rtype == TYPE_A and rclass == CLASS_IN and length == 4:
            addresses.append(str(ipaddress.IPv4Address(data[offset : offset + 4])))
        offset += length
    return flags & 0x000F, addresses


def query_a(name: str, resolver: tuple[str, int], *, timeout_seconds: float, attempts: int = 2) -> Lookup:
    """Ask ``resolver`` for the A records of ``name``; classify the answer for a DNSBL."""
    last = "no answer"
    for _ in range(attempts):
        query_id = secrets.randbelow(0x10000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(timeout_seconds)
            try:
                sock.sendto(build_query(name, query_id), resolver)
                while True:  # ignore stray datagrams that answer something else
                    data, _ = sock.recvfrom(4096)
                    try:
                        rcode, addresses = parse_response(data, query_id)
                        break
                    except ValueError as exc:
                        last = str(exc)
                        if "does not answer" not in last:
                            return Lookup(Status.ERROR, detail=last)
            except TimeoutError:
                last = f"timeout after {timeout_seconds:g} s"
                continue
            except OSError as exc:
                return Lookup(Status.ERROR, detail=f"resolver unreachable: {exc}")
        return classify(rcode, addresses)
    return Lookup(Status.ERROR, detail=last)


def classify(rcode: int, addresses: list[str]) -> Lookup:
    if rcode == RCODE_NXDOMAIN:
        return Lookup(Status.NOT_LISTED)
    if rcode != RCODE_NOERROR:
        return Lookup(Status.ERROR, detail=RCODES.get(rcode, f"RCODE {rcode}"))
    if not addresses:
        return Lookup(Status.NOT_LISTED)  # NOERROR without A records (NODATA)
    parsed = [ipaddress.IPv4Address(a) for a in addresses]
    if any(a in ERROR_CODES for a in parsed):
        return Lookup(Status.ERROR, codes=tuple(addresses), detail="the blocklist refused the query")
    if not all(a in LISTING for a in parsed):
        # A resolver that rewrites NXDOMAIN into an ad server's address is not a listing.
        return Lookup(Status.ERROR, codes=tuple(addresses), detail="answer outside 127.0.0.0/8")
    return Lookup(Status.LISTED, codes=tuple(addresses))


def system_resolver(path: str = "/etc/resolv.conf") -> tuple[str, int]:
    """The first ``nameserver`` of resolv.conf (in Lambda: the VPC resolver the runtime uses)."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1], 53
    except OSError:
        pass
    return "169.254.169.253", 53  # the Amazon-provided resolver's link-local address


def parse_resolver(text: str) -> tuple[str, int]:
    """``"10.0.0.2"`` or ``"127.0.0.1:5353"``."""
    host, _, port = text.strip().rpartition(":") if text.count(":") == 1 else (text.strip(), "", "")
    return (host, int(port)) if port else (text.strip(), 53)

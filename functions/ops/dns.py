"""A minimal DNS stub resolver on the standard library (RFC 1035): CNAME, MX and TXT lookups.

Why not dnspython: ``functions/`` holds only what the Lambda runtime has (standard library and
boto3), and the DNS doctor needs four record types, read from one recursive resolver. UDP first;
a truncated answer (TC bit) is asked again over TCP.
"""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import dataclass

TYPES = {"A": 1, "CNAME": 5, "MX": 15, "TXT": 16}
NAMES = {number: name for name, number in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


class DnsError(Exception):
    """No usable answer: timeout, network error, SERVFAIL/REFUSED, or a malformed reply."""


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str  # CNAME target; "preference exchange" for MX; the joined strings for TXT
    ttl: int


@dataclass(frozen=True)
class Answer:
    rcode: str  # NOERROR or NXDOMAIN (other codes raise DnsError)
    records: tuple[Record, ...]

    def of_type(self, qtype: str) -> list[Record]:
        return [r for r in self.records if r.type == qtype]


def system_nameserver(resolv_conf: str = "/etc/resolv.conf") -> tuple[str, int]:
    try:
        with open(resolv_conf, encoding="utf-8") as handle:
            for line in handle:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "nameserver":
                    return parts[1], 53
    except OSError:
        pass
    return "127.0.0.1", 53


def encode_name(name: str) -> bytes:
    out = b""
    for label in name.rstrip(".").split("."):
        raw = label.encode("idna") if label else b""
        if not 0 < len(raw) < 64:
            raise DnsError(f"{name!r} is not a valid domain name")
        out += bytes([len(raw)]) + raw
    return out + b"\x00"


def build_query(name: str, qtype: str, query_id: int) -> bytes:
    header = struct.pack(">HHHHHH", query_id, 0x0100, 1, 0, 0, 0)  # RD: ask for recursion
    return header + encode_name(name) + struct.pack(">HH", TYPES[qtype], 1)


def _read_name(data: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    end = None
    for _ in range(128):  # a pointer loop in a hostile reply must not hang us
        if offset >= len(data):
            raise DnsError("truncated name")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            continue
        if length == 0:
            return ".".join(labels).lower(), end if end is not None else offset + 1
        labels.append(data[offset + 1 : offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise DnsError("name compression loop")


def parse_response(data: bytes, query_id: int) -> tuple[Answer, bool]:
    """The answer section and whether the reply was truncated."""
    if len(data) < 12:
        raise DnsError("reply shorter than a DNS header")
    rid, flags, qdcount, ancount, _, _ = struct.unpack(">HHHHHH", data[:12])
    if rid != query_id:
        raise DnsError("reply to another query")
    rcode = RCODES.get(flags & 0xF, str(flags & 0xF))
    if rcode not in ("NOERROR", "NXDOMAIN"):
        raise DnsError(f"resolver answered {rcode}")
    offset = 12
    for _ in range(qdcount):
        _, offset = _read_name(data, offset)
        offset += 4
    records = []
    for _ in range(ancount):
        name, offset = _read_name(data, offset)
        rtype, _, ttl, length = struct.unpack(">HHIH", data[offset : offset + 10])
        offset += 10
        rdata_at, offset = offset, offset + length
        kind = NAMES.get(rtype)
        if kind == "CNAME":
            value = _read_name(data, rdata_at)[0]
        elif kind == "MX":
            preference = struct.unpack(">H", data[rdata_at : rdata_at + 2])[0]
            value = f"{preference} {_read_name(data, rdata_at + 2)[0]}"
        elif kind == "TXT":
            strings, at = [], rdata_at
            while at < offset:
                strings.append(data[at + 1 : at + 1 + data[at]].decode("utf-8", "replace"))
                at += 1 + data[at]
            value = "".join(strings)  # a long TXT record is split in 255-byte strings
        elif kind == "A":
            value = socket.inet_ntoa(data[rdata_at:offset])
        else:
            continue
        records.append(Record(name=name, type=kind, value=value, ttl=ttl))
    return Answer(rcode=rcode, records=tuple(records)), bool(flags & 0x0200)


class Resolver:
    """Asks one recursive resolver (default: the first ``nameserver`` of /etc/resolv.conf)."""

    def __init__(
        self, nameserver: tuple[str, int] | None = None, *, timeout_seconds: float = 3.0, attempts: int = 2
    ) -> None:
        self.nameserver = nameserver or system_nameserver()
        self.timeout_seconds = timeout_seconds
        self.attempts = attempts
        self.queries = 0

    def query(self, name: str, qtype: str) -> Answer:
        last: Exception | None = None
        for _ in range(self.attempts):
            query_id = secrets.randbelow(0x10000)
            packet = build_query(name, qtype, query_id)
            self.queries += 1
            try:
                answer, truncated = parse_response(self._udp(packet), query_id)
                if truncated:
                    answer, _ = parse_response(self._tcp(packet), query_id)
            except (OSError, DnsError) as exc:
                last = exc
                continue
            return answer
        raise DnsError(f"{qtype} {name}: no answer from {self.nameserver[0]}:{self.nameserver[1]} ({last})")

    def _udp(self, packet: bytes) -> bytes:
        family = socket.AF_INET6 if ":" in self.nameserver[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout_seconds)
            sock.sendto(packet, self.nameserver)
            return sock.recv(65535)

    def _tcp(self, packet: bytes) -> bytes:
        with socket.create_connection(self.nameserver, timeout=self.timeout_seconds) as sock:
            sock.sendall(struct.pack(">H", len(packet)) + packet)
            length = struct.unpack(">H", _recv_exactly(sock, 2))[0]
            return _recv_exactly(sock, length)


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise DnsError("connection closed mid-reply")
        data += chunk
    return data

"""Workloads shared by the fault test and the benchmark: valid mail, malformed mail, the fault run."""

from __future__ import annotations

import base64
import json
import random
from collections import Counter
from typing import Any

from functions.sender import producer
from functions.sender.contract import MAX_MESSAGE_BYTES
from tests.support.fleet import Arrival, SenderFleet
from tests.support.ses_model import Faults
from tests.support.sqs_model import CrashOnce

FROM = "news@news.example.at"
DOMAIN = "news.example.at"
DAY = 86_400.0


def heavy_tail_recipients(rng: random.Random) -> int:
    """70 % one recipient; else 1 + Pareto(α = 1), capped at 50 (mean ≈ 2.4, 0.6 % are 50)."""
    if rng.random() < 0.7:
        return 1
    return min(50, 1 + int(rng.paretovariate(1.0)))


def valid_message(
    index: int,
    recipients: int,
    *,
    lane: str,
    kind: str = "simple",
    prefix: str = "m",
    domain: str = "example.com",
) -> dict[str, Any]:
    """One contract-v1 message built with the producer helper (so the sender accepts it)."""
    addresses = [f"u{index}-{j}@{domain}" for j in range(recipients)]
    content: dict[str, Any] = {"subject": "Your order", "text": "Hello", "html": "<p>Hello</p>"}
    if kind == "template":
        content = {"template": "order-shipped", "template_data": {"order": index}}
    elif kind == "raw":
        mime = f"From: {FROM}\r\nSubject: raw {index}\r\nMIME-Version: 1.0\r\n\r\nHello\r\n"
        content = {"raw": mime.encode()}
    [message] = producer.build_messages(
        from_address=FROM,
        recipients=addresses,
        idempotency_key_prefix=f"{prefix}{index:06d}",
        lane=lane,
        **content,
    )
    return message


def refused_bodies(count: int) -> list[tuple[str, str]]:
    """``count`` bodies the contract refuses, each with an idempotency key the measurement can
    follow into the DLQ: an unknown version, an address that is none, no sender, 51 recipients."""
    out: list[tuple[str, str]] = []
    for i in range(count):
        message = json.loads(producer.to_json(valid_message(i, 2, lane="bulk", prefix="bad-")))
        match i % 4:
            case 0:
                message["version"] = 99
            case 1:
                message["to"] = ["not-an-address"]
            case 2:
                del message["from"]
            case _:
                message["to"] = [f"u{i}-{j}@example.com" for j in range(51)]
        out.append((message["idempotency_key"], json.dumps(message)))
    return out


def arrival(at: float, message: dict[str, Any], recipients: int) -> Arrival:
    return Arrival(
        at=at,
        lane=message["lane"],
        body=producer.to_json(message),
        key=message["idempotency_key"],
        recipients=recipients,
    )


def _body(**fields: Any) -> str:
    base: dict[str, Any] = {
        "version": 1,
        "idempotency_key": "bad",
        "from": FROM,
        "to": ["someone@example.com"],
        "subject": "s",
        "text": "t",
    }
    base.update(fields)
    return json.dumps({k: v for k, v in base.items() if v is not _DROP}, separators=(",", ":"))


_DROP = object()


def malformed_messages() -> list[tuple[str, str, str]]:
    """(what is wrong, queue body, the reason code the DLQ copy must carry). Bodies are unique."""
    raw_ok = "From: news@news.example.at\r\nSubject: x\r\n\r\nbody\r\n"

    def b64(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    cases = [
        ("not JSON", "this is not json #1", "INVALID_JSON"),
        ("truncated JSON", '{"version": 1, "idempotency_key": "bad-2"', "INVALID_JSON"),
        ("NaN literal", '{"version": NaN, "n": 3}', "INVALID_JSON"),
        ("duplicate JSON key", '{"version": 1, "version": 1, "n": 4}', "INVALID_JSON"),
        ("lone surrogate escape", _body(idempotency_key="bad-5", subject="\ud800"), "INVALID_JSON"),
        ("a JSON array", '[1, 2, "bad-6"]', "NOT_AN_OBJECT"),
        ("a JSON string", '"bad-7"', "NOT_AN_OBJECT"),
        ("no version", _body(version=_DROP, idempotency_key="bad-8"), "MISSING_FIELD"),
        ("version 2", _body(version=2, idempotency_key="bad-9"), "UNSUPPORTED_VERSION"),
        ("version as a string", _body(version="1", idempotency_key="bad-10"), "INVALID_FIELD"),
        ("unknown field", _body(idempotency_key="bad-11", priority="high"), "UNKNOWN_FIELD"),
        ("no idempotency key", _body(idempotency_key=_DROP, subject="bad-12"), "MISSING_FIELD"),
        ("idempotency key with spaces", _body(idempotency_key="bad 13/x"), "INVALID_IDEMPOTENCY_KEY"),
        ("unknown lane", _body(idempotency_key="bad-14", lane="urgent"), "UNKNOWN_LANE"),
        ("no from", _body(idempotency_key="bad-15", **{"from": _DROP}), "MISSING_FIELD"),
        ("from is no address", _body(idempotency_key="bad-16", **{"from": "newsletter"}), "INVALID_ADDRESS"),
        ("recipient without domain", _body(idempotency_key="bad-17", to=["bob@"]), "INVALID_ADDRESS"),
        (
            "non-ASCII local part",
            _body(idempotency_key="bad-18", to=["jürgen@example.com"]),
            "INVALID_ADDRESS",
        ),
        (
            "CRLF in the subject",
            _body(idempotency_key="bad-19", subject="Hi\r\nBcc: all@x.com"),
            "HEADER_INJECTION",
        ),
        ("no recipient", _body(idempotency_key="bad-20", to=[]), "NO_RECIPIENTS"),
        (
            "51 recipients",
            _body(idempotency_key="bad-21", to=[f"r{i}@example.com" for i in range(51)]),
            "TOO_MANY_RECIPIENTS",
        ),
        (
            "the same recipient in to and cc",
            _body(idempotency_key="bad-22", cc=["Someone@example.com"]),
            "DUPLICATE_RECIPIENT",
        ),
        ("no content", _body(idempotency_key="bad-23", subject=_DROP, text=_DROP), "NO_CONTENT"),
        (
            "html and raw",
            _body(idempotency_key="bad-24", subject=_DROP, text=_DROP, html="<p>x</p>", raw=b64(raw_ok)),
            "CONFLICTING_CONTENT",
        ),
        ("text and template", _body(idempotency_key="bad-25", template={"name": "t"}), "CONFLICTING_CONTENT"),
        (
            "template data not an object",
            _body(idempotency_key="bad-26", subject=_DROP, text=_DROP, template={"name": "t", "data": [1]}),
            "INVALID_TEMPLATE_DATA",
        ),
        (
            "raw not base64",
            _body(idempotency_key="bad-27", subject=_DROP, text=_DROP, raw="%%%"),
            "INVALID_RAW",
        ),
        (
            "raw From differs",
            _body(
                idempotency_key="bad-28", subject=_DROP, text=_DROP, raw=b64(raw_ok.replace("news@", "ceo@"))
            ),
            "INVALID_RAW",
        ),
        (
            "raw with an X-SES header",
            _body(
                idempotency_key="bad-29",
                subject=_DROP,
                text=_DROP,
                raw=b64("X-SES-CONFIGURATION-SET: other\r\n" + raw_ok),
            ),
            "FORBIDDEN_HEADER",
        ),
        (
            "Return-Path header",
            _body(idempotency_key="bad-30", headers={"Return-Path": "x@y.com"}),
            "FORBIDDEN_HEADER",
        ),
        ("reserved tag", _body(idempotency_key="bad-31", tags={"idempotency_key": "other"}), "INVALID_TAG"),
        ("tag with a space", _body(idempotency_key="bad-32", tags={"campaign": "a b"}), "INVALID_TAG"),
        # over the contract's limit, within what the lane holds (a client that skipped the producer)
        ("oversize", _body(idempotency_key="bad-33", text="x" * MAX_MESSAGE_BYTES), "MESSAGE_TOO_LARGE"),
        ("to is a string", _body(idempotency_key="bad-34", to="someone@example.com"), "INVALID_FIELD"),
        ("text without subject", _body(idempotency_key="bad-35", subject=_DROP), "MISSING_FIELD"),
        (
            "from a domain not of this slice",
            _body(idempotency_key="bad-36", **{"from": "ceo@other.example.org"}),
            "FROM_DOMAIN_NOT_ALLOWED",
        ),
    ]
    assert len({body for _, body, _ in cases}) == len(cases)
    return cases


REJECTED = frozenset(f"blocked{i}@example.com" for i in range(8))


def fault_fleet(*, seed: int = 7, messages: int = 10_000, rate_per_second: float = 100) -> SenderFleet:
    """The fault run (defaults): 10 000 valid messages (+100 the app enqueues twice, + the malformed
    catalogue) through 12 senders (bulk 8, transactional 4) at 100 recipients/s, with:
    a throttle storm (t = 40-45 s) and 1 % spurious throttles, 1 % HTTP 500, 0.5 % connect
    timeouts, 0.25 % read timeouts *after* SES accepted, a sender crash mid-batch (after SES
    accepted its 3rd send, t > 1000 s), the daily quota running out (yesterday's traffic leaves
    6 000 recipients; it ages out at t = 150 s), a SendingPaused episode (t = 1020-1050 s, while
    the backlog drains), and 8 recipients SES rejects."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible workload, not a secret
    start_epoch = 1_800_000_000.0
    fleet = SenderFleet(
        rate_per_second=rate_per_second,
        ses={
            "seed": seed,
            "verified_domains": {DOMAIN},
            "max_24_hour_send": 200_000,
            "prior_sends": [(start_epoch - DAY + 150, 194_000)],
            "faults": Faults(
                throttle_storms=[(40, 45)],
                throttle_rate=0.01,
                server_error_rate=0.01,
                connect_timeout_rate=0.005,
                timeout_after_accept_rate=0.0025,
                sending_paused=[(1020, 1050)],
                rejected_addresses=REJECTED,
            ),
        },
        concurrency={"transactional": 4, "bulk": 8},
        crash_after={"bulk": CrashOnce(after_seconds=1000, after_sends=3)},
        config={"allowed_from_domains": frozenset({DOMAIN})},
    )
    assert fleet.clock.start == start_epoch
    arrivals = []
    rejected = iter(sorted(REJECTED))
    for i in range(messages):
        n = heavy_tail_recipients(rng)
        lane = "transactional" if rng.random() < 0.3 else "bulk"
        kind = rng.choices(["simple", "template", "raw"], weights=[80, 15, 5])[0]
        message = valid_message(i, n, lane=lane, kind=kind)
        if i % 997 == 500:  # a recipient SES refuses
            message["to" if "to" in message else "bcc"][-1] = next(rejected, "u@example.com")
        at = 0.0 if i < 4000 else rng.uniform(0, 300)
        arrivals.append(arrival(at, message, n))
    for dup in rng.sample(arrivals, 100):  # the application enqueues these twice
        arrivals.append(Arrival(dup.at + rng.uniform(1, 2000), dup.lane, dup.body, dup.key, dup.recipients))
    for i, (_, body, _) in enumerate(malformed_messages()):
        arrivals.append(Arrival(rng.uniform(0, 600), "bulk" if i % 2 else "transactional", body, None))
    fleet.add(arrivals)
    return fleet


def fault_summary(fleet: SenderFleet) -> dict[str, Any]:
    """The figures of a finished fault run (``bench-results/faults.json``)."""
    ledger = fleet.ledger()
    dead = Counter(reason for reasons in ledger.dead_letters.values() for reason in reasons)
    dead_malformed = Counter(r or "NO_REASON" for r in ledger.malformed_reasons)
    valid_arrivals = [a for a in fleet.arrivals if a.key is not None]
    outcomes = fleet.ses.outcomes()
    return {
        "messages_valid": len(ledger.expected),
        "messages_enqueued_twice_by_the_app": len(valid_arrivals) - len(ledger.expected),
        "messages_malformed": sum(1 for a in fleet.arrivals if a.key is None),
        "recipients": sum({a.key: a.recipients for a in valid_arrivals}.values()),
        "senders": sum(esm.concurrency for esm in fleet.esms),
        "rate_per_second": fleet.rate_per_second,
        "sent_once": sum(
            1 for k in ledger.expected if ledger.sent.get(k) == 1 and k not in ledger.dead_letters
        ),
        "ambiguous": len(ledger.ambiguous_in_store),
        "ambiguous_accepted_by_ses": sum(1 for k in ledger.ambiguous_in_store if ledger.sent.get(k)),
        "dead_lettered_not_ambiguous": sum(
            1 for k, reasons in ledger.dead_letters.items() if "AMBIGUOUS_OUTCOME" not in reasons
        ),
        "dead_lettered_valid_by_reason": dict(sorted(dead.items())),
        "dead_lettered_malformed_by_reason": dict(sorted(dead_malformed.items())),
        "lost": len(ledger.lost),
        "duplicates": len(ledger.duplicates),
        "over_rate_windows": len(fleet.ses.over_rate()),
        "throttles_seen": outcomes.get("throttled", 0),
        "ses_calls_by_outcome": dict(sorted(outcomes.items())),
        "ses_connect_timeouts": fleet.ses.connect_timeouts,
        "sender_crashes": sum(esm.crashes for esm in fleet.esms),
        "sender_outcomes": dict(sorted(fleet.log.events.items())),
        "invocations": sum(esm.invocations for esm in fleet.esms),
        "virtual_seconds": round(fleet.clock.elapsed(), 3),
        "wall_seconds": round(fleet.wall_seconds, 3),
    }

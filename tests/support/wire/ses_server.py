"""A strict SESv2 stand-in over HTTP on 127.0.0.1, for handlers that build their own boto3 clients.

Why HTTP and not an injected fake: on the wire a Lambda process creates its ``sesv2`` client from
its environment (``AWS_ENDPOINT_URL_SESV2``), so every request is serialised, signed and sent, and
every answer parsed, by botocore exactly as against SES; a 429 here becomes botocore's own
``TooManyRequestsException``. It speaks the REST-JSON protocol of the two calls our Lambdas make:
``POST /v2/email/outbound-emails`` (SendEmail) and ``GET /v2/email/account`` (GetAccount).

Why :class:`~tests.support.ses_model.SesModel` inside: its rules are the ones the virtual-time
benchmarks are judged by (recipients To + Cc + Bcc; the sliding window ``(t - 1, t]`` in whole
milliseconds by *arrival*; a lone call larger than the rate passes into an empty window; request
and tag checks; the daily quota; injected 5xx and accept-then-time-out). Here its clock is the
server's own (monotonic, anchored to the epoch at start, so arrival times compare with other
processes' ``time.time()``). A call's arrival is when its request line is read, before its
headers, body and JSON are parsed, and calls are judged one at a time in arrival order, each at
its arrival time (a call waits until every earlier arrival is judged). Why: judged at the moment
the decision lock was free, a burst of 25 calls at one instant was judged up to 90 ms after it
arrived (p99 82 ms in a 40-s run of the heartbeat benchmark, on a loaded 2-core host): the
stand-in's own parsing and queueing, counted as if the calls had arrived that late. Waiting
(service latency, a hung reply) happens outside the decision lock.

Every call is recorded (arrival, recipients, outcome, the ``idempotency_key`` / ``slice`` /
``lane`` EmailTags) and served as JSON at ``GET /_stats`` for a benchmark in another process;
``POST /_faults`` changes the injected faults while it runs. Run it as a process with
``python -m tests.support.wire.ses_server --port-file F --max-send-rate 60`` or in a thread with
:class:`SesStandIn` (``start()`` / ``stop()``); talk to it with :class:`SesControl`.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import random
import threading
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, ParamValidationError, ReadTimeoutError

from tests.support.ses_model import IDEMPOTENCY_TAG, NO_LATENCY, Faults, Latency, SesModel, _tags
from tests.support.wire.services import LOOPBACK, watch_parent, write_file_atomically

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
ACCOUNT_PATH = "/v2/email/account"
DAY_SECONDS = 86_400.0
TURN_WAIT_SECONDS = 1.0
"""Longest a call waits for an earlier arrival to be judged (one whose client stalled mid-body)."""


@dataclass(frozen=True)
class WireFaults:
    """Faults the stand-in injects (shares are per SendEmail call, drawn from a seeded RNG).

    Attributes:
        server_error_share: HTTP 500 ``InternalFailure``, nothing sent.
        hang_share: accepted (counted, recorded, a MessageId minted), then the reply is held
            ``hang_seconds`` - past the client's read timeout, so it sees ``ReadTimeoutError``.
        hang_seconds: how long a hung reply is held. Default 20 (the sender's read timeout is 15).
        throttle_share: spurious 429 on a share of calls, whatever the window holds.
        throttle_next: the next this-many calls get a 429 (deterministic, for tests).
    """

    server_error_share: float = 0.0
    hang_share: float = 0.0
    hang_seconds: float = 20.0
    throttle_share: float = 0.0
    throttle_next: int = 0

    def model_faults(self) -> Faults:
        return Faults(
            server_error_rate=self.server_error_share,
            timeout_after_accept_rate=self.hang_share,
            throttle_rate=self.throttle_share,
            read_timeout_seconds=0.0,  # the model must not wait: the server holds the reply
        )


class ArrivalClock:
    """Epoch seconds read from the monotonic clock (a wall-clock step cannot reorder arrivals);
    ``sleep`` does nothing because the server never waits while holding its decision lock."""

    def __init__(self) -> None:
        self._wall, self._mono = time.time(), time.monotonic()
        self._pinned = threading.local()

    def now(self) -> float:
        pinned = getattr(self._pinned, "at", None)
        return pinned if pinned is not None else self._wall + (time.monotonic() - self._mono)

    def pin(self, at: float | None) -> None:
        """While a call is judged (in its thread): ``now`` is its arrival time."""
        self._pinned.at = at

    def sleep(self, seconds: float) -> None:
        pass


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    error_type: str | None = None
    delay_seconds: float = 0.0


class SesStandIn:
    """The stand-in's state and decisions; :meth:`start` serves them on ``host:port`` (0: free)."""

    def __init__(
        self,
        *,
        max_send_rate: float,
        max_24_hour_send: int = 1_000_000,
        latency: Latency | None = None,
        faults: WireFaults | None = None,
        verified_domains: set[str] | None = None,
        seed: int = 0,
        host: str = LOOPBACK,
        port: int = 0,
    ) -> None:
        self.clock = ArrivalClock()
        self.max_send_rate = max_send_rate
        self.max_24_hour_send = max_24_hour_send
        self.latency = latency or Latency()
        self.faults = faults or WireFaults()
        self.model = SesModel(
            self.clock,
            rate_per_second=max_send_rate,
            max_24_hour_send=max_24_hour_send,
            latency=NO_LATENCY,
            faults=self.faults.model_faults(),
            verified_domains=verified_domains,
            seed=seed,
        )
        self._rng = random.Random(seed + 1)  # noqa: S311 - reproducible latencies, not a secret
        self._lock = threading.Lock()
        self._turns = threading.Condition(self._lock)
        self._arrivals: list[float] = []  # arrival times of the requests not judged yet, sorted
        self.calls: list[dict[str, Any]] = []
        self.started_at = self.clock.now()
        self._server = _Server((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SesStandIn:
        self._thread = threading.Thread(target=self._server.serve_forever, name="ses-stand-in", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> SesStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- arrivals ---------------------------------------------------------------------------------
    def arrive(self) -> float:
        """Stamp a request as it arrives; calls are judged in this order, at this time. The stamp
        is read before the lock: a burst's judging holds it, and must not delay the stamps."""
        at = self.clock.now()
        with self._lock:
            bisect.insort(self._arrivals, at)
        return at

    def leave(self, at: float) -> None:
        """The request stamped ``at`` is answered (or was no SendEmail): later ones need not wait."""
        with self._lock:
            self._forget(at)

    def _forget(self, at: float) -> None:
        i = bisect.bisect_left(self._arrivals, at)
        if i < len(self._arrivals) and self._arrivals[i] == at:
            del self._arrivals[i]
            self._turns.notify_all()

    # -- the SES API ------------------------------------------------------------------------------
    def send_email(self, payload: dict[str, Any], *, arrived_at: float | None = None) -> Reply:
        """Judge one call at ``arrived_at`` (see :meth:`arrive`; ``None``: now) once every
        earlier arrival is judged (waiting at most ``TURN_WAIT_SECONDS`` for one that hangs)."""
        kwargs = _decode_blobs(payload)
        try:
            tags = _tags(kwargs)
        except (KeyError, TypeError):
            tags = {}  # the model refuses such a request; the record just has no tags
        with self._lock:
            if arrived_at is None:
                arrived_at = self.clock.now()
            give_up = time.monotonic() + TURN_WAIT_SECONDS
            while self._arrivals and self._arrivals[0] < arrived_at and time.monotonic() < give_up:
                self._turns.wait(timeout=max(0.0, give_up - time.monotonic()))
            self.clock.pin(arrived_at)
            try:
                return self._judge(kwargs, tags)
            finally:
                self.clock.pin(None)
                self._forget(arrived_at)

    def _judge(self, kwargs: dict[str, Any], tags: dict[str, str]) -> Reply:
        """Called under the lock, the clock pinned to the call's arrival."""
        seen = len(self.model.attempts)
        if self.faults.throttle_next > 0:
            self.faults = replace(self.faults, throttle_next=self.faults.throttle_next - 1)
            reply = _error(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
            return self._record(kwargs, tags, "throttled", reply)
        try:
            answer = self.model.send_email(**kwargs)
        except ReadTimeoutError:  # accepted, and the caller will not hear of it
            message_id = self.model.accepted[-1].message_id
            reply = Reply(200, {"MessageId": message_id}, delay_seconds=self.faults.hang_seconds)
            return self._record(kwargs, tags, "timeout_after_accept", reply, message_id, seen=seen)
        except ClientError as exc:
            error = exc.response["Error"]
            status = int(exc.response["ResponseMetadata"]["HTTPStatusCode"])
            reply = _error(status, str(error["Code"]), str(error["Message"]))
            return self._record(kwargs, tags, self.model.attempts[-1].outcome, reply, seen=seen)
        except (ParamValidationError, KeyError, TypeError, ValueError) as exc:
            reply = _error(400, "BadRequestException", str(exc)[:300])
            return self._record(kwargs, tags, "bad_request", reply, seen=seen)
        message_id = str(answer["MessageId"])
        reply = Reply(200, {"MessageId": message_id}, delay_seconds=self.latency.sample(self._rng))
        return self._record(kwargs, tags, "accepted", reply, message_id, seen=seen)

    def _record(
        self,
        kwargs: dict[str, Any],
        tags: dict[str, str],
        outcome: str,
        reply: Reply,
        message_id: str | None = None,
        *,
        seen: int | None = None,
    ) -> Reply:
        """Called under the lock. The model's attempt (when it judged the call) gives the arrival
        time and the recipient count (raw MIME included); else the server's clock and To+Cc+Bcc."""
        if seen is not None and len(self.model.attempts) > seen:
            attempt = self.model.attempts[-1]
            at, recipients = attempt.at, attempt.recipients
        else:
            destination = kwargs.get("Destination") or {}
            at = self.clock.now()
            recipients = sum(
                len(destination.get(p) or []) for p in ("ToAddresses", "CcAddresses", "BccAddresses")
            )
        self.calls.append(
            {
                "at": at,
                "recipients": recipients,
                "outcome": outcome,
                "status": reply.status,
                "idempotency_key": tags.get(IDEMPOTENCY_TAG),
                "slice": tags.get("slice"),
                "lane": tags.get("lane"),
                "message_id": message_id,
            }
        )
        if reply.status >= 400:  # an error answer takes a round trip too
            reply = replace(reply, delay_seconds=self.latency.sample(self._rng))
        return reply

    def get_account(self) -> Reply:
        with self._lock:
            since = self.clock.now() - DAY_SECONDS
            sent = sum(
                c["recipients"]
                for c in self.calls
                if c["at"] > since and c["outcome"] in {"accepted", "timeout_after_accept"}
            )
        quota = {
            "Max24HourSend": float(self.max_24_hour_send),
            "MaxSendRate": float(self.max_send_rate),
            "SentLast24Hours": float(sent),
        }
        body = {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True,
            "SendQuota": quota,
            "SendingEnabled": True,
            "SuppressionAttributes": {"SuppressedReasons": []},
        }
        return Reply(200, body, delay_seconds=self.latency.sample(self._rng))

    # -- control ----------------------------------------------------------------------------------
    def stats(self, since: int = 0) -> dict[str, Any]:
        with self._lock:
            calls = self.calls[since:]
            faults = asdict(self.faults)
        return {
            "max_send_rate": self.max_send_rate,
            "started_at": self.started_at,
            "now": self.clock.now(),
            "faults": faults,
            "since": since,
            "calls": calls,
        }

    def set_faults(self, faults: WireFaults) -> None:
        with self._lock:
            self.faults = faults
            self.model.faults = faults.model_faults()


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"message": message}, error_type=code)


def _decode_blobs(payload: dict[str, Any]) -> dict[str, Any]:
    """The wire carries blobs as base64 strings; the model (like boto3's caller) wants bytes."""
    content = payload.get("Content")
    raw = content.get("Raw") if isinstance(content, dict) else None
    if isinstance(content, dict) and isinstance(raw, dict) and isinstance(raw.get("Data"), str):
        payload = {**payload, "Content": {**content, "Raw": {**raw, "Data": base64.b64decode(raw["Data"])}}}
    return payload


class _Server(ThreadingHTTPServer):
    # SES takes as many connections as its clients open; socketserver's listen backlog of 5
    # drops the SYNs of a sender's ten threads connecting at once (a 1-s retransmit: slots missed)
    request_queue_size = 256


def _handler_for(stand_in: SesStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
        # Headers and body go out in two writes: with Nagle on, each reply waits for the
        # client's delayed ACK (~40 ms on Linux), far longer than SES's own service time.
        disable_nagle_algorithm = True

        arrived_at: float | None = None

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the record at /_stats is the log

        def parse_request(self) -> bool:
            self.arrived_at = stand_in.arrive()  # the request line is in: it has arrived
            return super().parse_request()

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            finally:  # whatever became of it (answered, malformed, no such method)
                if self.arrived_at is not None:
                    stand_in.leave(self.arrived_at)
                    self.arrived_at = None

        def do_GET(self) -> None:
            path, _, query = self.path.partition("?")
            self._body()
            if path == ACCOUNT_PATH:
                self._answer(self._signed() or stand_in.get_account())
            elif path == "/_stats":
                params = dict(p.partition("=")[::2] for p in query.split("&") if p)
                self._answer(Reply(200, stand_in.stats(int(params.get("since") or 0))))
            elif path == "/_health":
                self._answer(Reply(200, {"ok": True}))
            else:
                self._answer(_unsupported("GET", path))

        def do_POST(self) -> None:
            body = self._body()
            if self.path == SEND_EMAIL_PATH:
                try:
                    payload = json.loads(body or b"{}")
                except ValueError:
                    self._answer(_error(400, "SerializationException", "Request body is not JSON."))
                    return
                self._answer(self._signed() or stand_in.send_email(payload, arrived_at=self.arrived_at))
            elif self.path == "/_faults":
                stand_in.set_faults(WireFaults(**json.loads(body or b"{}")))
                self._answer(Reply(200, {"faults": asdict(stand_in.faults)}))
            else:
                self._answer(_unsupported("POST", self.path))

        def _signed(self) -> Reply | None:
            # SES refuses unsigned requests; so does the stand-in (a client that lost its
            # credentials must fail here as it would in AWS).
            if (self.headers.get("Authorization") or "").startswith("AWS4-HMAC-SHA256 "):
                return None
            return _error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, reply: Reply) -> None:
            if reply.delay_seconds > 0:
                time.sleep(reply.delay_seconds)
            data = json.dumps(reply.body, separators=(",", ":")).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
                if reply.error_type:
                    self.send_header("x-amzn-ErrorType", reply.error_type)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (read timeout)
                self.close_connection = True

    return Handler


def _unsupported(method: str, path: str) -> Reply:
    return _error(404, "NotFoundException", f"{method} {path} is not served by the SES stand-in")


class SesControl:
    """The benchmark's side: reads the record and sets faults over HTTP (any process)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def stats(self, since: int = 0) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/_stats?since={since}", timeout=30) as response:  # noqa: S310
            return dict(json.loads(response.read()))

    def set_faults(self, faults: WireFaults) -> None:
        request = urllib.request.Request(  # noqa: S310 - a loopback URL we started
            f"{self.url}/_faults", data=json.dumps(asdict(faults)).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--max-send-rate", type=float, required=True)
    parser.add_argument("--max-24-hour-send", type=int, default=1_000_000)
    parser.add_argument("--latency-median-seconds", type=float, default=Latency().median_seconds)
    parser.add_argument("--faults", default="{}", help="WireFaults as JSON")
    parser.add_argument("--verified-domain", action="append", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    median = args.latency_median_seconds
    latency = NO_LATENCY if median <= 0 else Latency(median_seconds=median)
    stand_in = SesStandIn(
        max_send_rate=args.max_send_rate,
        max_24_hour_send=args.max_24_hour_send,
        latency=latency,
        faults=WireFaults(**json.loads(args.faults)),
        verified_domains=set(args.verified_domain) if args.verified_domain else None,
        seed=args.seed,
    )
    watch_parent(args.max_seconds)
    write_file_atomically(args.port_file, stand_in.url)
    stand_in._server.serve_forever()


if __name__ == "__main__":
    main()

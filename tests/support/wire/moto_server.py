"""moto_server for DynamoDB and SQS on 127.0.0.1, made as atomic as the real services.

Why a serialising layer: moto applies a DynamoDB write by checking its ConditionExpression and
then mutating the stored item in place, with no lock, so two concurrent conditional UpdateItems
on one item can both pass (the limiter's optimistic concurrency would then lose a grant), and a
GetItem can see half a write. DynamoDB serialises the writes to an item and a strongly consistent
read sees whole writes. So here every request naming one item (GetItem, PutItem, UpdateItem,
DeleteItem) holds that item's lock; a multi-item write (TransactWriteItems, BatchWriteItem)
holds all its items' locks, taken in sorted order so two of them cannot deadlock; reads of many
items (Query, Scan, BatchGetItem, TransactGetItems) pass unlocked - none of our Lambdas decides
anything on them. Keys are found with the key schema seen in each table's CreateTable.

SQS likewise: moto's ReceiveMessage checks that a message is visible and then marks it received,
without a lock, so two concurrent receivers can both get it. Every SQS request for a queue holds
that queue's lock; a long poll waits *outside* it (rewritten into short polls, repeated when a
message is sent or after at most ``POLL_SECONDS``, until ``WaitTimeSeconds`` is up), so an idle
poller never blocks the senders' deletes and visibility changes.

Why a WSGI layer inside moto's own process and not an HTTP proxy in front of it: the same
guarantee (nothing reaches moto's backends unserialised) without a second hop and a second
process parsing every request's HTTP on a two-core machine; the ceiling is moto's own.

``/_wire/stats`` (requests, time inside, lock waits, per operation) and ``/_wire/queues`` (every
message of every queue: delayed and in-flight ones too, which no SQS API lists - the one place
moto's state is read directly) serve the benchmark. Run as
``python -m tests.support.wire.moto_server --port-file F``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from tests.support.wire.services import LOOPBACK, watch_parent, write_file_atomically

POLL_SECONDS = (
    0.2  # longest a long poll sleeps between looks (visibility timeouts and delays expire silently)
)
_ONE_ITEM = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}
_SQS_WAKES = {"SendMessage", "SendMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}

StartResponse = Callable[..., Any]
Wsgi = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class _Locks:
    """Named locks made on first use (a few thousand items at most in a run)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._wakes: dict[str, threading.Condition] = {}

    def lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def wake(self, name: str) -> threading.Condition:
        with self._guard:
            return self._wakes.setdefault(name, threading.Condition())

    @contextlib.contextmanager
    def holding(self, names: Iterable[str]) -> Iterator[float]:
        """Hold every named lock (sorted: no deadlock); yields the seconds spent waiting."""
        started = time.perf_counter()
        with contextlib.ExitStack() as stack:
            for name in sorted(set(names)):
                stack.enter_context(self.lock(name))
            yield time.perf_counter() - started


class SerialisingLayer:
    """WSGI middleware around moto's app; see the module docstring for what it serialises."""

    def __init__(self, app: Wsgi, direct: Mapping[str, Wsgi] | None = None) -> None:
        self.app = app
        # JSON-protocol calls go straight to their service's app: moto's host dispatcher costs
        # ~1 ms a request (and holds a global lock) to find what X-Amz-Target already says.
        self.direct = direct or {}
        self.locks = _Locks()
        self.key_schemas: dict[str, list[str]] = {}
        self._stats_lock = threading.Lock()
        self.stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])  # n, busy s, wait s

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_wire/"):
            return self._control(path, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service, _, operation = target.partition(".")
        if not operation:  # not a JSON-protocol call: nothing to serialise
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = {}
        started = time.perf_counter()
        app = self.direct.get(service.split("_")[0], self.app)
        if service.startswith("DynamoDB_"):
            names = self._dynamodb_items(operation, payload)
            status, headers, chunks, waited = self._locked(app, environ, body, names)
        elif service == "AmazonSQS" and isinstance(payload.get("QueueUrl"), str):
            status, headers, chunks, waited = self._sqs(app, environ, body, operation, payload)
        else:
            status, headers, chunks, waited = self._locked(app, environ, body, ())
        with self._stats_lock:
            entry = self.stats[f"{service.split('_')[0]}.{operation}"]
            entry[0] += 1
            entry[1] += time.perf_counter() - started
            entry[2] += waited
        start_response(status, headers)
        return chunks

    def _locked(
        self, app: Wsgi, environ: dict[str, Any], body: bytes, names: Iterable[str]
    ) -> tuple[str, list[tuple[str, str]], list[bytes], float]:
        with self.locks.holding(names) as waited:
            status, headers, chunks = _call(app, environ, body)
        return status, headers, chunks, waited

    def _dynamodb_items(self, operation: str, payload: dict[str, Any]) -> list[str]:
        table = str(payload.get("TableName", ""))
        if operation == "CreateTable":
            self.key_schemas[table] = [k["AttributeName"] for k in payload.get("KeySchema", [])]
            return []
        if operation in _ONE_ITEM:
            return [self._item(table, payload.get("Key") or payload.get("Item") or {})]
        if operation == "TransactWriteItems":
            names = []
            for entry in payload.get("TransactItems", []):
                for action in entry.values():
                    names.append(
                        self._item(action.get("TableName", ""), action.get("Key") or action.get("Item") or {})
                    )
            return names
        if operation == "BatchWriteItem":
            return [
                self._item(
                    t, r.get("PutRequest", {}).get("Item") or r.get("DeleteRequest", {}).get("Key") or {}
                )
                for t, requests in payload.get("RequestItems", {}).items()
                for r in requests
            ]
        return []

    def _item(self, table: str, attributes: dict[str, Any]) -> str:
        names = self.key_schemas.get(table) or sorted(attributes)
        key = {n: attributes.get(n) for n in names}
        return f"item:{table}:{json.dumps(key, sort_keys=True)}"

    def _sqs(
        self, app: Wsgi, environ: dict[str, Any], body: bytes, operation: str, payload: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], list[bytes], float]:
        queue = "queue:" + payload["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        wake = self.locks.wake(queue)
        wait_seconds = float(payload.get("WaitTimeSeconds") or 0) if operation == "ReceiveMessage" else 0.0
        if wait_seconds > 0:
            body = json.dumps({**payload, "WaitTimeSeconds": 0}).encode()
            environ = {**environ, "CONTENT_LENGTH": str(len(body))}
        deadline = time.monotonic() + wait_seconds
        waited_total = 0.0
        while True:
            status, headers, chunks, waited = self._locked(app, environ, body, [queue])
            waited_total += waited
            remaining = deadline - time.monotonic()
            if operation in _SQS_WAKES:
                with wake:
                    wake.notify_all()
            if remaining <= 0 or not status.startswith("200") or _has_messages(chunks):
                return status, headers, chunks, waited_total
            with wake:
                wake.wait(min(POLL_SECONDS, remaining))

    def _control(self, path: str, start_response: StartResponse) -> list[bytes]:
        if path == "/_wire/stats":
            with self._stats_lock:
                body: Any = {k: {"requests": v[0], "busy_seconds": v[1], "lock_wait_seconds": v[2]}
                             for k, v in sorted(self.stats.items())}  # fmt: skip
        elif path == "/_wire/queues":
            body = self._queues()
        else:
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b"{}"]
        data = json.dumps(body).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]

    def _queues(self) -> dict[str, list[dict[str, Any]]]:
        from moto.sqs.models import sqs_backends

        out: dict[str, list[dict[str, Any]]] = {}
        for _account, region, backend in sqs_backends.iter_backends():
            queues: dict[str, Any] = getattr(backend, "queues", {})
            for name, queue in list(queues.items()):
                with self.locks.holding([f"queue:{name}"]):
                    out[f"{region}/{name}"] = [
                        {
                            "body": m.body,
                            "visible": bool(m.visible),
                            "delayed": bool(m.delayed),
                            "receive_count": m.approximate_receive_count,
                            "attributes": {
                                k: v.get("StringValue") for k, v in (m.message_attributes or {}).items()
                            },
                        }
                        for m in list(queue._messages)
                    ]
        return out


def _call(app: Wsgi, environ: dict[str, Any], body: bytes) -> tuple[str, list[tuple[str, str]], list[bytes]]:
    """Run the app to completion (inside the caller's locks) and keep its answer."""
    answer: dict[str, Any] = {}

    def start_response(
        status: str, headers: list[tuple[str, str]], _exc_info: Any = None
    ) -> Callable[[bytes], None]:
        answer["status"], answer["headers"] = status, headers
        return lambda _data: None

    result = app({**environ, "wsgi.input": io.BytesIO(body)}, start_response)
    try:
        chunks = list(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], chunks


def _has_messages(chunks: list[bytes]) -> bool:
    try:
        return bool(json.loads(b"".join(chunks) or b"{}").get("Messages"))
    except ValueError:
        return True  # not JSON: let the client see it


def fast_clock() -> None:
    """moto's ``unix_time`` builds datetimes (~20 us a call) and its SQS model calls it per message
    for every attribute it computes: GetQueueAttributes on a queue of 300 messages took 50-160 ms
    (real SQS: a few ms), so the heartbeat's backlog reads alone took half of each tick. Same value,
    read from ``time.time()`` when no datetime is given; patched in moto's process only."""
    import moto.sqs.models as sqs_models
    from moto.core import utils

    slow = utils.unix_time

    def unix_time(dt: Any = None) -> float:
        return time.time() if dt is None else float(slow(dt))

    def unix_time_millis(dt: Any = None) -> float:
        return unix_time(dt) * 1000.0

    for module in (utils, sqs_models):
        setattr(module, "unix_time", unix_time)  # noqa: B010 - a patch, named as moto names it
        setattr(module, "unix_time_millis", unix_time_millis)  # noqa: B010


def _plain(value: Any) -> bool:
    """JSON as it is: what moto's serializer would write unchanged (no bytes to base64, no
    datetimes to format, no ``None`` to leave out)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return isinstance(value, (str, bool, int, float))


def fast_item_results() -> None:
    """moto 5.2 writes every response by walking botocore's output shape member by member: a
    GetItem of the ledger item (30 attributes) spent 11 of its 15 ms there, more than the read
    itself, and the ledger is read hundreds of times a run on a two-core host the senders share.
    A one-item operation's result is already DynamoDB's wire JSON (attribute values as
    ``{"S": ...}``, ``{"N": ...}``), so it is written with ``json.dumps``: the same document
    (``tests/integration/test_wire_moto_server.py`` compares the two), status and headers from
    moto's own serializer of an empty result. Anything else (binary values, errors, other
    operations) takes moto's path; patched in moto's process only."""
    from moto.dynamodb.responses import DynamoResult

    slow = DynamoResult.execute_result

    def execute_result(self: Any, context: Any) -> Any:
        result = self.result
        if (
            context.operation_model.name not in _ONE_ITEM
            or not isinstance(result, dict)
            or not _plain(result)
        ):
            return slow(self, context)
        status, headers, _empty = slow(DynamoResult({}), context)
        return status, headers, json.dumps(result, separators=(",", ":"))

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]


def make_app() -> SerialisingLayer:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    fast_clock()
    fast_item_results()
    direct = {"DynamoDB": create_backend_app("dynamodb"), "AmazonSQS": create_backend_app("sqs")}
    return SerialisingLayer(DomainDispatcherApplication(create_backend_app), direct)


def main(argv: list[str] | None = None) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request costs CPU we need

    class Handler(MotoRequestHandler):
        # Headers and body leave in separate writes; with Nagle each answer would wait for the
        # client's delayed ACK (~40 ms), which would make moto look ten times slower than it is.
        disable_nagle_algorithm = True

    server = make_server(LOOPBACK, 0, make_app(), threaded=True, request_handler=Handler)
    watch_parent(args.max_seconds)
    write_file_atomically(args.port_file, f"http://{LOOPBACK}:{server.server_port}")
    server.serve_forever()


if __name__ == "__main__":
    main()

"""Lambda's SQS event source mapping for one concurrent function instance, as its own process.

Why so: on AWS each concurrent execution of the sender is a separate sandbox fed by the event
source mapping's pollers. One process here is one such sandbox plus its poller: it receives up
to ``batch_size`` messages (all system and message attributes), builds the event exactly as
Lambda does (``Records`` with ``messageId``, ``receiptHandle``, ``body``, ``attributes`` incl.
``ApproximateReceiveCount``, ``messageAttributes`` in Lambda's camelCase form, ``md5OfBody``,
``eventSource``, ``eventSourceARN``, ``awsRegion``), calls the handler with a context whose
``get_remaining_time_in_millis()`` counts down from the function timeout, and then, as
``ReportBatchItemFailures`` does, deletes every record not listed in ``batchItemFailures``.
A handler that raises, or answers with an identifier not in the batch, fails the whole batch:
nothing is deleted and the messages reappear after their visibility timeout (Lambda's rule).
A handler still running at its timeout ends the process (Lambda ends the sandbox); the
supervisor (``services.ProcessGroup``) starts a cold one. Redrive to the DLQ is SQS's own.

The handler is named by its dotted path and learns everything else from its environment, so
any SQS-triggered job of this repo runs here unchanged. Counters go to ``--stats`` as JSON when
the process ends (SIGTERM: finish the invocation in progress, then stop).
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.wire.services import watch_parent, write_file_atomically

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The parts of Lambda's context object handlers use; the clock starts at construction."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int = 256) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:eu-central-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"wire/{os.getpid()}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS's ``MessageAttributes`` in the form Lambda puts in an event record."""
    out = {}
    for name, value in attributes.items():
        entry: dict[str, Any] = {
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            entry["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            entry["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        out[name] = entry
    return out


def sqs_record(message: dict[str, Any], arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes", {})),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }


def resolve(dotted: str) -> Handler:
    module, _, name = dotted.rpartition(".")
    handler: Handler = getattr(importlib.import_module(module), name)
    return handler


class Worker:
    """One sandbox: poll → invoke → delete, until told to stop."""

    def __init__(self, args: argparse.Namespace, handler: Handler, sqs: Any) -> None:
        self.args = args
        self.handler = handler
        self.sqs = sqs
        self.stopping = threading.Event()
        self.stats: dict[str, Any] = {
            "pid": os.getpid(),
            "polls": 0,
            "invocations": 0,
            "records": 0,
            "deleted": 0,
            "item_failures": 0,
            "handler_errors": 0,
            "invalid_responses": 0,
            "busy_seconds": 0.0,
            "timed_out": False,
        }

    def run(self) -> None:
        while not self.stopping.is_set() and time.time() < self.args.until:
            self.stats["polls"] += 1
            try:
                messages = self.sqs.receive_message(
                    QueueUrl=self.args.queue_url,
                    MaxNumberOfMessages=self.args.batch_size,
                    WaitTimeSeconds=self.args.wait_seconds,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            except Exception as exc:  # the poller retries, as Lambda's does
                self.note("poll_failed", error=repr(exc))
                time.sleep(0.5)
                continue
            if messages:
                self.invoke(messages)

    def invoke(self, messages: list[dict[str, Any]]) -> None:
        args = self.args
        event = {"Records": [sqs_record(m, args.queue_arn, args.region) for m in messages]}
        context = LambdaContext(args.function_name, args.timeout_seconds)
        watchdog = threading.Timer(args.timeout_seconds, self.time_out, args=(context.aws_request_id,))
        watchdog.daemon = True
        self.stats["invocations"] += 1
        self.stats["records"] += len(messages)
        started = time.monotonic()
        watchdog.start()
        try:
            response = self.handler(event, context)
        except Exception as exc:
            self.stats["handler_errors"] += 1
            self.note("handler_error", request_id=context.aws_request_id, error=repr(exc))
            return
        finally:
            watchdog.cancel()
            self.stats["busy_seconds"] += time.monotonic() - started
        failed = failed_ids(response, {m["MessageId"] for m in messages})
        if failed is None:
            self.stats["invalid_responses"] += 1
            self.note("invalid_batch_response", response=repr(response)[:300])
            return
        self.stats["item_failures"] += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            result = self.sqs.delete_message_batch(
                QueueUrl=args.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            self.stats["deleted"] += len(result.get("Successful", []))

    def time_out(self, request_id: str) -> None:
        self.stats["timed_out"] = True
        self.note("invocation_timed_out", request_id=request_id, timeout_seconds=self.args.timeout_seconds)
        self.write_stats()
        os._exit(
            124
        )  # Lambda ends the sandbox; the batch's messages come back after their visibility timeout

    def note(self, event: str, **fields: Any) -> None:
        print(json.dumps({"level": "WARNING", "event": f"esm_{event}", **fields}), flush=True)

    def write_stats(self) -> None:
        if self.args.stats:  # one file per sandbox: a restarted one must not overwrite it
            path = self.args.stats.with_name(f"{self.args.stats.name}.{os.getpid()}.json")
            write_file_atomically(path, json.dumps(self.stats))


def failed_ids(response: Any, batch: set[str]) -> set[str] | None:
    """The records to keep; ``None`` when Lambda would fail the whole batch (a malformed answer)."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures") or []
    ids = {f.get("itemIdentifier") for f in failures if isinstance(f, dict)}
    if len(ids) != len(failures) or not ids <= batch:
        return None
    return {str(i) for i in ids}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--handler", default="functions.sender.handler.lambda_handler")
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--queue-arn", required=True)
    parser.add_argument("--region", default="eu-central-1")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--wait-seconds", type=int, default=1)
    parser.add_argument("--timeout-seconds", type=float, default=60.0)
    parser.add_argument("--until", type=float, required=True, help="epoch seconds: stop polling then")
    parser.add_argument("--ready", type=Path, help="written once the handler is imported")
    parser.add_argument("--stats", type=Path, help="counters go to <this>.<pid>.json at the end")
    args = parser.parse_args(argv)
    import boto3

    handler = resolve(args.handler)
    worker = Worker(args, handler, boto3.client("sqs"))
    signal.signal(signal.SIGTERM, lambda *_: worker.stopping.set())
    watch_parent(max(0.0, args.until - time.time()) + args.timeout_seconds + 10, on_exit=worker.write_stats)
    if args.ready:
        write_file_atomically(args.ready, str(os.getpid()))
    try:
        worker.run()
    finally:
        worker.write_stats()


if __name__ == "__main__":
    main()

"""In-memory SQS (standard queues + redrive to a DLQ) and a Lambda event source mapping on it.

The queue side speaks boto3's ``sqs`` surface that the sender uses (``send_message``,
``change_message_visibility``, ``delete_message``, ``receive_message``), validated with botocore's
own validator against the ``sqs`` service model, plus SQS's limits (``DelaySeconds`` ≤ 900,
visibility ≤ 12 h, body ≤ 1 MiB and SQS's character set, ≤ 10 message attributes). Visibility
timeouts, ``ApproximateReceiveCount`` and the move to the DLQ once a message is received more than
``maxReceiveCount`` times behave as in SQS. Receipt handles change per receive: a stale handle
deletes nothing (counted in ``stale_deletes``) and cannot change the visibility.

:class:`EventSourceMapping` is Lambda's poller: ``concurrency`` workers (threads on a
:class:`~tests.support.virtual_time.VirtualClock`) each receive up to ``batch_size`` messages,
build the SQS event, invoke the function and delete every record not listed in
``batchItemFailures``. A crash (``SenderCrash`` raised inside the invocation, e.g. by
:class:`CrashingSes`), an exception or an overrun of the function timeout deletes nothing: the
messages reappear after their visibility timeout.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.validate import validate_parameters

from tests.support.virtual_time import VirtualClock

MAX_BODY_BYTES = 1_048_576  # SQS raised the limit from 256 KiB to 1 MiB in 2025
_INVALID_CHARS = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class SenderCrash(BaseException):
    """The Lambda instance dies mid-batch: the invocation returns nothing."""


@cache
def _sqs_shapes() -> dict[str, Any]:
    model = botocore.session.get_session().get_service_model("sqs")
    ops = ("SendMessage", "ChangeMessageVisibility", "DeleteMessage", "ReceiveMessage")
    return {op: model.operation_model(op).input_shape for op in ops}


def sqs_error(code: str, message: str, status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": message, "Type": "Sender"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "SQS")  # type: ignore[arg-type]


@dataclass(eq=False)
class Message:
    message_id: str
    body: str
    attributes: dict[str, dict[str, Any]]  # MessageAttributes, API shape
    sent_at: float
    seq: int
    visible_at: float
    receive_count: int = 0
    first_received_at: float | None = None
    receipt_handle: str | None = None
    version: int = 0
    redriven_from: str | None = None
    history: list[tuple[float, str]] = field(default_factory=list)

    def attribute(self, name: str) -> str | None:
        value = self.attributes.get(name)
        return None if value is None else value.get("StringValue")


class Queue:
    def __init__(
        self,
        sqs: SqsModel,
        name: str,
        *,
        visibility_timeout: float,
        dead_letter_queue: Queue | None,
        max_receive_count: int | None,
        max_message_size: int = MAX_BODY_BYTES,
    ) -> None:
        self.name = name
        self.max_message_size = max_message_size  # MaximumMessageSize: body + attributes
        self.url = f"https://sqs.{sqs.region}.amazonaws.com/{sqs.account_id}/{name}"
        self.arn = f"arn:aws:sqs:{sqs.region}:{sqs.account_id}:{name}"
        self.visibility_timeout = visibility_timeout
        self.dead_letter_queue = dead_letter_queue
        self.max_receive_count = max_receive_count
        self.messages: dict[str, Message] = {}  # not deleted
        self.all_messages: list[Message] = []  # ever enqueued here (their history explains a run)
        self._heap: list[tuple[float, int, int, Message]] = []
        self.sent = self.received = self.deleted = self.redriven = 0

    def _schedule(self, message: Message, visible_at: float) -> None:
        message.visible_at = visible_at
        message.version += 1
        heapq.heappush(self._heap, (visible_at, message.seq, message.version, message))

    def _head(self) -> Message | None:
        while self._heap:
            _, _, version, message = self._heap[0]
            if version == message.version and message.message_id in self.messages:
                return message
            heapq.heappop(self._heap)
        return None

    def next_visible_at(self) -> float | None:
        head = self._head()
        return None if head is None else head.visible_at

    def has_visible(self, now: float) -> bool:
        head = self._head()
        return head is not None and head.visible_at <= now

    def in_flight(self, now: float) -> int:
        return sum(1 for m in self.messages.values() if m.receipt_handle and m.visible_at > now)

    def __len__(self) -> int:
        return len(self.messages)


class SqsModel:
    """boto3 ``sqs`` client surface over in-memory queues, on a (virtual) clock."""

    def __init__(
        self, clock: VirtualClock, *, region: str = "eu-central-1", account_id: str = "123456789012"
    ) -> None:
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.queues: dict[str, Queue] = {}
        self._by_arn: dict[str, Queue] = {}
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self.stale_deletes = 0

    def create_queue(
        self,
        name: str,
        *,
        visibility_timeout: float = 30,
        dead_letter_queue: Queue | None = None,
        max_receive_count: int | None = None,
        max_message_size: int = MAX_BODY_BYTES,
    ) -> Queue:
        queue = Queue(
            self,
            name,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
            max_receive_count=max_receive_count,
            max_message_size=max_message_size,
        )
        self.queues[queue.url] = queue
        self._by_arn[queue.arn] = queue
        return queue

    def queue(self, url_or_arn: str) -> Queue:
        queue = self.queues.get(url_or_arn)
        if queue is None:
            queue = self._by_arn.get(url_or_arn)
        if queue is None:
            raise sqs_error("AWS.SimpleQueueService.NonExistentQueue", f"no queue {url_or_arn}")
        return queue

    # -- boto3 surface ---------------------------------------------------------------------------
    def send_message(self, **kwargs: Any) -> dict[str, Any]:
        validate_parameters(kwargs, _sqs_shapes()["SendMessage"])
        queue = self.queue(kwargs["QueueUrl"])
        body: str = kwargs["MessageBody"]
        delay = kwargs.get("DelaySeconds", 0)
        attributes = kwargs.get("MessageAttributes", {})
        if not body or _INVALID_CHARS.search(body):
            raise sqs_error("InvalidMessageContents", "Invalid characters found or empty body.")
        size = len(body.encode()) + sum(
            len(k) + len(v.get("DataType", "")) + len(str(v.get("StringValue", "")))
            for k, v in attributes.items()
        )
        if size > queue.max_message_size:
            raise sqs_error(
                "InvalidParameterValue", f"Message must be shorter than {queue.max_message_size} bytes."
            )
        if not 0 <= delay <= 900:
            raise sqs_error("InvalidParameterValue", f"Value {delay} for parameter DelaySeconds is invalid.")
        if len(attributes) > 10:
            raise sqs_error("InvalidParameterValue", "Number of message attributes exceeds 10.")
        for name, value in attributes.items():
            data_type = value.get("DataType", "")
            if data_type.split(".")[0] not in {"String", "Number", "Binary"}:
                raise sqs_error("InvalidParameterValue", f"Attribute {name}: invalid DataType {data_type!r}.")
            if data_type.startswith(("String", "Number")) and not value.get("StringValue"):
                raise sqs_error("InvalidParameterValue", f"Attribute {name}: empty StringValue.")
        message = self._enqueue(queue, body, dict(attributes), delay=float(delay))
        return {"MessageId": message.message_id, "MD5OfMessageBody": _md5(body)}

    def change_message_visibility(self, **kwargs: Any) -> dict[str, Any]:
        validate_parameters(kwargs, _sqs_shapes()["ChangeMessageVisibility"])
        queue = self.queue(kwargs["QueueUrl"])
        timeout = kwargs["VisibilityTimeout"]
        if not 0 <= timeout <= 43_200:
            raise sqs_error(
                "InvalidParameterValue", f"Value {timeout} for parameter VisibilityTimeout is invalid."
            )
        message = self._by_handle(queue, kwargs["ReceiptHandle"])
        now = self.clock.now()
        if message is None:
            raise sqs_error("ReceiptHandleIsInvalid", "The input receipt handle is invalid.")
        if message.visible_at <= now:
            raise sqs_error("MessageNotInflight", "The message is not in flight.")
        message.history.append((now, f"visibility {timeout}"))
        queue._schedule(message, now + timeout)
        if timeout == 0:
            self.clock.notify()
        return {}

    def delete_message(self, **kwargs: Any) -> dict[str, Any]:
        validate_parameters(kwargs, _sqs_shapes()["DeleteMessage"])
        queue = self.queue(kwargs["QueueUrl"])
        message = self._by_handle(queue, kwargs["ReceiptHandle"])
        if message is None:
            self.stale_deletes += 1
            return {}
        message.history.append((self.clock.now(), "deleted"))
        del queue.messages[message.message_id]
        queue.deleted += 1
        return {}

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        validate_parameters(kwargs, _sqs_shapes()["ReceiveMessage"])
        queue = self.queue(kwargs["QueueUrl"])
        wait = kwargs.get("WaitTimeSeconds", 0)
        messages = self.receive(queue, kwargs.get("MaxNumberOfMessages", 1), kwargs.get("VisibilityTimeout"))
        if not messages and wait:
            self.wait_visible(queue, wait)
            messages = self.receive(
                queue, kwargs.get("MaxNumberOfMessages", 1), kwargs.get("VisibilityTimeout")
            )
        return {"Messages": [_api_message(m) for m in messages]} if messages else {}

    # -- model operations ------------------------------------------------------------------------
    def receive(self, queue: Queue, max_messages: int = 10, visibility: float | None = None) -> list[Message]:
        """Up to ``max_messages`` visible messages (oldest first), moving over-received ones to
        the DLQ on the way, as SQS does."""
        now = self.clock.now()
        out: list[Message] = []
        while len(out) < max_messages:
            message = queue._head()
            if message is None or message.visible_at > now:
                break
            heapq.heappop(queue._heap)
            if queue.max_receive_count and message.receive_count >= queue.max_receive_count:
                self._redrive(queue, message, now)
                continue
            message.receive_count += 1
            message.first_received_at = message.first_received_at or now
            message.receipt_handle = f"{message.message_id}#{message.receive_count}#{next(self._seq)}"
            message.history.append((now, f"received #{message.receive_count}"))
            queue._schedule(message, now + (queue.visibility_timeout if visibility is None else visibility))
            queue.received += 1
            out.append(message)
        return out

    def wait_visible(self, queue: Queue, seconds: float) -> bool:
        """Long poll: idle on the clock until a message is visible or ``seconds`` passed."""
        deadline = self.clock.now() + seconds
        while not queue.has_visible(self.clock.now()):
            now = self.clock.now()
            if now >= deadline:
                return False
            upcoming = queue.next_visible_at()
            timeout = deadline - now if upcoming is None else min(deadline, upcoming) - now
            self.clock.wait_for(lambda: queue.has_visible(self.clock.now()), timeout)
        return True

    def _enqueue(
        self, queue: Queue, body: str, attributes: dict[str, Any], *, delay: float = 0.0, message_id: str = ""
    ) -> Message:
        now = self.clock.now()
        message = Message(
            message_id=message_id or f"00000000-0000-4000-8000-{next(self._ids):012d}",
            body=body,
            attributes=attributes,
            sent_at=now,
            seq=next(self._seq),
            visible_at=now + delay,
        )
        message.history.append((now, f"sent to {queue.name} delay {delay:g}"))
        queue.messages[message.message_id] = message
        queue.all_messages.append(message)
        queue._schedule(message, now + delay)
        queue.sent += 1
        if delay == 0:
            self.clock.notify()
        return message

    def _redrive(self, queue: Queue, message: Message, now: float) -> None:
        dlq = queue.dead_letter_queue
        assert dlq is not None, f"{queue.name} has maxReceiveCount but no DLQ"
        del queue.messages[message.message_id]
        queue.redriven += 1
        moved = self._enqueue(dlq, message.body, message.attributes, message_id=message.message_id)
        moved.redriven_from = queue.arn
        moved.sent_at = message.sent_at
        moved.history[:0] = [*message.history, (now, f"redriven after {message.receive_count} receives")]

    def _by_handle(self, queue: Queue, handle: str) -> Message | None:
        message = queue.messages.get(handle.split("#", 1)[0])
        return message if message is not None and message.receipt_handle == handle else None


def _md5(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def _api_message(message: Message) -> dict[str, Any]:
    return {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": _md5(message.body),
        "Body": message.body,
        "Attributes": {"ApproximateReceiveCount": str(message.receive_count)},
        "MessageAttributes": message.attributes,
    }


def lambda_record(queue: Queue, message: Message, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda passes to the function."""
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.receive_count),
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "SenderId": "AIDAMODELSENDER",
            "ApproximateFirstReceiveTimestamp": str(int((message.first_received_at or 0) * 1000)),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType"),
            }
            for name, value in message.attributes.items()
        },
        "md5OfBody": _md5(message.body),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }


@dataclass
class Invocation:
    """One Lambda invocation of the mapping (what an invoke callback may look at)."""

    number: int
    worker: int
    started_at: float
    deadline: float
    crash_after_sends: int | None
    clock: VirtualClock
    sends: int = 0

    def remaining_seconds(self) -> float:
        return self.deadline - self.clock.now()


class CrashingSes:
    """Wraps an SES client for one invocation: when the invocation is planned to crash after k
    sends, the k-th send is accepted by SES and then the sender dies before seeing the answer."""

    def __init__(self, ses: Any, invocation: Invocation) -> None:
        self._ses = ses
        self._invocation = invocation

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        crash_at = self._invocation.crash_after_sends
        if crash_at is not None and self._invocation.sends >= crash_at:  # the sandbox is gone: its
            raise SenderCrash(f"invocation {self._invocation.number} is dead")  # other threads too
        result: dict[str, Any] = self._ses.send_email(**kwargs)
        self._invocation.sends += 1
        if self._invocation.crash_after_sends == self._invocation.sends:
            raise SenderCrash(
                f"invocation {self._invocation.number} died after {self._invocation.sends} sends"
            )
        return result


Invoke = Callable[[dict[str, Any], Invocation], Mapping[str, Any]]
CrashPlan = Callable[[int, float, int], "int | None"]
"""(invocation number, seconds since the clock started, records in the batch) → crash after k
sends, or None."""


class CrashOnce:
    """A crash plan: one invocation started after ``after_seconds`` whose batch has more than
    ``after_sends`` records dies right after SES accepted its ``after_sends``-th send. One
    invocation is armed at a time; if it never got so far, the next one is armed."""

    def __init__(self, *, after_seconds: float, after_sends: int) -> None:
        self.after_seconds = after_seconds
        self.after_sends = after_sends
        self.armed: int | None = None
        self.fired_in: Invocation | None = None

    def __call__(self, number: int, elapsed: float, records: int) -> int | None:
        if self.fired_in or self.armed is not None or elapsed < self.after_seconds:
            return None
        if records <= self.after_sends:
            return None
        self.armed = number
        return self.after_sends

    def done(self, invocation: Invocation, *, crashed: bool) -> None:
        if invocation.number == self.armed:
            self.armed = None
            if crashed:
                self.fired_in = invocation


class EventSourceMapping:
    """Lambda's SQS poller with partial batch responses and a maximum concurrency."""

    def __init__(
        self,
        clock: VirtualClock,
        sqs: SqsModel,
        queue: Queue,
        invoke: Invoke,
        *,
        concurrency: int,
        batch_size: int = 10,
        function_timeout_seconds: float = 60.0,
        crash_after: Mapping[int, int] | CrashPlan | None = None,
        poll_wait_seconds: float = 20.0,
        name: str = "esm",
    ) -> None:
        self.clock = clock
        self.sqs = sqs
        self.queue = queue
        self.invoke = invoke
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.function_timeout_seconds = function_timeout_seconds
        if callable(crash_after):
            self.crash_plan = crash_after
        else:
            planned = dict(crash_after or {})
            self.crash_plan = lambda number, _elapsed, _records: planned.get(number)
        self.crashed_invocations: list[Invocation] = []
        self.poll_wait_seconds = poll_wait_seconds
        self.name = name
        self._numbers = itertools.count(1)
        self.invocations = self.crashes = self.timeouts = self.invalid_responses = 0
        self.deleted = self.handed_back = 0
        self.function_errors: list[tuple[int, BaseException]] = []

    def start(self) -> None:
        for worker in range(self.concurrency):
            self.clock.spawn(self._worker, worker, name=f"{self.name}-{worker}")

    def _worker(self, worker: int) -> None:
        while True:
            messages = self.sqs.receive(self.queue, self.batch_size)
            if not messages:
                self.sqs.wait_visible(self.queue, self.poll_wait_seconds)
                continue
            self._invoke(worker, messages)

    def _plan_done(self, invocation: Invocation, *, crashed: bool) -> None:
        done = getattr(self.crash_plan, "done", None)
        if done is not None:
            done(invocation, crashed=crashed)

    def _invoke(self, worker: int, messages: list[Message]) -> None:
        number = next(self._numbers)
        now = self.clock.now()
        invocation = Invocation(
            number=number,
            worker=worker,
            started_at=now,
            deadline=now + self.function_timeout_seconds,
            crash_after_sends=self.crash_plan(number, self.clock.elapsed(), len(messages)),
            clock=self.clock,
        )
        event = {"Records": [lambda_record(self.queue, m, self.sqs.region) for m in messages]}
        self.invocations += 1
        crashed = False
        try:
            response = self.invoke(event, invocation)
        except SenderCrash:
            crashed = True
            self.crashes += 1
            self.crashed_invocations.append(invocation)
            return
        except Exception as exc:  # a function error: Lambda retries the whole batch
            self.function_errors.append((number, exc))
            return
        finally:
            self._plan_done(invocation, crashed=crashed)
        if self.clock.now() > invocation.deadline:
            self.timeouts += 1  # Lambda killed it: the answer never reached the poller
            return
        failures = (response or {}).get("batchItemFailures", [])
        ids = {m.message_id for m in messages}
        failed = {f.get("itemIdentifier") for f in failures} if isinstance(failures, list) else {None}
        if not failed <= ids:
            self.invalid_responses += 1  # Lambda treats the whole batch as failed
            return
        self.handed_back += len(failed)
        for message in messages:
            if message.message_id not in failed:
                self.sqs.delete_message(QueueUrl=self.queue.url, ReceiptHandle=message.receipt_handle)
                self.deleted += 1

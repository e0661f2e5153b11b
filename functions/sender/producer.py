"""Build and enqueue contract-v1 messages from an application.

Vendoring: copy ``contract.py`` and this file into one package of yours (standard library only;
``send_to_queue`` takes your boto3 SQS client). The import below is relative for that reason.

    from yourapp.ses import producer

    messages = producer.build_messages(
        from_address="Shop <news@news.example.at>",
        recipients=subscribers,  # any number; split into messages of at most 50
        subject="October news",
        text="…",
        html="<p>…</p>",
        lane="bulk",
        as_bcc=True,
        idempotency_key_prefix="newsletter-2026-10",
    )
    producer.send_to_queue(boto3.client("sqs"), queue_url, messages)
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .contract import (
    CONTRACT_VERSION,
    MAX_RECIPIENTS,
    InvalidMessage,
    ReasonCode,
    parse_address,
    parse_message,
)

SQS_BATCH_ENTRIES = 10
# SendMessageBatch also caps the sum of the bodies (256 KiB on older queues, 1 MiB since 2025).
SQS_BATCH_BYTES = 256 * 1024
# Characters SQS refuses in a body (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF are
# allowed). json.dumps escapes the C0 controls; these may remain inside strings and are escaped.
_SQS_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class QueueClient(Protocol):
    """The part of boto3's ``sqs`` client used here."""

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]: ...


class EnqueueError(Exception):
    """Some messages did not reach the queue. Nothing after the failing batch was sent.

    ``failed``: ``{"idempotency_key", "code", "message", "sender_fault"}`` per refused entry;
    ``message_ids``: SQS ids of the messages that did get in, in order. Run the producer again
    with the same input: keys already sent are skipped by the sender.
    """

    def __init__(self, failed: list[dict[str, Any]], message_ids: list[str]) -> None:
        codes = sorted({str(entry["code"]) for entry in failed})
        super().__init__(f"{len(failed)} message(s) not enqueued ({', '.join(codes)})")
        self.failed = failed
        self.message_ids = message_ids


def to_json(message: Mapping[str, Any]) -> str:
    """Compact JSON as the queue body: UTF-8 kept (smaller than \\u escapes), SQS-forbidden
    characters escaped so SendMessage never refuses the body."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    return _SQS_FORBIDDEN.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def build_messages(
    *,
    from_address: str,
    recipients: Sequence[str],
    idempotency_key_prefix: str,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    template: str | None = None,
    template_data: Mapping[str, Any] | None = None,
    raw: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    tags: Mapping[str, str] | None = None,
    lane: str = "transactional",
    reply_to: Sequence[str] = (),
    configuration_set: str | None = None,
    recipients_per_message: int = MAX_RECIPIENTS,
    as_bcc: bool = False,
) -> list[dict[str, Any]]:
    """One email to ``recipients``, as contract-v1 messages of at most ``recipients_per_message``.

    Message ``i`` gets the idempotency key ``<idempotency_key_prefix>-<i>``. Keys are derived from
    the input alone, never from time or randomness, so a producer run that crashed half-way and
    is run again builds the same keys; the sender has recorded which keys it sent and skips them,
    and nobody gets the mail twice. Hence: one prefix per logical send (say
    ``newsletter-2026-10``), recipients in a stable order, and a new prefix when the list changes.
    ``raw`` is the MIME message as bytes; its ``To`` header is for display only.

    Every message is checked with :func:`parse_message`, so what this returns the sender accepts.
    Raises :class:`InvalidMessage` (recipients are named ``recipients[i]``), or ``ValueError`` for
    a ``recipients_per_message`` outside 1..50.
    """
    if isinstance(recipients, str):
        raise TypeError("recipients must be a sequence of addresses, not one string")
    if not 1 <= recipients_per_message <= MAX_RECIPIENTS:
        raise ValueError(f"recipients_per_message must be 1..{MAX_RECIPIENTS}, got {recipients_per_message}")
    if not recipients:
        raise InvalidMessage(ReasonCode.NO_RECIPIENTS, "recipients: is empty", field="recipients")
    if template_data is not None and template is None:
        raise InvalidMessage(
            ReasonCode.MISSING_FIELD, "template: template_data given without it", field="template"
        )
    seen: dict[str, int] = {}
    for index, entry in enumerate(recipients):
        mailbox = parse_address(entry, where=f"recipients[{index}]").mailbox
        if mailbox in seen:
            where = f"recipients[{index}]"
            raise InvalidMessage(
                ReasonCode.DUPLICATE_RECIPIENT, f"{where}: repeats recipients[{seen[mailbox]}]", field=where
            )
        seen[mailbox] = index
    shared: dict[str, Any] = {
        "reply_to": list(reply_to) or None,
        "subject": subject,
        "text": text,
        "html": html,
        "template": None if template is None else {"name": template, "data": dict(template_data or {})},
        "raw": None if raw is None else base64.b64encode(raw).decode("ascii"),
        "headers": dict(headers) if headers else None,
        "tags": dict(tags) if tags else None,
        "configuration_set": configuration_set,
    }
    messages = []
    for index, start in enumerate(range(0, len(recipients), recipients_per_message)):
        message: dict[str, Any] = {
            "version": CONTRACT_VERSION,
            "idempotency_key": f"{idempotency_key_prefix}-{index}",
            "lane": lane,
            "from": from_address,
            "bcc" if as_bcc else "to": list(recipients[start : start + recipients_per_message]),
        }
        message.update((name, value) for name, value in shared.items() if value is not None)
        parse_message(to_json(message))
        messages.append(message)
    return messages


def _batches(bodies: list[str]) -> list[list[int]]:
    """Indexes of ``bodies`` in SendMessageBatch-sized groups: ≤ 10 entries and ≤ 256 KiB."""
    batches: list[list[int]] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode("utf-8"))
        if not batches or len(batches[-1]) == SQS_BATCH_ENTRIES or size + length > SQS_BATCH_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(index)
        size += length
    return batches


def send_to_queue(
    sqs_client: QueueClient, queue_url: str, messages: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Enqueue ``messages`` with SendMessageBatch; return their SQS message ids in order.

    Raises :class:`EnqueueError` as soon as a batch has a failed entry (SQS answers HTTP 200 with
    ``Failed`` entries, so a batch call that did not raise can still have lost messages), and lets
    client errors propagate. Either way, running the producer again with the same input is safe.
    Every message is checked with :func:`parse_message` first (:class:`InvalidMessage`).
    """
    bodies = [to_json(message) for message in messages]
    for body in bodies:  # all checked before the first is sent: a bad one stops the whole run
        parse_message(body)
    message_ids: list[str] = []
    for batch in _batches(bodies):
        entries = [{"Id": str(index), "MessageBody": bodies[index]} for index in batch]
        response = sqs_client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        sent = {entry["Id"]: entry["MessageId"] for entry in response.get("Successful", [])}
        refused = {entry["Id"]: entry for entry in response.get("Failed", [])}
        message_ids += [sent[str(index)] for index in batch if str(index) in sent]
        # An entry in neither list counts as failed too: nothing may be lost silently.
        failed = [
            {
                "idempotency_key": messages[index].get("idempotency_key"),
                "code": refused.get(str(index), {}).get("Code", "NoResult"),
                "message": refused.get(str(index), {}).get("Message", ""),
                "sender_fault": bool(refused.get(str(index), {}).get("SenderFault", False)),
            }
            for index in batch
            if str(index) not in sent
        ]
        if failed:
            raise EnqueueError(failed, message_ids)
    return message_ids

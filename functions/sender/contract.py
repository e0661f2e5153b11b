"""Message contract v1: the JSON an application puts on a slice's queue, one email per SQS message.

``parse_message`` turns a queue body into a typed :class:`EmailMessage` or raises
:class:`InvalidMessage` with a stable ``reason_code``; the sender sends such messages to the DLQ at
once and never retries them. ``send_email_kwargs`` builds the boto3 ``sesv2.send_email`` arguments.
The first problem found wins, in a fixed order, so the same body always gives the same reason.

This file (with ``producer.py``) is standard library only, so applications may vendor it: copy both
into one package of yours. README.md beside it is the contract as users read it.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import formataddr, getaddresses
from types import MappingProxyType
from typing import Any

CONTRACT_VERSION = 1
SQS_MESSAGE_BYTES = 256 * 1024
"""What one message on a slice's queues may hold, body and message attributes together (the
queues' MaximumMessageSize, set explicitly by ``modules/capacity_slice``). SQS allows up to 1 MiB
since 2025; 256 KiB fits every queue setting and client, and a batch of ten stays well inside
Lambda's 6 MB invoke payload."""
SENDER_ATTRIBUTE_BYTES = 2 * 1024
"""The most the sender adds to a copy of a message as attributes (a DLQ copy's reason code,
reason, slice, keys; a re-enqueued copy's counter): bodies leave room for it, so every copy the
sender makes of a valid message fits the queue it goes to."""
MAX_MESSAGE_BYTES = SQS_MESSAGE_BYTES - SENDER_ATTRIBUTE_BYTES
"""The largest body a producer may enqueue (254 KiB)."""
MAX_RECIPIENTS = 50  # SES: To + Cc + Bcc per message; the send rate is counted in recipients
MAX_USER_TAGS = 10
MAX_HEADERS = 15  # SES MessageHeaderList
RESERVED_TAG_NAMES = frozenset({"idempotency_key", "slice", "lane"})  # set by the sender

# Headers SES sets itself (its documented list for Simple/Template) plus ones that would spoof
# authentication, redirect bounces, or steer SES (X-SES-*) behind the platform's back.
FORBIDDEN_HEADERS = frozenset(
    {
        "bcc", "cc", "content-disposition", "content-type", "date", "from", "message-id",
        "mime-version", "reply-to", "return-path", "subject", "to", "sender", "dkim-signature",
        "domainkey-signature", "authentication-results", "received", "received-spf",
        "delivered-to", "errors-to", "bounces-to", "feedback-id",
    }
)  # fmt: skip
FORBIDDEN_HEADER_PREFIXES = ("content-", "x-ses-", "resent-", "arc-")

_KEY_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # SES template and configuration set names
_TAG_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_HEADER_NAME_RE = re.compile(r"[!-9;-~]{1,126}")  # RFC 5322 ftext: printable ASCII except ':'
_HEADER_VALUE_RE = re.compile(r"[ -~]{1,995}")  # SES MessageHeaderValue
# Anything a mail header could read as a line break or that has no business in one (TAB allowed).
_CONTROL_RE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_RE = re.compile(rf"{_ATEXT}+(?:\.{_ATEXT}+)*")
_LABEL_RE = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_ANGLE_RE = re.compile(r"(?P<name>[^<>]*)<(?P<addr>[^<>]*)>")

FIELDS = frozenset(
    {
        "version", "idempotency_key", "from", "to", "cc", "bcc", "reply_to", "subject", "text",
        "html", "template", "raw", "headers", "tags", "lane", "configuration_set",
    }
)  # fmt: skip
TEMPLATE_FIELDS = frozenset({"name", "data"})


class ReasonCode(enum.StrEnum):
    """Why a message was refused. Stable: dashboards, alarms and DLQ tooling match on them."""

    MESSAGE_TOO_LARGE = "MESSAGE_TOO_LARGE"
    INVALID_JSON = "INVALID_JSON"
    NOT_AN_OBJECT = "NOT_AN_OBJECT"
    MISSING_FIELD = "MISSING_FIELD"
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    INVALID_FIELD = "INVALID_FIELD"
    INVALID_IDEMPOTENCY_KEY = "INVALID_IDEMPOTENCY_KEY"
    UNKNOWN_LANE = "UNKNOWN_LANE"
    INVALID_ADDRESS = "INVALID_ADDRESS"
    HEADER_INJECTION = "HEADER_INJECTION"
    NO_RECIPIENTS = "NO_RECIPIENTS"
    TOO_MANY_RECIPIENTS = "TOO_MANY_RECIPIENTS"
    DUPLICATE_RECIPIENT = "DUPLICATE_RECIPIENT"
    NO_CONTENT = "NO_CONTENT"
    CONFLICTING_CONTENT = "CONFLICTING_CONTENT"
    INVALID_TEMPLATE_DATA = "INVALID_TEMPLATE_DATA"
    INVALID_RAW = "INVALID_RAW"
    FORBIDDEN_HEADER = "FORBIDDEN_HEADER"
    INVALID_TAG = "INVALID_TAG"


class InvalidMessage(Exception):  # noqa: N818 - the contract's public name
    """A message the sender must not send. ``detail`` begins with the field it is about and never
    repeats addresses or content (it goes to logs; the DLQ keeps the body)."""

    def __init__(self, reason_code: str, detail: str, *, field: str | None = None) -> None:
        super().__init__(f"{reason_code}: {detail}")
        self.reason_code = reason_code
        self.detail = detail
        self.field = field


def _fail(code: ReasonCode, where: str, problem: str) -> InvalidMessage:
    return InvalidMessage(code, f"{where}: {problem}", field=where)


class Lane(enum.StrEnum):
    TRANSACTIONAL = "transactional"
    BULK = "bulk"


class ContentKind(enum.StrEnum):
    SIMPLE = "simple"
    TEMPLATE = "template"
    RAW = "raw"


_CONTENT_FIELDS = {
    ContentKind.SIMPLE: ("text", "html"),
    ContentKind.TEMPLATE: ("template",),
    ContentKind.RAW: ("raw",),
}


@dataclass(frozen=True)
class Address:
    """One mailbox. ``email`` is what SES takes: ASCII local part (SES has no SMTPUTF8) and the
    domain lower-cased, internationalised labels in punycode."""

    email: str
    display_name: str | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]

    @property
    def mailbox(self) -> str:
        """Lower-cased ``email``: what duplicate detection compares (local parts are
        case-insensitive at every real mailbox provider; a second copy is the harm avoided)."""
        return self.email.lower()

    @property
    def formatted(self) -> str:
        """RFC 5322 form for SES: quoted when needed, non-ASCII names as RFC 2047 words."""
        return formataddr((self.display_name or "", self.email))


@dataclass(frozen=True)
class Template:
    name: str
    data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, kw_only=True)
class EmailMessage:
    """A valid v1 message. Build it with :func:`parse_message`; the constructor checks nothing."""

    idempotency_key: str
    from_address: Address
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    template: Template | None = None
    raw: bytes | None = None  # the decoded MIME message
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    lane: Lane = Lane.TRANSACTIONAL
    configuration_set: str | None = None
    version: int = CONTRACT_VERSION

    @property
    def recipient_count(self) -> int:
        """What SES counts against the rate: To + Cc + Bcc."""
        return len(self.to) + len(self.cc) + len(self.bcc)

    @property
    def from_domain(self) -> str:
        """Lower-case (punycode for IDN) domain of the from address."""
        return self.from_address.domain

    @property
    def content_kind(self) -> ContentKind:
        if self.raw is not None:
            return ContentKind.RAW
        return ContentKind.TEMPLATE if self.template is not None else ContentKind.SIMPLE


# --------------------------------------------------------------------------------------------
# Strings and addresses
# --------------------------------------------------------------------------------------------


def _header_text(value: object, where: str) -> str:
    """A non-empty string that goes into a mail header: no line breaks or control characters."""
    if not isinstance(value, str) or not value:
        raise _fail(ReasonCode.INVALID_FIELD, where, "must be a non-empty string")
    if _CONTROL_RE.search(value):
        raise _fail(ReasonCode.HEADER_INJECTION, where, "contains a line break or control character")
    return value


def ascii_domain(domain: str) -> str | None:
    """Lower-case LDH labels, IDN labels as punycode; None when it is not a usable domain.
    ``from_domain`` is in this form: normalise configured domains with it before comparing."""
    labels: list[str] = []
    for label in domain.split("."):
        if label.isascii():
            ascii_label = label.lower()
            if ascii_label.startswith("xn--"):
                try:
                    ascii_label[4:].encode("ascii").decode("punycode")
                except UnicodeError:
                    return None
        else:
            # Plain punycode per label (IDNA 2008 style: "ß" stays "ß"; the stdlib "idna" codec is
            # IDNA 2003 and would turn straße.de into strasse.de, another domain).
            unicode_label = unicodedata.normalize("NFC", label).lower()
            if not all(c == "-" or unicodedata.category(c)[0] in "LMN" for c in unicode_label):
                return None
            ascii_label = "xn--" + unicode_label.encode("punycode").decode("ascii")
        if not _LABEL_RE.fullmatch(ascii_label):
            return None
        labels.append(ascii_label)
    tld = labels[-1]
    result = ".".join(labels)
    if len(labels) < 2 or not (tld.isalpha() or tld.startswith("xn--")) or len(result) > 253:
        return None
    return result


def parse_address(value: object, *, where: str = "address") -> Address:
    """``local@domain`` or ``Display Name <local@domain>`` (the name may be quoted)."""
    if not isinstance(value, str):
        raise _fail(ReasonCode.INVALID_ADDRESS, where, "must be a string")
    if _CONTROL_RE.search(value):
        raise _fail(ReasonCode.HEADER_INJECTION, where, "contains a line break or control character")
    if len(value) > 320:
        raise _fail(ReasonCode.INVALID_ADDRESS, where, f"longer than 320 characters ({len(value)})")
    text = value.strip()
    display_name: str | None = None
    angle = _ANGLE_RE.fullmatch(text)
    if angle:
        name, addr = angle["name"].strip(), angle["addr"].strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = re.sub(r"\\(.)", r"\1", name[1:-1])
        display_name = name or None
    else:
        addr = text
    local, at, domain = addr.rpartition("@")
    problem = None
    if not at or not local or any(c.isspace() or c in "<>@" for c in local + domain):
        problem = "is not local@domain"
    elif not local.isascii():
        problem = "has a non-ASCII local part (SES does not support SMTPUTF8)"
    elif len(local) > 64 or not _LOCAL_RE.fullmatch(local):
        problem = "has an invalid local part"
    if problem:
        raise _fail(ReasonCode.INVALID_ADDRESS, where, problem)
    normalised = ascii_domain(domain)
    if normalised is None:
        raise _fail(ReasonCode.INVALID_ADDRESS, where, "has an invalid domain")
    return Address(email=f"{local}@{normalised}", display_name=display_name)


def _address_list(data: Mapping[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(ReasonCode.INVALID_FIELD, name, "must be a list of addresses")
    return value


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _load(body: str | bytes) -> dict[str, Any]:
    try:
        raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    except UnicodeEncodeError:
        raise _fail(ReasonCode.INVALID_JSON, "body", "is not encodable as UTF-8") from None
    if len(raw) > MAX_MESSAGE_BYTES:
        raise _fail(ReasonCode.MESSAGE_TOO_LARGE, "body", f"{len(raw)} bytes > {MAX_MESSAGE_BYTES}")
    try:
        data = json.loads(raw, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
        # A \ud800-style escape parses into a lone surrogate, which no mail can carry.
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeError are ValueErrors
        raise _fail(ReasonCode.INVALID_JSON, "body", str(exc)) from None
    if not isinstance(data, dict):
        raise _fail(ReasonCode.NOT_AN_OBJECT, "body", f"must be a JSON object, got {type(data).__name__}")
    # null means absent for every field: producers that serialise None need no special case.
    return {key: value for key, value in data.items() if value is not None}


def _check_version(data: Mapping[str, Any]) -> None:
    if "version" not in data:
        raise _fail(ReasonCode.MISSING_FIELD, "version", "is required")
    version = data["version"]
    if type(version) is not int:
        raise _fail(ReasonCode.INVALID_FIELD, "version", f"must be an integer, got {version!r}")
    if version != CONTRACT_VERSION:
        raise _fail(ReasonCode.UNSUPPORTED_VERSION, "version", f"{version} (this sender speaks 1)")
    unknown = sorted(set(data) - FIELDS)
    if unknown:
        raise _fail(
            ReasonCode.UNKNOWN_FIELD, unknown[0], f"not a field of version 1 (all unknown: {unknown})"
        )


def _recipients(data: Mapping[str, Any]) -> dict[str, tuple[Address, ...]]:
    lists = {name: _address_list(data, name) for name in ("to", "cc", "bcc")}
    total = sum(len(entries) for entries in lists.values())
    if total == 0:
        raise _fail(ReasonCode.NO_RECIPIENTS, "to/cc/bcc", "at least one recipient is required")
    if total > MAX_RECIPIENTS:
        raise _fail(ReasonCode.TOO_MANY_RECIPIENTS, "to/cc/bcc", f"{total} recipients > {MAX_RECIPIENTS}")
    seen: dict[str, str] = {}
    parsed: dict[str, tuple[Address, ...]] = {}
    for name, entries in lists.items():
        addresses = []
        for index, entry in enumerate(entries):
            where = f"{name}[{index}]"
            address = parse_address(entry, where=where)
            if address.mailbox in seen:
                raise _fail(
                    ReasonCode.DUPLICATE_RECIPIENT,
                    where,
                    f"the same address as {seen[address.mailbox]}",
                )
            seen[address.mailbox] = where
            addresses.append(address)
        parsed[name] = tuple(addresses)
    return parsed


def _content_kind(data: Mapping[str, Any]) -> ContentKind:
    given = {kind: [name for name in names if name in data] for kind, names in _CONTENT_FIELDS.items()}
    kinds = [kind for kind, names in given.items() if names]
    if not kinds:
        raise _fail(ReasonCode.NO_CONTENT, "text/html/template/raw", "one kind of content is required")
    if len(kinds) > 1:
        fields = "/".join(name for kind in kinds for name in given[kind])
        raise _fail(ReasonCode.CONFLICTING_CONTENT, fields, "give exactly one of text+html, template, raw")
    kind = kinds[0]
    if kind is not ContentKind.SIMPLE and "subject" in data:
        raise _fail(ReasonCode.CONFLICTING_CONTENT, "subject", f"not allowed with {kind} (it has its own)")
    if kind is ContentKind.RAW and "headers" in data:
        raise _fail(ReasonCode.CONFLICTING_CONTENT, "headers", "not allowed with raw; put them in the MIME")
    return kind


def _template(value: object) -> Template:
    if not isinstance(value, dict):
        raise _fail(ReasonCode.INVALID_FIELD, "template", "must be an object {name, data}")
    unknown = sorted(set(value) - TEMPLATE_FIELDS)
    if unknown:
        raise _fail(ReasonCode.UNKNOWN_FIELD, f"template.{unknown[0]}", "not a field of template")
    name = value.get("name")
    if name is None:
        raise _fail(ReasonCode.MISSING_FIELD, "template.name", "is required")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise _fail(ReasonCode.INVALID_FIELD, "template.name", f"{name!r} is not [A-Za-z0-9_-]{{1,64}}")
    data = value.get("data", {})
    if not isinstance(data, dict):
        raise _fail(
            ReasonCode.INVALID_TEMPLATE_DATA, "template.data", f"must be an object, got {type(data).__name__}"
        )
    return Template(name=name, data=MappingProxyType(data))


def _raw(value: object, sender: Address) -> bytes:
    if not isinstance(value, str):
        raise _fail(ReasonCode.INVALID_RAW, "raw", "must be a base64 string")
    try:
        mime = base64.b64decode(re.sub(r"[\t\r\n ]", "", value), validate=True)
    except (binascii.Error, ValueError):
        raise _fail(ReasonCode.INVALID_RAW, "raw", "is not valid base64") from None
    if b"\r\n\r\n" not in mime and b"\n\n" not in mime:
        raise _fail(ReasonCode.INVALID_RAW, "raw", "needs a header section and a body split by a blank line")
    if max(len(line) for line in mime.splitlines()) > 998:
        raise _fail(ReasonCode.INVALID_RAW, "raw", "has a line longer than 998 octets (SES refuses it)")
    headers = BytesHeaderParser(policy=compat32).parsebytes(mime)
    for name in headers.keys():  # noqa: SIM118 - Message is not a dict: keys() lists every header
        if name.lower().startswith("x-ses-"):
            raise _fail(ReasonCode.FORBIDDEN_HEADER, f"raw.{name}", "SES control headers are not allowed")
    from_headers = [str(h) for h in headers.get_all("From", [])]
    addresses = getaddresses(from_headers)
    if len(from_headers) != 1 or len(addresses) != 1:
        raise _fail(ReasonCode.INVALID_RAW, "raw.From", "needs exactly one From header with one address")
    try:
        header_from = parse_address(addresses[0][1], where="raw.From")
    except InvalidMessage:
        raise _fail(ReasonCode.INVALID_RAW, "raw.From", "is not a usable address") from None
    if header_from.mailbox != sender.mailbox:
        raise _fail(ReasonCode.INVALID_RAW, "raw.From", "is not the message's from address")
    return mime


def _headers(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise _fail(ReasonCode.INVALID_FIELD, "headers", "must be an object of name → value")
    if len(value) > MAX_HEADERS:
        raise _fail(ReasonCode.INVALID_FIELD, "headers", f"{len(value)} headers > {MAX_HEADERS} (SES limit)")
    seen: set[str] = set()
    for name, header_value in value.items():
        where = f"headers.{name}"
        _header_text(name, where)
        lower = name.lower()
        if not _HEADER_NAME_RE.fullmatch(name) or lower in seen:
            raise _fail(ReasonCode.INVALID_FIELD, where, "invalid or repeated header name")
        if lower in FORBIDDEN_HEADERS or lower.startswith(FORBIDDEN_HEADER_PREFIXES):
            raise _fail(ReasonCode.FORBIDDEN_HEADER, where, "set by SES or the platform, not by messages")
        _header_text(header_value, where)
        if not _HEADER_VALUE_RE.fullmatch(header_value):
            raise _fail(ReasonCode.INVALID_FIELD, where, "must be printable ASCII, at most 995 characters")
        seen.add(lower)
    return MappingProxyType(dict(value))


def _tags(value: object) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise _fail(ReasonCode.INVALID_TAG, "tags", "must be an object of name → value")
    if len(value) > MAX_USER_TAGS:
        raise _fail(ReasonCode.INVALID_TAG, "tags", f"{len(value)} tags > {MAX_USER_TAGS}")
    for name, tag_value in value.items():
        where = f"tags.{name}"
        if name.lower() in RESERVED_TAG_NAMES:
            raise _fail(
                ReasonCode.INVALID_TAG, where, f"reserved: the sender sets {sorted(RESERVED_TAG_NAMES)}"
            )
        if not _TAG_RE.fullmatch(name) or not isinstance(tag_value, str) or not _TAG_RE.fullmatch(tag_value):
            raise _fail(ReasonCode.INVALID_TAG, where, "name and value must be [A-Za-z0-9_-]{1,256}")
    return MappingProxyType(dict(value))


def _body_part(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise _fail(ReasonCode.INVALID_FIELD, name, "must be a non-empty string")
    return value


def parse_message(body: str | bytes) -> EmailMessage:
    """Validate a queue body against contract v1; raise :class:`InvalidMessage` on the first problem."""
    data = _load(body)
    _check_version(data)
    key = data.get("idempotency_key")
    if key is None:
        raise _fail(ReasonCode.MISSING_FIELD, "idempotency_key", "is required")
    if not isinstance(key, str) or not _KEY_RE.fullmatch(key):
        raise _fail(
            ReasonCode.INVALID_IDEMPOTENCY_KEY,
            "idempotency_key",
            f"{key!r:.60} is not [A-Za-z0-9_-]{{1,128}}",
        )
    lane = data.get("lane", Lane.TRANSACTIONAL)
    if lane not in tuple(Lane):
        raise _fail(ReasonCode.UNKNOWN_LANE, "lane", f"{lane!r:.40} is not one of {[str(x) for x in Lane]}")
    if "from" not in data:
        raise _fail(ReasonCode.MISSING_FIELD, "from", "is required")
    sender = parse_address(data["from"], where="from")
    recipients = _recipients(data)
    reply_to = tuple(
        parse_address(entry, where=f"reply_to[{index}]")
        for index, entry in enumerate(_address_list(data, "reply_to"))
    )
    kind = _content_kind(data)
    subject = None
    if kind is ContentKind.SIMPLE:
        if "subject" not in data:
            raise _fail(ReasonCode.MISSING_FIELD, "subject", "is required with text/html")
        subject = _header_text(data["subject"], "subject")
    configuration_set = data.get("configuration_set")
    if configuration_set is not None and (
        not isinstance(configuration_set, str) or not _NAME_RE.fullmatch(configuration_set)
    ):
        raise _fail(ReasonCode.INVALID_FIELD, "configuration_set", "is not [A-Za-z0-9_-]{1,64}")
    return EmailMessage(
        version=CONTRACT_VERSION,
        idempotency_key=key,
        from_address=sender,
        to=recipients["to"],
        cc=recipients["cc"],
        bcc=recipients["bcc"],
        reply_to=reply_to,
        subject=subject,
        text=_body_part(data, "text"),
        html=_body_part(data, "html"),
        template=_template(data["template"]) if kind is ContentKind.TEMPLATE else None,
        raw=_raw(data["raw"], sender) if kind is ContentKind.RAW else None,
        headers=_headers(data["headers"]) if "headers" in data else MappingProxyType({}),
        tags=_tags(data["tags"]) if "tags" in data else MappingProxyType({}),
        lane=Lane(lane),
        configuration_set=configuration_set,
    )


# --------------------------------------------------------------------------------------------
# To SES
# --------------------------------------------------------------------------------------------


def _utf8(text: str) -> dict[str, str]:
    return {"Data": text, "Charset": "UTF-8"}


def _content(message: EmailMessage) -> dict[str, Any]:
    headers = [{"Name": name, "Value": value} for name, value in message.headers.items()]
    if message.raw is not None:
        return {"Raw": {"Data": message.raw}}
    if message.template is not None:
        template: dict[str, Any] = {
            "TemplateName": message.template.name,
            "TemplateData": json.dumps(
                dict(message.template.data), ensure_ascii=False, separators=(",", ":")
            ),
        }
        if headers:
            template["Headers"] = headers
        return {"Template": template}
    body = {}
    if message.text is not None:
        body["Text"] = _utf8(message.text)
    if message.html is not None:
        body["Html"] = _utf8(message.html)
    simple: dict[str, Any] = {"Subject": _utf8(message.subject or ""), "Body": body}
    if headers:
        simple["Headers"] = headers
    return {"Simple": simple}


def send_email_kwargs(
    message: EmailMessage, *, configuration_set: str | None, tags: Mapping[str, str]
) -> dict[str, Any]:
    """Keyword arguments for boto3 ``sesv2.send_email``.

    ``configuration_set`` is the slice's default; the message's own one wins. ``tags`` are the
    sender's (idempotency_key, slice, lane) and win over message tags of the same name. Empty
    lists and None are left out: boto3 rejects None.
    """
    for name, value in tags.items():
        if not _TAG_RE.fullmatch(name) or not _TAG_RE.fullmatch(value):
            raise ValueError(f"tag {name}={value!r}: name and value must be [A-Za-z0-9_-]{{1,256}}")
    destination = {
        key: [address.formatted for address in addresses]
        for key, addresses in (
            ("ToAddresses", message.to),
            ("CcAddresses", message.cc),
            ("BccAddresses", message.bcc),
        )
        if addresses
    }
    kwargs: dict[str, Any] = {
        "FromEmailAddress": message.from_address.formatted,
        "Destination": destination,
        "Content": _content(message),
    }
    if message.reply_to:
        kwargs["ReplyToAddresses"] = [address.formatted for address in message.reply_to]
    merged = {**message.tags, **tags}
    if merged:
        kwargs["EmailTags"] = [{"Name": name, "Value": value} for name, value in merged.items()]
    chosen = message.configuration_set or configuration_set
    if chosen:
        kwargs["ConfigurationSetName"] = chosen
    return kwargs

"""Message contract v1: good messages of each content kind parse into exact typed values and exact
``sesv2.send_email`` arguments; malformed ones are refused with their stable reason code and a
detail naming the field; the producer only ever builds what the sender accepts and never loses
a message silently on the way to the queue."""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import boto3
import pytest
from botocore.validate import ParamValidator
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from functions.sender.contract import (
    FIELDS,
    MAX_MESSAGE_BYTES,
    Address,
    ContentKind,
    EmailMessage,
    InvalidMessage,
    Lane,
    ReasonCode,
    Template,
    ascii_domain,
    parse_message,
    send_email_kwargs,
)
from functions.sender.producer import EnqueueError, build_messages, send_to_queue, to_json

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "tests" / "events" / "sender"
README = REPO / "functions" / "sender" / "README.md"
SENDER_TAGS = {"idempotency_key": "k", "slice": "at-de"}
DROP = object()


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return data


def body(fixture: str = "simple", **changes: Any) -> str:
    """The fixture with fields replaced (``DROP`` removes one); ``from_`` stands for ``from``."""
    data = load(fixture)
    for name, value in changes.items():
        key = "from" if name == "from_" else name
        if value is DROP:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data)


def mime(headers: str = "From: billing@news.example.at\r\nTo: jane@example.com", text: str = "Hi") -> str:
    return base64.b64encode(f"{headers}\r\nSubject: s\r\n\r\n{text}\r\n".encode()).decode()


def raw_body(**changes: Any) -> str:
    return body("raw", **changes)


@functools.cache
def send_email_shape() -> Any:
    model = boto3.session.Session(region_name="eu-central-1").client("sesv2").meta.service_model
    return model.operation_model("SendEmail").input_shape


def valid_for_boto3(kwargs: dict[str, Any]) -> None:
    """boto3 would accept these arguments (its own parameter validation, no call made)."""
    report = ParamValidator().validate(kwargs, send_email_shape())
    assert not report.has_errors(), report.generate_report()


# --------------------------------------------------------------------------------------------
# Good messages
# --------------------------------------------------------------------------------------------


def test_a_simple_message_parses_into_exact_typed_values() -> None:
    message = parse_message(body("simple"))

    assert message == EmailMessage(
        idempotency_key="order-4711-confirmation",
        from_address=Address("orders@news.example.at", "Shop"),
        to=(Address("jane@example.com", "Jane Doe"),),
        cc=(Address("accounts@example.org"),),
        reply_to=(Address("support@news.example.at"),),
        subject="Your order 4711",
        text="Thank you for your order.",
        html="<p>Thank you for your order.</p>",
        headers=MappingProxyType({"X-Order-Id": "4711"}),
        tags=MappingProxyType({"kind": "order-confirmation"}),
    )
    assert (message.content_kind, message.lane, message.version) == (
        ContentKind.SIMPLE,
        Lane.TRANSACTIONAL,
        1,
    )
    assert (message.recipient_count, message.from_domain) == (2, "news.example.at")


def test_a_simple_message_gives_exact_send_email_kwargs() -> None:
    kwargs = send_email_kwargs(
        parse_message(body("simple")), configuration_set="transactional", tags=SENDER_TAGS
    )

    assert kwargs == {
        "FromEmailAddress": "Shop <orders@news.example.at>",
        "Destination": {
            "ToAddresses": ["Jane Doe <jane@example.com>"],
            "CcAddresses": ["accounts@example.org"],
        },
        "ReplyToAddresses": ["support@news.example.at"],
        "Content": {
            "Simple": {
                "Subject": {"Data": "Your order 4711", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "Thank you for your order.", "Charset": "UTF-8"},
                    "Html": {"Data": "<p>Thank you for your order.</p>", "Charset": "UTF-8"},
                },
                "Headers": [{"Name": "X-Order-Id", "Value": "4711"}],
            }
        },
        "EmailTags": [
            {"Name": "kind", "Value": "order-confirmation"},
            {"Name": "idempotency_key", "Value": "k"},
            {"Name": "slice", "Value": "at-de"},
        ],
        "ConfigurationSetName": "transactional",
    }
    valid_for_boto3(kwargs)


def test_a_template_message_parses_into_exact_typed_values() -> None:
    message = parse_message(body("template"))

    assert message == EmailMessage(
        idempotency_key="newsletter-2026-10-17",
        from_address=Address("news@news.example.at", "Newsletter"),
        to=(Address("reader@example.com"),),
        template=Template(
            "monthly-news", MappingProxyType({"month": "Oktober", "items": [{"title": "Neu im Shop"}]})
        ),
        headers=MappingProxyType(
            {
                "List-Unsubscribe": "<https://news.example.at/unsubscribe?u=7f3a>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            }
        ),
        tags=MappingProxyType({"campaign": "newsletter-2026-10"}),
        lane=Lane.BULK,
        configuration_set="marketing",
    )
    assert message.content_kind is ContentKind.TEMPLATE


def test_a_template_message_gives_exact_send_email_kwargs_with_its_own_configuration_set() -> None:
    kwargs = send_email_kwargs(parse_message(body("template")), configuration_set="default", tags=SENDER_TAGS)

    assert kwargs == {
        "FromEmailAddress": "Newsletter <news@news.example.at>",
        "Destination": {"ToAddresses": ["reader@example.com"]},
        "Content": {
            "Template": {
                "TemplateName": "monthly-news",
                "TemplateData": '{"month":"Oktober","items":[{"title":"Neu im Shop"}]}',
                "Headers": [
                    {"Name": "List-Unsubscribe", "Value": "<https://news.example.at/unsubscribe?u=7f3a>"},
                    {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"},
                ],
            }
        },
        "EmailTags": [
            {"Name": "campaign", "Value": "newsletter-2026-10"},
            {"Name": "idempotency_key", "Value": "k"},
            {"Name": "slice", "Value": "at-de"},
        ],
        "ConfigurationSetName": "marketing",
    }
    valid_for_boto3(kwargs)


def test_a_raw_message_parses_into_exact_typed_values() -> None:
    message = parse_message(body("raw"))

    assert message == EmailMessage(
        idempotency_key="invoice-2026-0815",
        from_address=Address("billing@news.example.at"),
        to=(Address("jane@example.com"),),
        bcc=(Address("archive@example.org"),),
        raw=base64.b64decode(load("raw")["raw"]),
    )
    assert message.raw is not None
    assert message.raw.startswith(b"From: Billing <billing@news.example.at>\r\n")
    assert message.content_kind is ContentKind.RAW


def test_a_raw_message_gives_exact_send_email_kwargs_without_empty_fields() -> None:
    message = parse_message(body("raw"))

    kwargs = send_email_kwargs(message, configuration_set=None, tags={})

    assert kwargs == {
        "FromEmailAddress": "billing@news.example.at",
        "Destination": {"ToAddresses": ["jane@example.com"], "BccAddresses": ["archive@example.org"]},
        "Content": {"Raw": {"Data": message.raw}},
    }
    valid_for_boto3(kwargs)


def test_a_minimal_text_message_takes_the_defaults_and_null_counts_as_absent() -> None:
    message = parse_message(
        b'{"version":1,"idempotency_key":"a","from":"a@x.de","to":["b@x.de"],"cc":null,'
        b'"subject":"s","text":"t","lane":null}'
    )

    assert (message.lane, message.cc, message.html, dict(message.tags)) == (Lane.TRANSACTIONAL, (), None, {})
    assert send_email_kwargs(message, configuration_set=None, tags={})["Content"] == {
        "Simple": {
            "Subject": {"Data": "s", "Charset": "UTF-8"},
            "Body": {"Text": {"Data": "t", "Charset": "UTF-8"}},
        }
    }


def test_an_idn_domain_becomes_punycode_and_a_non_ascii_name_an_encoded_word() -> None:
    message = parse_message(body(from_="Bäckerei Müller <info@Bäckerei-Straße.example>", to=["a@例え.jp"]))

    assert message.from_address == Address("info@xn--bckerei-strae-mdb7d.example", "Bäckerei Müller")
    assert message.from_domain == "xn--bckerei-strae-mdb7d.example"
    assert message.to == (Address("a@xn--r8jz45g.jp"),)
    kwargs = send_email_kwargs(message, configuration_set=None, tags={})
    assert kwargs["FromEmailAddress"].endswith("?= <info@xn--bckerei-strae-mdb7d.example>")
    assert kwargs["FromEmailAddress"].isascii()


def test_a_display_name_with_a_comma_is_quoted_for_ses() -> None:
    message = parse_message(body(to=['"Doe, Jane" <jane@example.com>']))

    assert message.to == (Address("jane@example.com", "Doe, Jane"),)
    assert send_email_kwargs(message, configuration_set=None, tags={})["Destination"]["ToAddresses"] == [
        '"Doe, Jane" <jane@example.com>'
    ]


def test_the_senders_tags_win_over_message_tags_of_the_same_name() -> None:
    message = parse_message(body(tags={"kind": "a", "campaign": "b"}))

    kwargs = send_email_kwargs(message, configuration_set=None, tags={"kind": "platform"})

    assert kwargs["EmailTags"] == [{"Name": "kind", "Value": "platform"}, {"Name": "campaign", "Value": "b"}]


def test_sender_tags_outside_the_ses_charset_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="slice"):
        send_email_kwargs(parse_message(body()), configuration_set=None, tags={"slice": "at de"})


def test_a_message_of_exactly_fifty_recipients_is_accepted() -> None:
    to = [f"u{i}@example.com" for i in range(25)]
    bcc = [f"v{i}@example.com" for i in range(25)]

    assert parse_message(body(to=to, cc=DROP, bcc=bcc)).recipient_count == 50


def test_base64_with_mime_line_breaks_is_accepted_as_raw() -> None:
    folded = "\n".join(re.findall(".{1,76}", load("raw")["raw"]))

    assert parse_message(raw_body(raw=folded)).raw == base64.b64decode(load("raw")["raw"])


def test_a_message_just_under_the_size_limit_is_accepted() -> None:
    padding = MAX_MESSAGE_BYTES - len(body(text="").encode())

    assert parse_message(body(text="x" * padding)).text == "x" * padding


# --------------------------------------------------------------------------------------------
# Malformed messages: (sentence, body, reason code, field named in the detail)
# --------------------------------------------------------------------------------------------

TOO_MANY = [f"u{i}@example.com" for i in range(51)]
BAD = [
    ("the body is not JSON", "{not json", ReasonCode.INVALID_JSON, "body"),
    ("the body is not UTF-8", b'{"version": 1, "subject": "\xff"}', ReasonCode.INVALID_JSON, "body"),
    ("a key appears twice", '{"version": 1, "version": 1}', ReasonCode.INVALID_JSON, "body"),
    ("the body holds NaN", '{"version": NaN}', ReasonCode.INVALID_JSON, "body"),
    ("a string holds a lone surrogate", body(subject="\ud800"), ReasonCode.INVALID_JSON, "body"),
    ("the body is a JSON array", "[1, 2]", ReasonCode.NOT_AN_OBJECT, "body"),
    ("the body is a JSON string", '"hello"', ReasonCode.NOT_AN_OBJECT, "body"),
    ("the body is over 254 KiB", body(text="x" * MAX_MESSAGE_BYTES), ReasonCode.MESSAGE_TOO_LARGE, "body"),
    ("the version is missing", body(version=DROP), ReasonCode.MISSING_FIELD, "version"),
    ("the version is 2", body(version=2), ReasonCode.UNSUPPORTED_VERSION, "version"),
    ("the version is a string", body(version="1"), ReasonCode.INVALID_FIELD, "version"),
    ("the version is true", body(version=True), ReasonCode.INVALID_FIELD, "version"),
    ("a top-level field is misspelt", body(subjet="x"), ReasonCode.UNKNOWN_FIELD, "subjet"),
    ("the idempotency key is missing", body(idempotency_key=DROP), ReasonCode.MISSING_FIELD,
     "idempotency_key"),
    ("the idempotency key has a colon", body(idempotency_key="a:b"), ReasonCode.INVALID_IDEMPOTENCY_KEY,
     "idempotency_key"),
    ("the idempotency key is 129 characters", body(idempotency_key="k" * 129),
     ReasonCode.INVALID_IDEMPOTENCY_KEY, "idempotency_key"),
    ("the idempotency key is a number", body(idempotency_key=7), ReasonCode.INVALID_IDEMPOTENCY_KEY,
     "idempotency_key"),
    ("the lane is unknown", body(lane="urgent"), ReasonCode.UNKNOWN_LANE, "lane"),
    ("the from address is missing", body(from_=DROP), ReasonCode.MISSING_FIELD, "from"),
    ("the from address has no domain", body(from_="orders"), ReasonCode.INVALID_ADDRESS, "from"),
    ("to is a string, not a list", body(to="jane@example.com"), ReasonCode.INVALID_FIELD, "to"),
    ("there are no recipients", body(to=[], cc=DROP), ReasonCode.NO_RECIPIENTS, "to/cc/bcc"),
    ("there are 51 recipients", body(to=TOO_MANY, cc=DROP), ReasonCode.TOO_MANY_RECIPIENTS, "to/cc/bcc"),
    ("a cc address has two at signs", body(cc=["a@@example.org"]), ReasonCode.INVALID_ADDRESS, "cc[0]"),
    ("a domain has a numeric TLD", body(to=["a@example.123"]), ReasonCode.INVALID_ADDRESS, "to[0]"),
    ("a domain label starts with a hyphen", body(to=["a@-x.example"]), ReasonCode.INVALID_ADDRESS, "to[0]"),
    ("a local part is not ASCII", body(to=["jürgen@example.com"]), ReasonCode.INVALID_ADDRESS, "to[0]"),
    ("an address holds a space", body(to=["jane doe@example.com"]), ReasonCode.INVALID_ADDRESS, "to[0]"),
    ("an address is a number", body(bcc=[42]), ReasonCode.INVALID_ADDRESS, "bcc[0]"),
    ("an address smuggles a Bcc line", body(to=["a@example.com\r\nBcc: victim@example.net"]),
     ReasonCode.HEADER_INJECTION, "to[0]"),
    ("a display name smuggles a line break", body(from_="Shop\nX-Evil: 1 <orders@news.example.at>"),
     ReasonCode.HEADER_INJECTION, "from"),
    ("a recipient repeats in another list", body(bcc=["JANE@example.com"]), ReasonCode.DUPLICATE_RECIPIENT,
     "bcc[0]"),
    ("a reply-to address is invalid", body(reply_to=["support"]), ReasonCode.INVALID_ADDRESS, "reply_to[0]"),
    ("the subject smuggles a CRLF", body(subject="Hi\r\nBcc: victim@example.net"),
     ReasonCode.HEADER_INJECTION, "subject"),
    ("the subject is missing", body(subject=DROP), ReasonCode.MISSING_FIELD, "subject"),
    ("the subject is empty", body(subject=""), ReasonCode.INVALID_FIELD, "subject"),
    ("the text is a number", body(text=1), ReasonCode.INVALID_FIELD, "text"),
    ("there is no content", body(text=DROP, html=DROP), ReasonCode.NO_CONTENT, "text/html/template/raw"),
    ("html and raw are both given", raw_body(html="<p>x</p>"), ReasonCode.CONFLICTING_CONTENT, "html/raw"),
    ("a template comes with text", body("template", text="x"), ReasonCode.CONFLICTING_CONTENT,
     "text/template"),
    ("a template comes with a subject", body("template", subject="x"), ReasonCode.CONFLICTING_CONTENT,
     "subject"),
    ("a raw message comes with headers", raw_body(headers={"X-A": "1"}), ReasonCode.CONFLICTING_CONTENT,
     "headers"),
    ("the template is a string", body("template", template="monthly-news"), ReasonCode.INVALID_FIELD,
     "template"),
    ("the template has no name", body("template", template={"data": {}}), ReasonCode.MISSING_FIELD,
     "template.name"),
    ("the template has an unknown field", body("template", template={"name": "t", "vars": {}}),
     ReasonCode.UNKNOWN_FIELD, "template.vars"),
    ("the template data is a list", body("template", template={"name": "t", "data": [1]}),
     ReasonCode.INVALID_TEMPLATE_DATA, "template.data"),
    ("the template data is a JSON string", body("template", template={"name": "t", "data": "{}"}),
     ReasonCode.INVALID_TEMPLATE_DATA, "template.data"),
    ("raw is not base64", raw_body(raw="not base64!"), ReasonCode.INVALID_RAW, "raw"),
    ("raw has no blank line before the body", raw_body(raw=base64.b64encode(b"From: a@b.de").decode()),
     ReasonCode.INVALID_RAW, "raw"),
    ("raw is From someone else", raw_body(raw=mime("From: ceo@other.example.org")), ReasonCode.INVALID_RAW,
     "raw.From"),
    ("raw has no From header", raw_body(raw=mime("To: jane@example.com")), ReasonCode.INVALID_RAW,
     "raw.From"),
    ("raw has a line over 998 octets", raw_body(raw=mime(text="x" * 999)), ReasonCode.INVALID_RAW, "raw"),
    ("raw picks its own configuration set",
     raw_body(raw=mime("From: billing@news.example.at\r\nX-SES-CONFIGURATION-SET: other")),
     ReasonCode.FORBIDDEN_HEADER, "raw.X-SES-CONFIGURATION-SET"),
    ("a header sets From", body(headers={"From": "ceo@example.org"}), ReasonCode.FORBIDDEN_HEADER,
     "headers.From"),
    ("a header sets bcc in lower case", body(headers={"bcc": "a@example.org"}), ReasonCode.FORBIDDEN_HEADER,
     "headers.bcc"),
    ("a header sets Content-Type", body(headers={"Content-Type": "text/html"}), ReasonCode.FORBIDDEN_HEADER,
     "headers.Content-Type"),
    ("a header sets DKIM-Signature", body(headers={"DKIM-Signature": "v=1"}), ReasonCode.FORBIDDEN_HEADER,
     "headers.DKIM-Signature"),
    ("a header steers SES tags", body(headers={"X-SES-MESSAGE-TAGS": "slice=x"}), ReasonCode.FORBIDDEN_HEADER,
     "headers.X-SES-MESSAGE-TAGS"),
    ("a header name holds a space", body(headers={"X Order": "1"}), ReasonCode.INVALID_FIELD,
     "headers.X Order"),
    ("a header value smuggles a CRLF", body(headers={"X-Order-Id": "1\r\nBcc: a@b.de"}),
     ReasonCode.HEADER_INJECTION, "headers.X-Order-Id"),
    ("a header value is not ASCII", body(headers={"X-Order-Id": "Bestellung für Jürgen"}),
     ReasonCode.INVALID_FIELD, "headers.X-Order-Id"),
    ("there are 16 headers", body(headers={f"X-H{i}": "v" for i in range(16)}), ReasonCode.INVALID_FIELD,
     "headers"),
    ("a header repeats in another case", body(headers={"X-A": "1", "x-a": "2"}), ReasonCode.INVALID_FIELD,
     "headers.x-a"),
    ("a tag is named slice", body(tags={"slice": "x"}), ReasonCode.INVALID_TAG, "tags.slice"),
    ("a tag is named Idempotency_Key", body(tags={"Idempotency_Key": "x"}), ReasonCode.INVALID_TAG,
     "tags.Idempotency_Key"),
    ("a tag value holds a space", body(tags={"kind": "order confirmation"}), ReasonCode.INVALID_TAG,
     "tags.kind"),
    ("a tag value is a number", body(tags={"kind": 1}), ReasonCode.INVALID_TAG, "tags.kind"),
    ("there are 11 tags", body(tags={f"t{i}": "v" for i in range(11)}), ReasonCode.INVALID_TAG, "tags"),
    ("the configuration set name has a dot", body(configuration_set="a.b"), ReasonCode.INVALID_FIELD,
     "configuration_set"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code", "where"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
def test_a_malformed_message_is_refused_with_its_reason_code_naming_the_field(
    text: str | bytes, code: ReasonCode, where: str
) -> None:
    with pytest.raises(InvalidMessage) as refused:
        parse_message(text)

    assert (refused.value.reason_code, refused.value.field) == (code, where)
    assert refused.value.detail.startswith(f"{where}: ")
    assert str(refused.value).startswith(f"{code}: {where}")


def test_every_reason_code_is_upper_snake_and_documented_in_the_readme() -> None:
    readme = README.read_text()

    for code in ReasonCode:
        assert re.fullmatch(r"[A-Z]+(_[A-Z]+)*", code), code
        assert f"`{code}`" in readme, f"{code} is not in {README.name}"


def test_every_json_example_in_the_readme_is_a_valid_message() -> None:
    examples = re.findall(r"```json\n(.*?)```", README.read_text(), flags=re.DOTALL)

    assert len(examples) >= 3
    for example in examples:
        parse_message(example)


# --------------------------------------------------------------------------------------------
# Producer
# --------------------------------------------------------------------------------------------

RECIPIENTS = [f"user{i}@example.com" for i in range(120)]


def newsletter(**changes: Any) -> list[dict[str, Any]]:
    arguments: dict[str, Any] = {
        "from_address": "Newsletter <news@news.example.at>",
        "recipients": RECIPIENTS,
        "subject": "October news",
        "text": "Hello",
        "lane": "bulk",
        "idempotency_key_prefix": "newsletter-2026-10",
    }
    arguments.update(changes)
    return build_messages(**arguments)


def test_120_recipients_become_three_messages_of_50_50_and_20_with_numbered_keys() -> None:
    messages = newsletter()

    assert [len(m["to"]) for m in messages] == [50, 50, 20]
    assert [m["idempotency_key"] for m in messages] == [f"newsletter-2026-10-{i}" for i in range(3)]
    assert [a for m in messages for a in m["to"]] == RECIPIENTS
    for message in messages:
        parsed = parse_message(to_json(message))
        assert (parsed.lane, parsed.subject, parsed.text) == (Lane.BULK, "October news", "Hello")


def test_building_twice_gives_the_same_messages_byte_for_byte() -> None:
    assert [to_json(m) for m in newsletter()] == [to_json(m) for m in newsletter()]


def test_recipients_can_go_in_bcc_and_in_smaller_messages() -> None:
    messages = newsletter(as_bcc=True, recipients_per_message=1, recipients=RECIPIENTS[:3])

    assert [m["bcc"] for m in messages] == [[r] for r in RECIPIENTS[:3]]
    assert all("to" not in m for m in messages)


def test_the_producer_builds_template_and_raw_messages_the_sender_accepts() -> None:
    (template,) = newsletter(
        recipients=RECIPIENTS[:1], subject=None, text=None, template="monthly-news", template_data={"m": 10}
    )
    raw_mime = base64.b64decode(mime("From: news@news.example.at"))
    (raw,) = newsletter(recipients=RECIPIENTS[:1], subject=None, text=None, raw=raw_mime)

    assert parse_message(to_json(template)).template == Template("monthly-news", MappingProxyType({"m": 10}))
    assert parse_message(to_json(raw)).raw == raw_mime


@pytest.mark.parametrize(
    ("changes", "code", "where"),
    [
        ({"subject": "Hi\r\nBcc: a@b.de"}, ReasonCode.HEADER_INJECTION, "subject"),
        ({"recipients": [*RECIPIENTS[:3], "not-an-address"]}, ReasonCode.INVALID_ADDRESS, "recipients[3]"),
        ({"recipients": ["a@example.com", "A@Example.com"]}, ReasonCode.DUPLICATE_RECIPIENT, "recipients[1]"),
        ({"recipients": []}, ReasonCode.NO_RECIPIENTS, "recipients"),
        ({"idempotency_key_prefix": "news letter"}, ReasonCode.INVALID_IDEMPOTENCY_KEY, "idempotency_key"),
        ({"template_data": {"m": 1}}, ReasonCode.MISSING_FIELD, "template"),
        ({"tags": {"slice": "x"}}, ReasonCode.INVALID_TAG, "tags.slice"),
        ({"lane": "urgent"}, ReasonCode.UNKNOWN_LANE, "lane"),
    ],
    ids=[
        "a subject with a line break",
        "an invalid recipient",
        "a recipient listed twice",
        "no recipients",
        "a prefix with a space",
        "template data without a template",
        "a reserved tag",
        "an unknown lane",
    ],
)
def test_the_producer_refuses_what_the_sender_would_refuse(
    changes: dict[str, Any], code: ReasonCode, where: str
) -> None:
    with pytest.raises(InvalidMessage) as refused:
        newsletter(**changes)

    assert (refused.value.reason_code, refused.value.field) == (code, where)


def test_the_producer_refuses_one_string_as_recipients_and_chunks_over_fifty() -> None:
    with pytest.raises(TypeError, match="recipients"):
        newsletter(recipients="a@example.com")
    with pytest.raises(ValueError, match="recipients_per_message"):
        newsletter(recipients_per_message=51)


def test_to_json_escapes_characters_sqs_refuses() -> None:
    text = to_json({"subject": "a\ufffeb", "text": "ok ü"})

    assert text == '{"subject":"a\\ufffeb","text":"ok ü"}'
    assert json.loads(text) == {"subject": "a\ufffeb", "text": "ok ü"}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto SQS in-process, behind fake credentials so no real account can be reached."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-central-1")


class Recorder:
    """Passes batches on to ``client`` (or answers them itself) and remembers their sizes."""

    def __init__(
        self,
        client: Any = None,
        fail_ids: frozenset[str] = frozenset(),
        drop_ids: frozenset[str] = frozenset(),
    ):
        self.client = client
        self.fail_ids = fail_ids
        self.drop_ids = drop_ids
        self.batches: list[list[str]] = []

    def send_message_batch(self, **kwargs: Any) -> dict[str, Any]:
        ids = [entry["Id"] for entry in kwargs["Entries"]]
        self.batches.append(ids)
        if self.client is not None:
            response: dict[str, Any] = self.client.send_message_batch(**kwargs)
            return response
        return {
            "Successful": [
                {"Id": i, "MessageId": f"mid-{i}"} for i in ids if i not in self.fail_ids | self.drop_ids
            ],
            "Failed": [
                {"Id": i, "Code": "InternalError", "Message": "try again", "SenderFault": False}
                for i in ids
                if i in self.fail_ids
            ],
        }


def test_25_messages_reach_the_queue_in_three_batches(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="at-de-transactional")["QueueUrl"]
    messages = newsletter(recipients=RECIPIENTS[:25], recipients_per_message=1)
    recorder = Recorder(sqs)

    message_ids = send_to_queue(recorder, url, messages)

    assert [len(batch) for batch in recorder.batches] == [10, 10, 5]
    assert len(set(message_ids)) == 25
    received = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(m["Body"])["idempotency_key"] for m in batch]
        sqs.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": m["MessageId"], "ReceiptHandle": m["ReceiptHandle"]} for m in batch]
        )
    assert sorted(received) == sorted(m["idempotency_key"] for m in messages)


def test_a_failed_entry_raises_and_stops_before_the_next_batch() -> None:
    recorder = Recorder(fail_ids=frozenset({"13"}))
    messages = newsletter(recipients=RECIPIENTS[:25], recipients_per_message=1)

    with pytest.raises(EnqueueError) as error:
        send_to_queue(recorder, "https://sqs.example/q", messages)

    assert error.value.failed == [
        {"idempotency_key": "newsletter-2026-10-13", "code": "InternalError", "message": "try again",
         "sender_fault": False}
    ]  # fmt: skip
    assert len(error.value.message_ids) == 19
    assert len(recorder.batches) == 2


def test_an_entry_missing_from_the_answer_counts_as_failed() -> None:
    recorder = Recorder(drop_ids=frozenset({"0"}))

    with pytest.raises(EnqueueError) as error:
        send_to_queue(
            recorder, "https://sqs.example/q", newsletter(recipients=RECIPIENTS[:2], recipients_per_message=1)
        )

    assert [(f["idempotency_key"], f["code"]) for f in error.value.failed] == [
        ("newsletter-2026-10-0", "NoResult")
    ]


def test_batches_also_stay_under_256_kib_in_total() -> None:
    recorder = Recorder()
    messages = newsletter(recipients=RECIPIENTS[:6], recipients_per_message=1, text="x" * 100_000)

    send_to_queue(recorder, "https://sqs.example/q", messages)

    assert recorder.batches == [["0", "1"], ["2", "3"], ["4", "5"]]


def test_an_invalid_message_is_refused_before_anything_is_sent() -> None:
    recorder = Recorder()
    messages = [*newsletter(recipients=RECIPIENTS[:2], recipients_per_message=1), {"version": 1}]

    with pytest.raises(InvalidMessage):
        send_to_queue(recorder, "https://sqs.example/q", messages)

    assert recorder.batches == []


# --------------------------------------------------------------------------------------------
# Robustness: a poison message must end as InvalidMessage (→ DLQ), never as a crash (→ retries)
# --------------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    fixture=st.sampled_from(["simple", "template", "raw"]),
    name=st.sampled_from(sorted(FIELDS | {"template"})),
    value=JSON_VALUES,
)
def test_any_value_in_any_field_is_accepted_or_refused_with_a_reason_code(
    fixture: str, name: str, value: Any
) -> None:
    text = body(fixture, **{"from_" if name == "from" else name: value})

    reason: str | None = None
    try:
        message = parse_message(text)
    except InvalidMessage as refused:
        reason = refused.reason_code
    else:
        valid_for_boto3(send_email_kwargs(message, configuration_set=None, tags={}))
    assert reason is None or reason in set(ReasonCode)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_any_bytes_or_text_are_refused_with_a_reason_code(text: bytes | str) -> None:
    with pytest.raises(InvalidMessage):
        parse_message(text)


def test_an_invalid_address_is_named_by_position_and_not_repeated_in_the_detail() -> None:
    with pytest.raises(InvalidMessage) as refused:
        parse_message(body(cc=["secret.person@@example.org"]))

    assert refused.value.detail == "cc[0]: is not local@domain"


def test_configured_domains_normalise_like_from_domain() -> None:
    assert ascii_domain("Bäckerei-Straße.Example") == "xn--bckerei-strae-mdb7d.example"
    assert ascii_domain("news.example.at") == "news.example.at"
    assert ascii_domain("localhost") is None

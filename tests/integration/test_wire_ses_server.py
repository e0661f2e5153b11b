"""The SES stand-in of the wire benchmarks, seen through boto3's real ``sesv2`` client.

The stand-in runs in a thread here (same code as its process form); everything goes over HTTP
on 127.0.0.1, signed, serialised and parsed by botocore.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError

from functions.sender.errors import Action, classify
from tests.support.ses_model import NO_LATENCY
from tests.support.wire.ses_server import SesControl, SesStandIn, WireFaults

FROM = "news@news.example.at"


@pytest.fixture
def stand_in() -> Iterator[SesStandIn]:
    with SesStandIn(max_send_rate=5, latency=NO_LATENCY, verified_domains={"news.example.at"}) as server:
        yield server


def client(url: str, read_timeout: float = 10) -> Any:
    return boto3.client(
        "sesv2",
        endpoint_url=url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, read_timeout=read_timeout, connect_timeout=2),
    )


def send(ses: Any, recipients: int, key: str) -> dict[str, Any]:
    response: dict[str, Any] = ses.send_email(
        FromEmailAddress=FROM,
        Destination={"ToAddresses": [f"to{i}@example.com" for i in range(recipients)]},
        Content={"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
        EmailTags=[
            {"Name": "idempotency_key", "Value": key},
            {"Name": "slice", "Value": "at-de"},
            {"Name": "lane", "Value": "bulk"},
        ],
    )
    return response


def test_an_accepted_send_gets_a_message_id_and_is_recorded_with_its_tags(stand_in: SesStandIn) -> None:
    response = send(client(stand_in.url), 3, "k-1")

    assert response["MessageId"]
    [call] = SesControl(stand_in.url).stats()["calls"]
    assert call["outcome"] == "accepted"
    assert (call["recipients"], call["idempotency_key"], call["slice"], call["lane"]) == (
        3,
        "k-1",
        "at-de",
        "bulk",
    )
    assert call["message_id"] == response["MessageId"]


def test_a_send_over_the_rate_is_a_429_that_the_sender_classifies_as_throttled(stand_in: SesStandIn) -> None:
    ses = client(stand_in.url)
    send(ses, 4, "k-1")

    with pytest.raises(ClientError) as caught:
        send(ses, 2, "k-2")  # 4 + 2 > 5 within one second

    error = caught.value.response
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Error"]["Message"] == "Maximum sending rate exceeded."
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert isinstance(caught.value, ses.exceptions.TooManyRequestsException)
    failure = classify(caught.value)
    assert (failure.action, failure.throttled, failure.reason_code) == (Action.RETRY, True, "SES_THROTTLED")
    assert [c["outcome"] for c in stand_in.stats()["calls"]] == ["accepted", "throttled"]


def test_a_lone_message_larger_than_the_rate_passes_into_an_empty_window(stand_in: SesStandIn) -> None:
    assert send(client(stand_in.url), 12, "big")["MessageId"]


def test_get_account_reports_the_quota_and_what_was_sent(stand_in: SesStandIn) -> None:
    ses = client(stand_in.url)
    send(ses, 2, "k-1")

    quota = ses.get_account()["SendQuota"]

    assert quota["MaxSendRate"] == 5
    assert quota["SentLast24Hours"] == 2


def test_a_reply_that_hangs_after_accepting_is_an_ambiguous_read_timeout(stand_in: SesStandIn) -> None:
    stand_in.set_faults(WireFaults(hang_share=1.0, hang_seconds=3))

    with pytest.raises(ReadTimeoutError) as caught:
        send(client(stand_in.url, read_timeout=0.5), 1, "k-hung")

    assert classify(caught.value).action is Action.AMBIGUOUS
    [call] = stand_in.stats()["calls"]
    assert (call["outcome"], call["idempotency_key"]) == ("timeout_after_accept", "k-hung")


def test_injected_server_errors_are_5xx_the_sender_retries(stand_in: SesStandIn) -> None:
    SesControl(stand_in.url).set_faults(WireFaults(server_error_share=1.0))

    with pytest.raises(ClientError) as caught:
        send(client(stand_in.url), 1, "k-500")

    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert classify(caught.value).reason_code == "SES_SERVER_ERROR"


def test_an_unverified_from_domain_is_refused_like_ses_does(stand_in: SesStandIn) -> None:
    with pytest.raises(ClientError) as caught:
        client(stand_in.url).send_email(
            FromEmailAddress="ceo@other.example.org",
            Destination={"ToAddresses": ["a@example.com"]},
            Content={"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "t"}}}},
        )

    assert caught.value.response["Error"]["Code"] == "MessageRejected"


def test_an_unsigned_request_is_refused(stand_in: SesStandIn) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(f"{stand_in.url}/v2/email/outbound-emails", data=b"{}", method="POST")  # noqa: S310
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310 - loopback

    assert caught.value.code == 403


def test_calls_are_judged_in_arrival_order_at_their_arrival_not_when_parsed(stand_in: SesStandIn) -> None:
    # A call whose body comes late arrived first all the same (its request line was in): SES
    # counts by arrival, so the call that arrived after it is the one over the rate (5/s).
    body = json.dumps({
        "FromEmailAddress": FROM, "Destination": {"ToAddresses": [f"a{i}@example.com" for i in range(3)]},
        "Content": {"Simple": {"Subject": {"Data": "Hi"}, "Body": {"Text": {"Data": "Hello"}}}},
        "EmailTags": [{"Name": "idempotency_key", "Value": "slow-body"}],
    }).encode()  # fmt: skip
    host, port = stand_in.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as slow:
        slow.sendall(
            b"POST /v2/email/outbound-emails HTTP/1.1\r\nHost: ses\r\nContent-Type: application/json\r\n"
            b"Authorization: AWS4-HMAC-SHA256 Credential=testing\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        time.sleep(0.2)  # the request line and headers are in; the body is not
        later: dict[str, Any] = {}
        sender = threading.Thread(target=lambda: later.update(outcome=_try_send(stand_in.url, 3, "fast")))
        sender.start()
        time.sleep(0.2)  # the later call is in and waits for the earlier one's turn
        slow.sendall(body)
        answer = slow.recv(4096)
        sender.join(timeout=10)

    assert answer.startswith(b"HTTP/1.1 200")  # the first arrival: accepted
    assert later["outcome"] == "throttled"  # 3 + 3 > 5 in one second, the later arrival pays
    first, second = stand_in.calls
    assert (first["idempotency_key"], second["idempotency_key"]) == ("slow-body", "fast")
    assert first["at"] < second["at"]  # recorded at arrival, not when the body came


def _try_send(url: str, recipients: int, key: str) -> str:
    try:
        send(client(url), recipients, key)
    except ClientError as exc:
        return "throttled" if exc.response["Error"]["Code"] == "TooManyRequestsException" else "error"
    return "accepted"

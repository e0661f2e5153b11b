"""The tests' own helpers: the manual clock (tests/support/clock.py) and the fake SESv2 client
(tests/support/fake_ses.py), on what the tests that use them rely on."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.support.clock import ManualClock
from tests.support.fake_ses import FakeSes, client_error
from tests.support.threads import run_threads

T0 = 1_800_000_000.0


def send(ses: FakeSes) -> str:
    return str(ses.send_email(Destination={"ToAddresses": ["a@example.com"]})["MessageId"])


def test_a_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(T0)
    assert clock.now() == clock.now() == T0
    clock.advance(2.5)
    assert clock.now() == T0 + 2.5
    clock.set(T0 + 60)
    assert clock.now() == T0 + 60
    assert clock.slept == []  # the test moved it: no sleeps


def test_sleeping_moves_the_clock_on_never_back_and_every_sleep_is_kept_as_asked() -> None:
    clock = ManualClock(T0)
    clock.sleep(1.5)
    clock.sleep(-3)
    clock.sleep(0)
    assert clock.now() == T0 + 1.5
    assert clock.slept == [1.5, -3, 0]


def test_a_callback_runs_once_when_time_reaches_it_not_before() -> None:
    clock, fired = ManualClock(T0), []
    clock.at(T0 + 1, lambda: fired.append(clock.now()))
    clock.sleep(0.5)
    assert fired == []
    clock.sleep(0.6)
    clock.sleep(5)
    assert fired == [T0 + 1.1]


def test_a_ticking_clock_hands_every_caller_a_later_time_across_threads() -> None:
    clock = ManualClock(T0, tick=0.001)
    seen: list[list[float]] = [[] for _ in range(4)]

    def reader(i: int) -> None:
        seen[i].extend(clock.now() for _ in range(250))

    run_threads(4, reader)
    times = sorted(t for per_thread in seen for t in per_thread)
    assert len(set(times)) == 1000  # no two callers got the same time
    assert times[0] == T0 + 0.001
    assert times[-1] == pytest.approx(T0 + 1.0, abs=1e-6)  # no drift at epoch scale


def test_the_fake_ses_sends_numbered_message_ids_and_keeps_each_send_and_its_time() -> None:
    clock = ManualClock(T0)
    ses = FakeSes(clock=clock)
    assert send(ses) == "ses-1"
    clock.advance(2)
    assert send(ses) == "ses-2"
    assert ses.calls == [{"Destination": {"ToAddresses": ["a@example.com"]}}] * 2
    assert ses.sent_at == [T0, T0 + 2]


def test_scripted_send_errors_are_raised_one_per_call_then_sends_succeed() -> None:
    timeout = ReadTimeoutError(endpoint_url="https://email.eu-central-1.amazonaws.com")
    ses = FakeSes(client_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429), timeout)
    with pytest.raises(ClientError) as throttled:
        send(ses)
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    with pytest.raises(ReadTimeoutError):
        send(ses)
    assert send(ses) == "ses-3"  # the failed calls were still made
    assert len(ses.calls) == 3


def test_a_failing_operation_fails_every_call_and_others_still_answer() -> None:
    ses = FakeSes(failing={"get_dedicated_ips": client_error("TooManyRequestsException", operation="Get")})
    for _ in range(2):
        with pytest.raises(ClientError):
            ses.get_dedicated_ips(PoolName="p")
    ses.script("get_account", client_error("InternalFailure", status=500, operation="GetAccount"))
    with pytest.raises(ClientError):
        ses.get_account()
    assert ses.get_account()["SendQuota"]["MaxSendRate"] == 100
    assert [name for name, _ in ses.requests] == ["get_dedicated_ips"] * 2 + ["get_account"] * 2


def test_the_quota_is_read_from_what_the_test_set_last() -> None:
    ses = FakeSes(rate=50)
    assert ses.get_account()["SendQuota"] == {"MaxSendRate": 50, "Max24HourSend": 1e6, "SentLast24Hours": 0}
    ses.rate = 70
    assert ses.get_account()["SendQuota"]["MaxSendRate"] == 70
    assert len(ses.calls_to("get_account")) == 2


def test_dedicated_ips_are_listed_by_pool_and_in_pages_and_a_warmup_put_changes_the_ip() -> None:
    ips = [{"Ip": f"192.0.2.{i}", "PoolName": "a" if i < 3 else "b", "WarmupPercentage": 0} for i in range(5)]
    ses = FakeSes(dedicated_ips=ips, ip_page_size=2)
    listed, token = [], None
    while True:
        page = ses.get_dedicated_ips(**({"NextToken": token} if token else {}))
        listed += [ip["Ip"] for ip in page["DedicatedIps"]]
        if (token := page.get("NextToken")) is None:
            break
    assert listed == [ip["Ip"] for ip in ips]
    assert len(ses.calls_to("get_dedicated_ips")) == 3
    ses.ip_page_size = None
    assert [ip["Ip"] for ip in ses.get_dedicated_ips(PoolName="b")["DedicatedIps"]] == [
        "192.0.2.3",
        "192.0.2.4",
    ]
    ses.put_dedicated_ip_warmup_attributes(Ip="192.0.2.3", WarmupPercentage=25)
    assert ses.get_dedicated_ips(PoolName="b")["DedicatedIps"][0]["WarmupPercentage"] == 25
    assert ips[3]["WarmupPercentage"] == 0  # the test's own list is not changed behind its back

"""A strict model of SESv2 ``send_email`` for the fault simulation and the benchmark.

What it enforces, like SES does:
- the request shape, with botocore's own validator against the ``sesv2`` service model (what the
  real client refuses before any call), then SES's own checks (one content type, ≤ 50 recipients,
  tag names and values of ``[A-Za-z0-9_-]``, a verified from-domain);
- the sending rate in **recipients** (To + Cc + Bcc) counted at call time over the sliding window
  ``(t - 1, t]`` (whole milliseconds, like the limiter's log; SES's own clock is no finer than
  network jitter): accepted recipients + this call ≤ ``rate + burst``, else HTTP 429
  ``TooManyRequestsException`` "Maximum sending rate exceeded."; a single call larger than the
  rate passes only into an empty window (SES does not refuse a lone 50-recipient mail at 14/s);
- the rolling 24-hour quota in recipients ("Daily message quota exceeded."), optionally pre-loaded
  with yesterday's traffic (``prior_sends``) so it frees during a run;
- a latency per call (seeded lognormal, via ``clock.sleep``) and injected faults (:class:`Faults`).

It records every call (:attr:`attempts`) and every accepted send (:attr:`accepted`, with the
``idempotency_key`` EmailTag) so tests count duplicates, losses and per-second rates.
"""

from __future__ import annotations

import email.parser
import email.utils
import math
import random
import re
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
from botocore.errorfactory import ClientExceptionsFactory
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError
from botocore.validate import validate_parameters

from functions.common.clock import Clock

ENDPOINT = "https://email.eu-central-1.amazonaws.com/v2/email/outbound-emails"
IDEMPOTENCY_TAG = "idempotency_key"
MAX_RECIPIENTS = 50
_TAG_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


@dataclass(frozen=True)
class Latency:
    """Seeded lognormal service time, clipped: median ``median_seconds``, spread ``sigma``."""

    median_seconds: float = 0.085
    sigma: float = 0.3
    min_seconds: float = 0.03
    max_seconds: float = 0.6

    def sample(self, rng: random.Random) -> float:
        if self.median_seconds <= 0:
            return max(self.min_seconds, 0.0)
        value = rng.lognormvariate(math.log(self.median_seconds), self.sigma)
        return min(max(value, self.min_seconds), self.max_seconds)


NO_LATENCY = Latency(median_seconds=0.0, sigma=0.0, min_seconds=0.0, max_seconds=0.0)


@dataclass(frozen=True)
class Faults:
    """Injected faults; time ranges are ``(start, end)`` in seconds since the model was created."""

    throttle_storms: Sequence[tuple[float, float]] = ()  # every call throttled (429)
    throttle_rate: float = 0.0  # spurious 429 on a share of calls
    server_error_rate: float = 0.0  # HTTP 500 InternalFailure, nothing sent
    connect_timeout_rate: float = 0.0  # ConnectTimeoutError: the request never left
    timeout_after_accept_rate: float = 0.0  # SES accepts, then the client's read times out
    sending_paused: Sequence[tuple[float, float]] = ()  # SendingPausedException episodes
    account_suspended: Sequence[tuple[float, float]] = ()  # AccountSuspendedException episodes
    rejected_addresses: frozenset[str] = frozenset()  # MessageRejected when any recipient matches
    read_timeout_seconds: float = 5.0  # how long a timed-out call blocks the caller
    connect_timeout_seconds: float = 1.0


@dataclass(frozen=True)
class Attempt:
    """One call that reached SES (connect timeouts and client-side validation are not here)."""

    at: float
    recipients: int
    outcome: str  # accepted | throttled | daily_quota | paused | suspended | rejected | bad_request
    # | server_error | timeout_after_accept
    idempotency_key: str | None


@dataclass(frozen=True)
class AcceptedSend:
    at: float  # counted against the rate at this instant (call time)
    answered_at: float | None  # the caller got the MessageId (None: its read timed out)
    message_id: str
    recipients: tuple[str, ...]
    idempotency_key: str | None
    from_address: str
    tags: Mapping[str, str] = field(default_factory=dict)


@cache
def _sesv2() -> tuple[Any, Any]:
    model = botocore.session.get_session().get_service_model("sesv2")
    exceptions = ClientExceptionsFactory().create_client_exceptions(model)
    return model.operation_model("SendEmail").input_shape, exceptions


def ses_error(code: str, message: str, status: int) -> ClientError:
    """The exception boto3's ``sesv2`` client raises for an error answer (modeled class if any)."""
    _, exceptions = _sesv2()
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "model", "RetryAttempts": 0},
        "message": message,
    }
    cls = exceptions.from_code(code) or ClientError
    return cls(response, "SendEmail")  # type: ignore[no-any-return]


class SesModel:
    """``send_email(**kwargs)`` like boto3's ``sesv2`` client, against a strict model of SES."""

    def __init__(
        self,
        clock: Clock,
        *,
        rate_per_second: float,
        burst: float = 0,
        max_24_hour_send: int | None = None,
        prior_sends: Iterable[tuple[float, int]] = (),
        latency: Latency | None = None,
        faults: Faults | None = None,
        verified_domains: Iterable[str] | None = None,
        seed: int = 0,
        validate: bool = True,
    ) -> None:
        self.clock = clock
        self.validate = validate  # botocore's request validation (the benchmark's fixed requests skip it)
        self.rate_per_second = rate_per_second
        self.burst = burst
        self.max_24_hour_send = max_24_hour_send
        self.latency = latency or Latency()
        self.faults = faults or Faults()
        self.verified_domains = None if verified_domains is None else {d.lower() for d in verified_domains}
        self.started_at = clock.now()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible faults and latencies
        self._window: deque[tuple[int, int]] = deque()  # (ms, recipients) accepted in the last second
        self._window_sum = 0
        self._day: deque[tuple[float, int]] = deque(sorted(prior_sends))
        self._day_sum = sum(n for _, n in self._day)
        self._ids = 0
        self.attempts: list[Attempt] = []
        self.accepted: list[AcceptedSend] = []
        self.connect_timeouts = 0

    # -- the boto3 surface ------------------------------------------------------------------------
    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        if self.validate:
            validate_parameters(kwargs, _sesv2()[0])  # ParamValidationError, as the real client
        rng, faults = self._rng, self.faults
        if faults.connect_timeout_rate and rng.random() < faults.connect_timeout_rate:
            self.connect_timeouts += 1
            self.clock.sleep(faults.connect_timeout_seconds)
            raise ConnectTimeoutError(endpoint_url=ENDPOINT)
        now = self.clock.now()
        recipients = _recipients(kwargs)
        key = _tags(kwargs).get(IDEMPOTENCY_TAG)
        outcome, error = self._decide(now, kwargs, recipients)
        self.attempts.append(Attempt(now, len(recipients), outcome, key))
        latency = self.latency.sample(rng)
        if error is not None:
            self.clock.sleep(latency)
            raise error
        self._count(now, len(recipients))
        self._ids += 1
        message_id = f"0107{self._ids:012x}-model-000000"
        timed_out = outcome == "timeout_after_accept"
        send = AcceptedSend(
            at=now,
            answered_at=None if timed_out else now + latency,
            message_id=message_id,
            recipients=tuple(recipients),
            idempotency_key=key,
            from_address=kwargs.get("FromEmailAddress", ""),
            tags=_tags(kwargs),
        )
        self.accepted.append(send)
        if timed_out:
            self.clock.sleep(faults.read_timeout_seconds)
            raise ReadTimeoutError(endpoint_url=ENDPOINT)
        self.clock.sleep(latency)
        return {"MessageId": message_id, "ResponseMetadata": {"HTTPStatusCode": 200}}

    # -- what SES decides, at call time -----------------------------------------------------------
    def _decide(  # noqa: PLR0911 - one return per answer SES can give
        self, now: float, kwargs: Mapping[str, Any], recipients: list[str]
    ) -> tuple[str, ClientError | None]:
        rel, faults, rng = now - self.started_at, self.faults, self._rng
        if _within(rel, faults.account_suspended):
            return "suspended", ses_error("AccountSuspendedException", "Account is suspended.", 400)
        if _within(rel, faults.sending_paused):
            return "paused", ses_error("SendingPausedException", "Sending is paused for this account.", 400)
        problem = self._bad_request(kwargs, recipients)
        if problem is not None:
            return problem
        if faults.rejected_addresses.intersection(a.lower() for a in recipients):
            return "rejected", ses_error("MessageRejected", "Email address is on a block list.", 400)
        if faults.server_error_rate and rng.random() < faults.server_error_rate:
            return "server_error", ses_error("InternalFailure", "Internal service error.", 500)
        storm = _within(rel, faults.throttle_storms)
        if storm or (faults.throttle_rate and rng.random() < faults.throttle_rate):
            return "throttled", ses_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429)
        self._expire(now)
        if self.max_24_hour_send is not None and self._day_sum + len(recipients) > self.max_24_hour_send:
            return "daily_quota", ses_error("TooManyRequestsException", "Daily message quota exceeded.", 429)
        if self._window_sum and self._window_sum + len(recipients) > self.rate_per_second + self.burst:
            return "throttled", ses_error("TooManyRequestsException", "Maximum sending rate exceeded.", 429)
        if faults.timeout_after_accept_rate and rng.random() < faults.timeout_after_accept_rate:
            return "timeout_after_accept", None
        return "accepted", None

    def _bad_request(
        self, kwargs: Mapping[str, Any], recipients: list[str]
    ) -> tuple[str, ClientError] | None:
        content = kwargs.get("Content", {})
        kinds = [k for k in ("Simple", "Raw", "Template") if k in content]
        if len(kinds) != 1:
            return "bad_request", ses_error(
                "BadRequestException", "Exactly one content type is required.", 400
            )
        if not recipients:
            return "bad_request", ses_error("BadRequestException", "Missing recipients.", 400)
        if len(recipients) > MAX_RECIPIENTS:
            return "rejected", ses_error("MessageRejected", "Recipient count exceeds 50.", 400)
        for tag in kwargs.get("EmailTags", []):
            for part in ("Name", "Value"):
                if not _TAG_CHARS.match(tag[part]):
                    return "bad_request", ses_error(
                        "BadRequestException",
                        f"Tag {part.lower()} '{tag[part]}' has invalid characters.",
                        400,
                    )
        sender = kwargs.get("FromEmailAddress") or _raw_header(kwargs, "From") or ""
        domain = _address(sender).rpartition("@")[2].lower()
        if self.verified_domains is not None and domain not in self.verified_domains:
            return "rejected", ses_error(
                "MessageRejected",
                f"Email address is not verified. The following identities failed the check: {sender}",
                400,
            )
        return None

    def _expire(self, now: float) -> None:
        now_ms = round(now * 1000)
        while self._window and self._window[0][0] <= now_ms - 1000:
            self._window_sum -= self._window.popleft()[1]
        while self._day and self._day[0][0] <= now - 86_400.0:
            self._day_sum -= self._day.popleft()[1]

    def _count(self, now: float, recipients: int) -> None:
        self._window.append((round(now * 1000), recipients))
        self._window_sum += recipients
        self._day.append((now, recipients))
        self._day_sum += recipients

    # -- what tests read --------------------------------------------------------------------------
    def sends_by_key(self) -> Counter[str | None]:
        return Counter(send.idempotency_key for send in self.accepted)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.sends_by_key().items() if k is not None and n > 1}

    def outcomes(self) -> Counter[str]:
        return Counter(a.outcome for a in self.attempts)

    def over_rate(self, rate: float | None = None, *, accepted_only: bool = False) -> list[OverRate]:
        """Every call at which the recipients SES *saw* in ``(t - 1, t]`` (all calls, or only
        accepted ones) exceeded ``rate`` (default: the model's); a window holding one single
        call larger than the rate is not counted (see the module docstring)."""
        return over_rate(self.attempts, rate or self.rate_per_second, accepted_only=accepted_only)

    def recipients_per_second(self, start: float, end: float) -> list[int]:
        """Accepted recipients in each whole second ``[start + i, start + i + 1)``."""
        bins = [0] * max(0, int(end - start))
        for send in self.accepted:
            i = int(send.at - start)
            if 0 <= i < len(bins):
                bins[i] += len(send.recipients)
        return bins


@dataclass(frozen=True)
class OverRate:
    at: float
    recipients_in_window: int


def over_rate(attempts: Sequence[Attempt], rate: float, *, accepted_only: bool = False) -> list[OverRate]:
    window: deque[Attempt] = deque()
    total = 0
    found = []
    for attempt in attempts:  # recorded in call order, so sorted by time
        if accepted_only and attempt.outcome not in {"accepted", "timeout_after_accept"}:
            continue
        window.append(attempt)
        total += attempt.recipients
        end_ms = round(attempt.at * 1000)
        while round(window[0].at * 1000) <= end_ms - 1000:
            total -= window.popleft().recipients
        if total > rate and len(window) > 1:
            found.append(OverRate(attempt.at, total))
    return found


def _within(rel: float, ranges: Sequence[tuple[float, float]]) -> bool:
    return any(start <= rel < end for start, end in ranges)


def _tags(kwargs: Mapping[str, Any]) -> dict[str, str]:
    return {t["Name"]: t["Value"] for t in kwargs.get("EmailTags", [])}


def _recipients(kwargs: Mapping[str, Any]) -> list[str]:
    destination = kwargs.get("Destination")
    if destination:
        return [
            _address(a)
            for part in ("ToAddresses", "CcAddresses", "BccAddresses")
            for a in destination.get(part, [])
        ]
    raw = kwargs.get("Content", {}).get("Raw")
    if raw:  # without a Destination SES reads the recipients from the MIME headers
        message = email.parser.BytesParser().parsebytes(bytes(raw["Data"]), headersonly=True)
        fields = [v for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
        return [addr for _, addr in email.utils.getaddresses(fields) if addr]
    return []


def _address(text: str) -> str:
    """The addr-spec of ``Name <local@domain>`` or of a bare address."""
    if "<" not in text and '"' not in text:
        return text.strip()
    return email.utils.parseaddr(text)[1] or text


def _raw_header(kwargs: Mapping[str, Any], name: str) -> str | None:
    raw = kwargs.get("Content", {}).get("Raw")
    if not raw:
        return None
    message = email.parser.BytesParser().parsebytes(bytes(raw["Data"]), headersonly=True)
    value = message.get(name)
    return str(value) if value is not None else None

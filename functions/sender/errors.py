"""What an SES send failure means for the message, in SESv2's own error vocabulary.

SESv2 answers a rate excess with HTTP 429 ``TooManyRequestsException`` "Maximum sending rate
exceeded." (the docs also say ``ThrottlingException``: both are matched), and an exhausted 24-hour
quota with the same code but "Daily message quota exceeded.". A read timeout means the request
may have reached SES: SES has no idempotency token, so such a send is *ambiguous*, never retried.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)


class Action(enum.Enum):
    RETRY = "retry"  # nothing was sent: hand the message back with backoff
    HOLD = "hold"  # nothing was sent and nothing will be for a while: re-enqueue with a delay
    PAUSE = "pause"  # like HOLD, and stop the whole slice (account-level problem)
    DEAD_LETTER = "dead_letter"  # SES refused this message for good: DLQ with the reason
    AMBIGUOUS = "ambiguous"  # SES may have accepted it: flag, DLQ, never resend blind


@dataclass(frozen=True)
class Failure:
    action: Action
    reason_code: str
    detail: str
    throttled: bool = False


_PERMANENT = {
    "MessageRejected": "SES_MESSAGE_REJECTED",
    "MailFromDomainNotVerifiedException": "SES_MAIL_FROM_NOT_VERIFIED",
    "BadRequestException": "SES_BAD_REQUEST",
    "NotFoundException": "SES_NOT_FOUND",  # e.g. the template or configuration set
    "InvalidParameterValue": "SES_BAD_REQUEST",
}
_PAUSED = {
    "SendingPausedException": "SES_SENDING_PAUSED",
    "AccountSuspendedException": "SES_ACCOUNT_SUSPENDED",
}
_THROTTLE_CODES = {"TooManyRequestsException", "ThrottlingException", "Throttling"}


def classify(exc: Exception) -> Failure:  # noqa: PLR0911 - one return per SES error class
    """Map an exception raised by ``sesv2.send_email`` to what the sender must do."""
    detail = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if "daily message quota" in message.lower() or code == "LimitExceededException":
            return Failure(Action.HOLD, "SES_DAILY_QUOTA_EXCEEDED", detail)
        if code in _THROTTLE_CODES or status == 429:
            return Failure(Action.RETRY, "SES_THROTTLED", detail, throttled=True)
        if code in _PAUSED:
            return Failure(Action.PAUSE, _PAUSED[code], detail)
        if code in _PERMANENT:
            return Failure(Action.DEAD_LETTER, _PERMANENT[code], detail)
        if status >= 500 or code in {"InternalFailure", "ServiceUnavailable", "InternalServerError"}:
            return Failure(Action.RETRY, "SES_SERVER_ERROR", detail)
        # An error answer is a decision by SES: the mail was not accepted; do not waste retries.
        return Failure(Action.DEAD_LETTER, f"SES_{_snake(code) or 'CLIENT_ERROR'}", detail)
    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return Failure(Action.RETRY, "SES_UNREACHABLE", detail)  # never connected: nothing sent
    if isinstance(exc, ReadTimeoutError | ConnectionClosedError):
        return Failure(Action.AMBIGUOUS, "AMBIGUOUS_OUTCOME", detail)
    # Anything else happened after the request may have left: treat as possibly accepted.
    return Failure(Action.AMBIGUOUS, "AMBIGUOUS_OUTCOME", detail)


def _snake(code: str) -> str:
    code = code.removesuffix("Exception")
    out = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(code))
    return out.upper()

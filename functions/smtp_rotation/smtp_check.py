"""testSecret's proof that new credentials work: SMTP AUTH over STARTTLS, nothing sent.

Nothing here ever logs or raises with the password: smtplib's errors carry the server's reply
(``535 Authentication Credentials Invalid``), never the credentials.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from functions.common.clock import Clock
from functions.common.log import log


@dataclass(frozen=True, kw_only=True)
class SmtpTarget:
    """Where testSecret logs in. Default - the secret's own regional endpoint, port 587."""

    host: str
    port: int
    timeout_seconds: float = 10.0
    # The certificate authorities to trust. Default - the system's (SES presents a public cert).
    ssl_context: ssl.SSLContext | None = None


class SmtpLoginError(Exception):
    """Every attempt to log in with the pending credentials failed; the last reason is the message."""


def smtp_login(target: SmtpTarget, username: str, password: str) -> None:
    """EHLO, STARTTLS (certificate and host name verified), EHLO, AUTH; then QUIT."""
    context = target.ssl_context or ssl.create_default_context()
    # local_hostname: a fixed EHLO name spares a reverse DNS lookup of the Lambda's address.
    with smtplib.SMTP(
        target.host, target.port, local_hostname="localhost", timeout=target.timeout_seconds
    ) as smtp:
        smtp.ehlo()
        smtp.starttls(context=context)
        smtp.ehlo()
        smtp.login(username, password)


def smtp_login_with_retries(
    target: SmtpTarget,
    username: str,
    password: str,
    *,
    attempts: int,
    wait_seconds: float,
    clock: Clock,
    log_context: Mapping[str, Any],
) -> int:
    """Log in, retrying: a new IAM access key takes seconds to reach SES's SMTP endpoints.

    Returns the attempt that succeeded (1-based); raises :class:`SmtpLoginError` after the last.
    """
    reason = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            smtp_login(target, username, password)
        except (smtplib.SMTPException, OSError) as exc:
            reason = _reason(exc)
            log("smtp_login_attempt_failed", level="WARNING", **log_context, attempt=attempt, reason=reason)
            if attempt < attempts:
                clock.sleep(wait_seconds)
            continue
        return attempt
    raise SmtpLoginError(f"SMTP AUTH at {target.host}:{target.port} failed {attempts} times; last: {reason}")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        return f"{exc.smtp_code} {message}".strip()
    return f"{type(exc).__name__}: {exc}"

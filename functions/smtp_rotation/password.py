"""SES SMTP credentials from an IAM access key: the SigV4-based password SES publishes.

The SMTP password is not the secret access key: SES derives it with the SigV4 key-derivation
chain over fixed inputs (date ``11111111``, the SMTP region, service ``ses``, terminal
``aws4_request``, message ``SendRawEmail``), prefixes version byte ``0x04`` and base64-encodes it
(Amazon SES Developer Guide, "Obtaining Amazon SES SMTP credentials"). The password is valid only
for the region it was derived for, which is why the rotation stores the endpoint next to it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_DATE = "11111111"
_SERVICE = "ses"
_TERMINAL = "aws4_request"
_MESSAGE = "SendRawEmail"
_VERSION = b"\x04"
SMTP_PORT = 587  # STARTTLS; SES also listens on 25 and 2587 (STARTTLS), 465 and 2465 (TLS wrapper)


def _sign(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def smtp_password(secret_access_key: str, region: str) -> str:
    """The SES SMTP password for ``secret_access_key`` in ``region``."""
    if not secret_access_key or not region:
        raise ValueError("a secret access key and a region are required")
    signature = _sign(("AWS4" + secret_access_key).encode("utf-8"), _DATE)
    for part in (region, _SERVICE, _TERMINAL, _MESSAGE):
        signature = _sign(signature, part)
    return base64.b64encode(_VERSION + signature).decode("ascii")


def smtp_endpoint(region: str) -> str:
    """SES's SMTP interface in ``region`` (``email-smtp.<region>.amazonaws.com``)."""
    return f"email-smtp.{region}.amazonaws.com"

"""The tests' fake SESv2 client: the calls the Lambdas make, answered from attributes a test sets.

- ``send_email``: kept in ``calls`` (its keyword arguments) and, with a ``clock``, the clock's time
  in ``sent_at``; answers ``{"MessageId": "ses-<n>"}``, n counting sends from 1.
- ``get_account``: ``SendQuota`` from ``rate`` (``MaxSendRate``), ``max_24_hour_send`` and
  ``sent_last_24_hours``; ``SendingEnabled`` from ``sending_enabled``.
- ``get_dedicated_ips``: ``dedicated_ips`` (of ``PoolName`` when asked for one), in pages of
  ``ip_page_size`` with a ``NextToken`` when set; ``put_dedicated_ip_warmup_attributes`` sets an
  IP's ``WarmupPercentage``.
- ``put_configuration_set_sending_options``: answers ``{}``.

Every call is kept in ``requests`` as (operation, keyword arguments); ``calls_to(operation)``
reads them back. Failures: the positional ``send_errors`` (also ``errors``, a list a test may
append to) are raised by successive ``send_email`` calls, one each, after which sends succeed;
``script(operation, *errors)`` does the same for any operation; ``failing={operation: error}``
raises ``error`` on every call of ``operation``. A failed call is still recorded, as it was
still made. ``client_error`` builds the botocore ``ClientError`` SES would raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from functions.common.clock import Clock


def client_error(
    code: str, message: str = "", status: int = 400, operation: str = "SendEmail"
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


class FakeSes:
    def __init__(
        self,
        *send_errors: Exception,
        clock: Clock | None = None,
        rate: float = 100,
        max_24_hour_send: float = 1e6,
        sent_last_24_hours: float = 0,
        sending_enabled: bool = True,
        dedicated_ips: list[dict[str, Any]] | None = None,
        ip_page_size: int | None = None,
        failing: Mapping[str, Exception] | None = None,
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.max_24_hour_send = max_24_hour_send
        self.sent_last_24_hours = sent_last_24_hours
        self.sending_enabled = sending_enabled
        self.dedicated_ips = [dict(ip) for ip in dedicated_ips or []]
        self.ip_page_size = ip_page_size
        self.failing = dict(failing or {})
        self.errors: list[Exception] = list(send_errors)  # the send_email script
        self.scripts: dict[str, list[Exception]] = {}  # the other operations'
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.calls: list[dict[str, Any]] = []  # send_email's keyword arguments
        self.sent_at: list[float] = []

    def script(self, operation: str, *errors: Exception) -> None:
        """The next calls of ``operation`` raise ``errors``, one each."""
        if operation == "send_email":
            self.errors.extend(errors)
        else:
            self.scripts.setdefault(operation, []).extend(errors)

    def calls_to(self, operation: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.requests if name == operation]

    def _call(self, operation: str, kwargs: dict[str, Any]) -> None:
        self.requests.append((operation, kwargs))
        if operation in self.failing:
            raise self.failing[operation]
        if script := self.errors if operation == "send_email" else self.scripts.get(operation):
            raise script.pop(0)

    def send_email(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if self.clock is not None:
            self.sent_at.append(self.clock.now())
        self._call("send_email", kwargs)
        return {"MessageId": f"ses-{len(self.calls)}"}

    def get_account(self, **kwargs: Any) -> dict[str, Any]:
        self._call("get_account", kwargs)
        return {
            "SendQuota": {
                "MaxSendRate": self.rate,
                "Max24HourSend": self.max_24_hour_send,
                "SentLast24Hours": self.sent_last_24_hours,
            },
            "SendingEnabled": self.sending_enabled,
        }

    def get_dedicated_ips(self, **kwargs: Any) -> dict[str, Any]:
        self._call("get_dedicated_ips", kwargs)
        pool = kwargs.get("PoolName")
        ips = [dict(ip) for ip in self.dedicated_ips if pool is None or ip.get("PoolName") == pool]
        if self.ip_page_size is None:
            return {"DedicatedIps": ips}
        start = int(kwargs.get("NextToken", 0))
        end = start + self.ip_page_size
        page: dict[str, Any] = {"DedicatedIps": ips[start:end]}
        if end < len(ips):
            page["NextToken"] = str(end)
        return page

    def put_dedicated_ip_warmup_attributes(self, **kwargs: Any) -> dict[str, Any]:
        self._call("put_dedicated_ip_warmup_attributes", kwargs)
        for ip in self.dedicated_ips:
            if ip.get("Ip") == kwargs["Ip"]:
                ip["WarmupPercentage"] = kwargs["WarmupPercentage"]
        return {}

    def put_configuration_set_sending_options(self, **kwargs: Any) -> dict[str, Any]:
        self._call("put_configuration_set_sending_options", kwargs)
        return {}

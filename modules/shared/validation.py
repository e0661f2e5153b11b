"""The few input checks every construct's props share (no cdktn import: cheap for the config layer).

Each raises ``ValueError`` with a message that names the field and says what was given.
"""

from __future__ import annotations

import re
import zoneinfo

NAME = re.compile(r"[a-z][a-z0-9-]{0,30}[a-z0-9]")
"""Environment and slice names: they become parts of AWS resource names."""

SES_NAME_PATTERN = r"[A-Za-z0-9_-]{1,64}"
"""SES's rule for the names it keeps: configuration sets, event destinations, dedicated IP pools,
tenants, multi-region endpoints (the config layer matches it as a pattern, props as a regex)."""
SES_NAME = re.compile(SES_NAME_PATTERN)


def check_name(key: str, value: str) -> None:
    if not NAME.fullmatch(value):
        raise ValueError(f"{key} must be lower-case letters, digits and hyphens, got {value!r}")


def check_account_id(value: str) -> None:
    if not re.fullmatch(r"[0-9]{12}", value):
        raise ValueError(f"account_id must be 12 digits, got {value!r}")


def check_range(key: str, value: int, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or value < minimum or (maximum is not None and value > maximum):
        bounds = f"{minimum}-{maximum}" if maximum is not None else f"≥ {minimum}"
        raise ValueError(f"{key} must be {bounds}, got {value}")


def partition(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


# EventBridge Scheduler expressions of the scheduled jobs (bounce report, suppression cleanup):
# one rule, so cron(bogus) fails at config or synth time for every job, not at apply for some.
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON_FIELD = re.compile(r"[0-9A-Z*?,/#LW-]+")
_MINUTES = {"minute": 1, "minutes": 1, "hour": 60, "hours": 60, "day": 1440, "days": 1440}


def schedule_problem(  # noqa: PLR0911 - one return per problem
    expression: str, *, hourly_at_most: str | None = None, one_off: str | None = None
) -> str | None:
    """What is wrong with ``expression`` for a recurring job, if anything.

    ``hourly_at_most``: why the job may run at most once an hour (the limit applies when given).
    ``one_off``: what to use instead of a one-time ``at(...)`` schedule.
    """
    if expression.startswith("at("):
        return "a one-time at(...) schedule runs once" + (f"; {one_off}" if one_off else "")
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            return "expected rate(1 hour) or rate(N hours) (singular unit for 1, plural otherwise)"
        if hourly_at_most and value * _MINUTES[unit] < 60:
            return f"expected at most one run an hour ({hourly_at_most})"
        return None
    if not (expression.startswith("cron(") and expression.endswith(")")):
        return (
            "expected cron(...) or rate(...): cron(minutes hours day-of-month month day-of-week year) "
            "or rate(N unit)"
        )
    fields = expression[5:-1].split(" ")
    if len(fields) != 6 or not all(_CRON_FIELD.fullmatch(f) for f in fields):
        return "expected six cron fields: minutes hours day-of-month month day-of-week year"
    if "?" not in (fields[2], fields[4]):
        return "one of day-of-month and day-of-week must be ? (e.g. cron(0 5 ? * MON *))"
    if hourly_at_most and (not fields[0].isdigit() or int(fields[0]) > 59):
        return (
            f"expected one minute (0-59) as the first cron field: at most one run an hour ({hourly_at_most})"
        )
    return None


_TIMEZONE_SHAPE = re.compile(r"UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2}")


def timezone_problem(name: str) -> str | None:
    """What is wrong with an IANA time zone name for EventBridge Scheduler, if anything: checked
    against the time zone database where Python has one, else by its shape."""
    zones = zoneinfo.available_timezones()
    known = name in zones | {"UTC"} if zones else bool(_TIMEZONE_SHAPE.fullmatch(name))
    return None if known else "expected an IANA time zone such as Europe/Vienna"


# RFC 1035 labels: letters, digits and inner hyphens, 1-63 characters. A top-level domain is
# letters, or the ASCII (punycode) form of an internationalized one (xn--p1ai for .рф).
DNS_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN_RE = re.compile(rf"^(?:{DNS_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}}(?<!-))$")
MAX_DNS_NAME = 253  # a DNS name in text form, without the final dot
MAX_DNS_LABEL = 63


def validate_domain_name(name: str) -> str:
    """Return ``name`` if it is a lower-case fully qualified domain name in ASCII, else raise
    ``ValueError`` saying what to write instead (the punycode form of an internationalized name,
    the lower-case form, the name without its final dot)."""
    if len(name) <= MAX_DNS_NAME and DOMAIN_RE.match(name):
        return name
    raise ValueError(_domain_problem(name))


def _domain_problem(name: str) -> str:  # noqa: PLR0911 - one return per kind of mistake
    invalid = f"{name!r} is not a valid domain name"
    if not name.isascii():
        import idna  # IDNA 2008 with UTS #46 mapping, as registries and browsers use it

        try:
            ascii_form = idna.encode(name, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            return f"{invalid} ({exc}); write the ASCII (punycode) form of an internationalized name"
        return (
            f"{invalid} in ASCII: SES and DNS take an internationalized name in its punycode form; "
            f'write "{ascii_form}"'
        )
    if name.endswith(".") and DOMAIN_RE.match(name.rstrip(".").lower()):
        return f'{invalid} here: it ends with a dot; write "{name.rstrip(".")}"'
    if name != name.lower() and DOMAIN_RE.match(name.lower()):
        return f'{invalid} here: it has upper-case letters (DNS ignores case); write "{name.lower()}"'
    if len(name) > MAX_DNS_NAME:
        return f"{invalid}: it has {len(name)} characters, DNS allows {MAX_DNS_NAME}"
    long_label = next((label for label in name.split(".") if len(label) > MAX_DNS_LABEL), None)
    if long_label is not None:
        return f"{invalid}: a label has {len(long_label)} characters, DNS allows {MAX_DNS_LABEL}"
    return (
        f"{invalid} (lower-case labels of letters, digits and inner hyphens, separated by dots, "
        "e.g. news.example.com)"
    )

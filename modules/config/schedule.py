"""EventBridge Scheduler expressions of the scheduled jobs (the bounce report, the suppression
cleanup), checked by one rule: a recurring ``rate(...)`` or ``cron(...)`` as Scheduler takes it,
so ``cron(bogus)`` fails at config time for every job, not at apply time for some."""

from __future__ import annotations

import re

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

"""``suppression_cleanup { ... }``: the scheduled suppression-list cleanup, one block per
environment (optional).

The suppression list is per account and region, so the cleanup runs in every stack of the
environment (or those ``accounts`` / ``regions`` name) with the same filters as ``ses-ops
suppression clean``. It only reports until ``delete = true``: a schedule is watched dry first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from modules.config.hcl import Invalid, Node
from modules.config.shapes import AccountShape
from modules.shared.validation import timezone_problem
from modules.suppression_cleanup.props import cleanup_schedule_problem

REASONS = ("BOUNCE", "COMPLAINT")  # SES's SuppressionListReason
DEFAULT_SCHEDULE = "cron(0 5 ? * MON *)"
_DOMAIN = r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+"


@dataclass(frozen=True, kw_only=True)
class SuppressionCleanup:
    """The scheduled cleanup of the account-level suppression list, in every selected stack.

    An entry is removed (or, while ``delete`` is false, reported) when it meets every filter set.

    Attributes:
        source: the file that declared it, for messages.
        recipient_domains: recipient domains; a domain matches its subdomains too. Default - any.
        reasons: ``BOUNCE`` and/or ``COMPLAINT``. Default - both.
        older_than_days: only entries last updated more than this many days before the run.
            Default - no bound.
        newer_than_days: only entries last updated at most this many days before the run; must be
            more than ``older_than_days``. Default - no bound.
        pattern: a regular expression (Python syntax) searched in the address, case-insensitive.
            Default - none.
        schedule: EventBridge Scheduler expression, at most hourly. Default ``cron(0 5 ? * MON *)``
            (Mondays 05:00 in ``timezone``).
        timezone: IANA time zone of ``schedule``. Default ``UTC``.
        delete: remove the matching entries; false only logs what would be removed. Default false.
        accounts: account aliases whose stacks get the cleanup. Default - every account.
        regions: regions whose stacks get the cleanup. Default - every region.
    """

    source: str
    recipient_domains: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    older_than_days: int | None = None
    newer_than_days: int | None = None
    pattern: str | None = None
    schedule: str = DEFAULT_SCHEDULE
    timezone: str = "UTC"
    delete: bool = False
    accounts: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = None

    def applies_to(self, account: str, region: str) -> bool:
        """Whether the stack of ``account`` in ``region`` runs the cleanup."""
        return (self.accounts is None or account in self.accounts) and (
            self.regions is None or region in self.regions
        )

    def filters(self) -> dict[str, object]:
        """The Lambda's ``FILTERS`` (see ``functions/suppression/handler.py``)."""
        return {
            "domains": list(self.recipient_domains),
            "reasons": list(self.reasons),
            "pattern": self.pattern,
            "older_than_days": self.older_than_days,
            "newer_than_days": self.newer_than_days,
        }


def parse_suppression_cleanup(node: Node) -> SuppressionCleanup:
    """``node`` is the ``suppression_cleanup`` block's body."""
    domains = _list(
        node, "recipient_domains", _DOMAIN, "a lower-case domain such as privaterelay.appleid.com"
    )
    reasons = _list(node, "reasons", "BOUNCE|COMPLAINT", "BOUNCE or COMPLAINT")
    # default 0 stands for "not set": a value given must be at least 1
    older = node.integer("older_than_days", default=0, minimum=1, maximum=3650) or None
    newer = node.integer("newer_than_days", default=0, minimum=1, maximum=3650) or None
    if older is not None and newer is not None and newer <= older:
        raise node.fail(
            "newer_than_days",
            f"must be more than older_than_days ({older}): entries last updated between "
            f"{newer} and {older} days ago would be none",
        )
    pattern = node.text("pattern")
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise node.fail("pattern", f'not a regular expression: {exc} in "{pattern}"') from None
    schedule = (
        node.text("schedule", default=DEFAULT_SCHEDULE, check=cleanup_schedule_problem) or DEFAULT_SCHEDULE
    )
    timezone = node.text("timezone", default="UTC", check=timezone_problem) or "UTC"
    delete = node.flag("delete", default=False)
    if delete and not (domains or pattern or older):
        raise node.fail(
            "delete",
            "true without recipient_domains, pattern or older_than_days would empty the account's "
            "suppression list on every run; narrow it, or keep delete = false",
        )
    cleanup = SuppressionCleanup(
        source=node.file,
        recipient_domains=domains or (),
        reasons=reasons or (),
        older_than_days=older,
        newer_than_days=newer,
        pattern=pattern,
        schedule=schedule,
        timezone=timezone,
        delete=delete,
        accounts=_list(node, "accounts", r".+", "an account alias"),
        regions=_list(node, "regions", r".+", "a region"),
    )
    node.finish()
    return cleanup


def _list(node: Node, key: str, pattern: str, hint: str) -> tuple[str, ...] | None:
    values = node.text_list(key)
    if values is None:
        return None
    if not values:
        raise node.fail(key, f"expected at least one value ({hint}); leave {key} out for the default")
    for i, value in enumerate(values):
        if not re.fullmatch(pattern, value):
            raise node.fail(f"{key}[{i}]", f'expected {hint}, got "{value}"')
    return values


def resolve_suppression_cleanup(cleanup: SuppressionCleanup, accounts: Sequence[AccountShape]) -> None:
    """``accounts`` and ``regions`` name declared ones, and select at least one stack."""
    known = {a.alias: a for a in accounts}
    where = f"{cleanup.source}: suppression_cleanup"
    for i, alias in enumerate(cleanup.accounts or ()):
        if alias not in known:
            raise Invalid(
                f'{where}.accounts[{i}]: no account "{alias}" (accounts: {", ".join(sorted(known))})'
            )
    chosen = [known[a] for a in cleanup.accounts] if cleanup.accounts else list(accounts)
    regions = {r.name for a in chosen for r in a.regions}
    for i, region in enumerate(cleanup.regions or ()):
        if region not in regions:
            raise Invalid(
                f'{where}.regions[{i}]: "{region}" is not a region of the chosen accounts '
                f"(regions: {', '.join(sorted(regions))})"
            )

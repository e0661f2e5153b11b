"""Suppression-list cleanup against the fake SES suppression list, in virtual time."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from functions.ops.cli import Io, main
from functions.suppression import handler
from functions.suppression.cleanup import clean
from functions.suppression.client import PacedClient, Throttled
from functions.suppression.filters import Entry, Filters
from tests.support.clock import ManualClock
from tests.support.suppression_fake import EPOCH, FakeSuppressionList

RELAY = "privaterelay.appleid.com"


def entry(address: str, reason: str = "BOUNCE", days_ago: float = 1) -> Entry:
    return Entry(address, reason, EPOCH - timedelta(days=days_ago))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EPOCH.timestamp())


@pytest.fixture
def ses(clock: ManualClock) -> FakeSuppressionList:
    fake = FakeSuppressionList(clock=clock)
    for i in range(25):
        fake.add(f"user{i:02}@{RELAY}", "BOUNCE", days_ago=i)
    fake.add("someone@example.com", "BOUNCE")
    fake.add(f"angry@{RELAY}", "COMPLAINT")
    return fake


def run_cli(argv: list[str], ses: FakeSuppressionList, clock: ManualClock) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(argv, Io(stdout=out, stderr=err, clock=clock, sesv2=lambda _: ses))
    return code, out.getvalue(), err.getvalue()


def test_a_domain_filter_matches_the_domain_and_its_subdomains_only() -> None:
    filters = Filters(domains=("example.com",))
    assert filters.matches(entry("a@example.com"))
    assert filters.matches(entry("a@mail.Example.com"))
    assert not filters.matches(entry("a@notexample.com"))


def test_reason_date_range_and_pattern_must_all_match() -> None:
    filters = Filters(
        reasons=("BOUNCE",),
        updated_after=EPOCH - timedelta(days=10),
        updated_before=EPOCH - timedelta(days=2),
        pattern=r"^user",
    )
    assert filters.matches(entry("user1@x.org", days_ago=5))
    assert not filters.matches(entry("user1@x.org", "COMPLAINT", days_ago=5))
    assert not filters.matches(entry("user1@x.org", days_ago=11))
    assert not filters.matches(entry("user1@x.org", days_ago=1))
    assert not filters.matches(entry("other@x.org", days_ago=5))


def test_bad_filters_are_rejected_with_what_was_given() -> None:
    with pytest.raises(ValueError, match="reason must be BOUNCE or COMPLAINT, got 'SPAM'"):
        Filters(reasons=("SPAM",))
    with pytest.raises(ValueError, match="not a regular expression"):
        Filters(pattern="(")


def test_the_client_reads_every_page_without_ever_being_throttled(clock: ManualClock) -> None:
    fake = FakeSuppressionList(clock=clock)
    for i in range(2500):
        fake.add(f"u{i}@{RELAY}")
    client = PacedClient(fake, clock=clock)
    outcome = clean(client, Filters(domains=(RELAY,)), delete=True)
    assert len(outcome.deleted) == 2500
    assert not fake.entries
    assert fake.throttled == 0
    assert fake.min_gap() >= 1.0


def test_the_client_backs_off_when_ses_throttles_and_still_deletes_everything(
    ses: FakeSuppressionList, clock: ManualClock
) -> None:
    ses.interval_seconds = 3.0  # SES slower than the client expects
    client = PacedClient(ses, clock=clock)
    outcome = clean(client, Filters(domains=(RELAY,)), delete=True)
    assert len(outcome.deleted) == 26
    assert ses.throttled > 0
    assert client.throttles == ses.throttled
    assert ses.min_gap() >= 3.0


def test_the_client_gives_up_after_its_attempts_when_ses_keeps_throttling(
    ses: FakeSuppressionList, clock: ManualClock
) -> None:
    ses.interval_seconds = 10_000.0
    client = PacedClient(ses, clock=clock, max_attempts=3)
    client.delete("someone@example.com")
    with pytest.raises(Throttled, match="after 3 attempts"):
        client.delete(f"user00@{RELAY}")


def test_the_cli_clean_is_a_dry_run_by_default(
    ses: FakeSuppressionList, clock: ManualClock, tmp_path: Path
) -> None:
    code, out, err = run_cli(
        ["suppression", "clean", "--domain", RELAY, "--reason", "BOUNCE", "--journal", str(tmp_path / "j")],
        ses,
        clock,
    )
    assert code == 0
    assert len(ses.entries) == 27
    assert out.count(RELAY) == 25
    assert "would remove" in err
    assert "--delete" in err
    assert not (tmp_path / "j").exists()


def test_an_interrupted_cleanup_resumes_without_deleting_twice_or_skipping(
    ses: FakeSuppressionList, clock: ManualClock, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    argv = [
        "suppression",
        "clean",
        "--domain",
        RELAY,
        "--reason",
        "BOUNCE",
        "--delete",
        "--journal",
        str(journal),
    ]
    ses.fail_after_deletes = 10
    code, _, err = run_cli(argv, ses, clock)
    assert code == 130
    assert "resume" in err
    assert len(ses.entries) == 27 - 10
    deletes_before = [c for c in ses.calls if c[1] == "DeleteSuppressedDestination"]
    lists_before = [c for c in ses.calls if c[1] == "ListSuppressedDestinations"]

    code, _, err = run_cli([*argv, "--json"], ses, clock)
    assert code == 0
    deletes = [c for c in ses.calls if c[1] == "DeleteSuppressedDestination"]
    assert len(deletes) == 25  # 10 + 15: every planned address once
    assert len(deletes_before) == 10
    assert [c for c in ses.calls if c[1] == "ListSuppressedDestinations"] == lists_before  # plan reused
    assert set(ses.entries) == {"someone@example.com", f"angry@{RELAY}"}
    assert not journal.exists()  # finished: kept under a .done name for the record
    assert len(list(tmp_path.glob("journal.jsonl.*.done"))) == 1


def test_an_address_removed_before_its_journal_line_is_recorded_as_gone(
    ses: FakeSuppressionList, clock: ManualClock, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    argv = ["suppression", "clean", "--domain", RELAY, "--delete", "--journal", str(journal), "--json"]
    ses.fail_after_deletes = 3
    assert run_cli(argv, ses, clock)[0] == 130
    del ses.entries[f"user10@{RELAY}"]  # deleted, but the process died before writing it down
    code, out, _ = run_cli(argv, ses, clock)
    assert code == 0
    assert json.loads(out)["gone"] == 1
    assert set(ses.entries) == {"someone@example.com"}


def test_a_journal_is_not_resumed_with_other_filters(
    ses: FakeSuppressionList, clock: ManualClock, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    ses.fail_after_deletes = 2
    run_cli(["suppression", "clean", "--domain", RELAY, "--delete", "--journal", str(journal)], ses, clock)
    code, _, err = run_cli(
        ["suppression", "clean", "--domain", "example.com", "--delete", "--journal", str(journal)], ses, clock
    )
    assert code == 2
    assert "written for other filters" in err


def test_list_json_carries_every_matching_entry(ses: FakeSuppressionList, clock: ManualClock) -> None:
    code, out, _ = run_cli(["suppression", "list", "--reason", "COMPLAINT", "--json"], ses, clock)
    document = json.loads(out)
    assert code == 0
    assert [e["email_address"] for e in document["entries"]] == [f"angry@{RELAY}"]
    assert document["dry_run"] is True


def test_the_progress_bar_is_drawn_only_when_asked_or_on_a_terminal(
    ses: FakeSuppressionList, clock: ManualClock
) -> None:
    assert "listing" not in run_cli(["suppression", "list"], ses, clock)[2]
    assert "\rlisting" in run_cli(["suppression", "list", "--progress"], ses, clock)[2]


def test_bad_usage_exits_2_and_help_exits_0(ses: FakeSuppressionList, clock: ManualClock) -> None:
    assert run_cli(["suppression", "list", "--reason", "SPAM"], ses, clock)[0] == 2
    assert run_cli(["suppression", "list", "--updated-after", "yesterday"], ses, clock)[0] == 2
    assert run_cli(["suppression", "clean", "--help"], ses, clock)[0] == 0


def test_the_scheduled_lambda_stops_before_its_deadline_and_the_next_run_finishes(
    ses: FakeSuppressionList, clock: ManualClock
) -> None:
    environ = {"FILTERS": json.dumps({"domains": [RELAY], "reasons": ["BOUNCE"]}), "DELETE": "true"}
    deps = handler.Deps(api=ses, clock=clock)
    deadline = clock.now() + 30  # a 30 s invocation: about 15 s of work after the 15 s margin

    def remaining() -> float:
        return deadline - clock.now()

    first: dict[str, Any] = handler.run(deps, environ, remaining)
    assert 0 < first["deleted"] < 25
    assert first["remaining"] == 25 - first["deleted"]
    second = handler.run(deps, environ, lambda: 900.0)
    assert first["deleted"] + second["deleted"] == 25
    assert set(ses.entries) == {"someone@example.com", f"angry@{RELAY}"}


def test_the_scheduled_lambda_only_reports_unless_delete_is_true(
    ses: FakeSuppressionList, clock: ManualClock
) -> None:
    summary = handler.run(
        handler.Deps(api=ses, clock=clock), {"FILTERS": json.dumps({"domains": [RELAY]})}, lambda: 900.0
    )
    assert summary["matched"] == 26
    assert summary["deleted"] == 0
    assert len(ses.entries) == 27


def test_dates_given_to_the_cli_are_utc(ses: FakeSuppressionList, clock: ManualClock) -> None:
    day = (EPOCH - timedelta(days=3)).date().isoformat()
    code, out, _ = run_cli(["suppression", "list", "--updated-after", day, "--json"], ses, clock)
    after = datetime.fromisoformat(json.loads(out)["filters"]["updated_after"])
    assert code == 0
    assert after.tzinfo is not None
    assert after == datetime.fromisoformat(day).replace(tzinfo=UTC)


def test_the_scheduled_lambda_reads_day_bounds_relative_to_its_run(
    ses: FakeSuppressionList, clock: ManualClock
) -> None:
    filters = {"domains": [RELAY], "reasons": ["BOUNCE"], "older_than_days": 10, "newer_than_days": 20}
    summary = handler.run(handler.Deps(api=ses, clock=clock), {"FILTERS": json.dumps(filters)}, lambda: 900.0)
    # user11 .. user20: updated_before is exclusive (user10, exactly 10 days, stays), updated_after
    # inclusive (user20, exactly 20 days, matches)
    assert summary["matched"] == 10
    assert summary["filters"]["updated_before"] == (EPOCH - timedelta(days=10)).isoformat()

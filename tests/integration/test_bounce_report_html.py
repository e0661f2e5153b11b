"""The bounce report's HTML as a reader sees it: rendered by headless Chromium (Debian's package,
installed by ``make browser``), then assertions on the visible text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from functions.bounce_report.render import html_report
from functions.bounce_report.report import Report
from tests.support import chromium

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> str:
    path = chromium.find()
    if path is None:
        pytest.skip("no chromium on PATH: `make browser` installs Debian's package (root and apt-get)")
    return path


def _entry(state: str, **fields: str) -> dict[str, Any]:
    values = {"state": state, "rank": "1", "at": "2026-03-04T09:00:05.000Z", "at_ms": "1", **fields}
    return {"M": {k: {"N": v} if k in ("rank", "at_ms") else {"S": v} for k, v in values.items()}}


def _item(
    message_id: str, slice_name: str, configuration_set: str, recipients: dict[str, Any]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "message_id": {"S": message_id},
        "slice": {"S": slice_name},
        "configuration_set": {"S": configuration_set},
    }
    item.update({f"rcpt:{address}": entry for address, entry in recipients.items()})
    return item


def _report() -> Report:
    report = Report(
        period_start="2026-03-02", period_end="2026-03-09", environment="example", region="eu-central-1"
    )
    for i in range(40):
        report.add_item(_item(f"d{i}", "at-de", "transactional", {f"user{i}@gmail.com": _entry("Delivery")}))
    bounce = _entry(
        "Bounce",
        bounce_type="Permanent",
        bounce_subtype="General",
        status="5.1.1",
        diagnostic_code="smtp; 550 5.1.1 <gone@example.org>: user unknown",
    )
    report.add_item(_item("b1", "at-de", "transactional", {"gone@example.org": bounce}))
    complaint = {"angry@web.de": _entry("Complaint", feedback_type="abuse"), "fine@web.de": _entry("Open")}
    report.add_item(_item("c1", "us-news", "newsletter", complaint))
    return report


@pytest.fixture(scope="module")
def seen(browser: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    html = html_report(_report(), generated_at="2026-03-09 07:00 UTC")
    return chromium.visible_text(browser, html, tmp_path_factory.mktemp("report"))


def _row(text: str, first_cell: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(first_cell + "\t"))
    return [cell.strip() for cell in line.split("\t")]


def test_the_reader_sees_the_title_period_and_totals(seen: str) -> None:
    assert "Bounce report: example, eu-central-1" in seen
    assert "2026-03-02 to 2026-03-09" in seen
    assert "43\nRecipients sent to" in seen
    assert "1 (2.33 %)\nBounced" in seen


def test_the_group_table_has_a_row_per_slice_and_configuration_set_and_a_total(seen: str) -> None:
    assert _row(seen, "at-de") == [
        "at-de",
        "transactional",
        "41",
        "40",
        "1",
        "2.44 %",
        "0",
        "0.00 %",
        "0",
        "0",
    ]
    assert _row(seen, "us-news")[:4] == ["us-news", "newsletter", "2", "2"]
    assert _row(seen, "Total")[:3] == ["Total", "43", "42"]


def test_the_top_domains_table_names_the_bouncing_domain(seen: str) -> None:
    assert _row(seen, "example.org") == ["example.org", "1", "1", "100.00 %"]


def test_each_failed_recipient_is_listed_with_the_reason_in_words(seen: str) -> None:
    gone = _row(seen, "gone@example.org")
    assert gone[3] == "Bounce"
    assert gone[4].startswith("Permanent/General: 5.1.1 smtp; 550")
    assert _row(seen, "angry@web.de")[4] == "complaint (abuse)"
    assert "fine@web.de" not in seen


def test_the_page_renders_to_a_screenshot(browser: str, tmp_path: Path) -> None:
    png = chromium.screenshot(browser, html_report(_report()), tmp_path)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 20_000

"""The report as files: two CSVs for spreadsheets and one self-contained HTML page for people.

The HTML has no script, no external style sheet, font or image: it opens from a mail client's
attachment view, the S3 console's "Open" or a file share the same way. Everything from the
status table is HTML-escaped (recipient addresses and diagnostic codes come from the outside).
"""

from __future__ import annotations

import csv
import io
from html import escape

from functions.bounce_report.report import Counts, Report

# SES reviews an account whose bounce rate reaches 5 % or complaint rate 0.1 %; the platform's
# alarms warn at 2 % / 0.05 % (modules/reputation). The page colours rates by the same marks.
BOUNCE_WARN, BOUNCE_REVIEW = 0.02, 0.05
COMPLAINT_WARN, COMPLAINT_REVIEW = 0.0005, 0.001
HTML_FAILURE_ROWS = 1000  # the page stays readable; failures.csv has every row

SUMMARY_COLUMNS = ("slice", "configuration_set", "sent", "delivered", "bounced", "bounced_permanent",
                   "bounced_transient", "bounce_rate_percent", "complaints", "complaint_rate_percent",
                   "rejected", "pending")  # fmt: skip
FAILURE_COLUMNS = ("recipient", "domain", "slice", "configuration_set", "state", "bounce_type",
                   "bounce_subtype", "status", "diagnostic_code", "feedback_type", "reason", "at",
                   "message_id")  # fmt: skip


def percent(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def _row(slice_name: str, configuration_set: str, c: Counts) -> list[str]:
    return [slice_name, configuration_set, str(c.sent), str(c.delivered), str(c.bounced),
            str(c.bounced_permanent), str(c.bounced_transient), f"{c.bounce_rate * 100:.2f}",
            str(c.complained), f"{c.complaint_rate * 100:.3f}", str(c.rejected), str(c.pending)]  # fmt: skip


def _safe_cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet: addresses and SMTP text are not.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def summary_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SUMMARY_COLUMNS)
    for (slice_name, configuration_set), counts in report.sorted_groups():
        writer.writerow([_safe_cell(v) for v in _row(slice_name, configuration_set, counts)])
    writer.writerow(_row("all", "all", report.totals))
    return out.getvalue()


def failures_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(FAILURE_COLUMNS)
    for f in report.sorted_failures():
        values = [f.recipient, f.domain, f.slice, f.configuration_set, f.state, f.bounce_type,
                  f.bounce_subtype, f.status, f.diagnostic_code, f.feedback_type, f.reason, f.at,
                  f.message_id]  # fmt: skip
        writer.writerow([_safe_cell(v) for v in values])
    return out.getvalue()


def _level(rate: float, warn: float, review: float) -> str:
    return "bad" if rate >= review else "warn" if rate >= warn else "ok"


def _rates(c: Counts) -> str:
    b = _level(c.bounce_rate, BOUNCE_WARN, BOUNCE_REVIEW)
    k = _level(c.complaint_rate, COMPLAINT_WARN, COMPLAINT_REVIEW)
    return (
        _num(f"{c.bounced:,}")
        + _num(percent(c.bounce_rate), b)
        + _num(f"{c.complained:,}")
        + _num(percent(c.complaint_rate), k)
    )


def _num(text: str, level: str = "") -> str:
    return f'<td class="num {level}">{text}</td>' if level else f'<td class="num">{text}</td>'


def _head(*labels: str, numeric_from: int) -> str:
    cells = "".join(
        f'<th class="num">{escape(label)}</th>' if i >= numeric_from else f"<th>{escape(label)}</th>"
        for i, label in enumerate(labels)
    )
    return f"<table><thead><tr>{cells}</tr></thead><tbody>"


def _group_row(label: str, c: Counts, *, total: bool = False) -> str:
    cls = ' class="total"' if total else ""
    cells = _num(f"{c.sent:,}") + _num(f"{c.delivered:,}") + _rates(c)
    return f"<tr{cls}>{label}{cells}{_num(f'{c.rejected:,}')}{_num(f'{c.pending:,}')}</tr>"


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;
max-width:70rem;padding:0 1rem;color:#1d2430;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d5dbe3}
.period{color:#586174;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{border:1px solid #d5dbe3;border-radius:.5rem;padding:.6rem 1rem;min-width:9rem}
.card .value{font-size:1.5rem;font-weight:600}.card .label{color:#586174;font-size:.9rem}
table{border-collapse:collapse;width:100%;font-size:.92rem;margin:.5rem 0}
th,td{border-bottom:1px solid #e4e8ee;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid #1d2430}
.ok{color:#17663a}.warn{color:#8a5a00;font-weight:600}.bad{color:#b00020;font-weight:700}
.note{color:#586174;font-size:.9rem}td.why{word-break:break-word}td.when{white-space:nowrap}
"""


def html_report(report: Report, *, top_domains: int = 10, generated_at: str = "") -> str:
    t = report.totals
    title = f"Bounce report: {report.environment}, {report.region}"
    period = f"{report.period_start} to {report.period_end} (UTC, end excluded)"
    cards = [
        ("Recipients sent to", f"{t.sent:,}"), ("Delivered", f"{t.delivered:,}"),
        ("Bounced", f"{t.bounced:,} ({percent(t.bounce_rate)})"),
        ("Complaints", f"{t.complained:,} ({percent(t.complaint_rate)})"),
        ("Rejected", f"{t.rejected:,}"), ("No answer yet", f"{t.pending:,}"),
    ]  # fmt: skip
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="period">Mail sent {escape(period)}; {report.messages:,} messages.</p>',
        '<div class="cards">',
        *(_card(label, value) for label, value in cards),
        "</div>",
        '<p class="note">A bounce is a mail the receiving server refused: <b>permanent</b> bounces '
        "(address unknown, mailbox gone) are not retried and SES stops sending to the address; "
        "<b>transient</b> ones (mailbox full, server busy) may work later. A complaint is a "
        "recipient pressing \u201cspam\u201d. Amazon SES reviews an account whose bounce rate "
        f"reaches {percent(BOUNCE_REVIEW)} or complaint rate {percent(COMPLAINT_REVIEW)}; rates "
        f"from {percent(BOUNCE_WARN)} / {percent(COMPLAINT_WARN)} are marked.</p>",
        "<h2>By slice and configuration set</h2>",
        _groups_table(report),
        "<h2>Recipient domains with the most bounces</h2>",
        _domains_table(report, top_domains),
        "<h2>Recipients that did not get the mail, and why</h2>",
        _failures_table(report),
        f'<p class="note">Generated {escape(generated_at)} from the status table of the SES event '
        "pipeline. The same data: summary.csv and failures.csv beside this file.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)


def _card(label: str, value: str) -> str:
    value_html = f'<div class="value">{escape(value)}</div>'
    return f'<div class="card">{value_html}<div class="label">{escape(label)}</div></div>'


def _groups_table(report: Report) -> str:
    head = _head(
        "Slice", "Configuration set", "Sent", "Delivered", "Bounced", "Bounce rate", "Complaints",
        "Complaint rate", "Rejected", "No answer yet", numeric_from=2,
    )  # fmt: skip
    rows = [
        _group_row(f"<td>{escape(s)}</td><td>{escape(c)}</td>", counts)
        for (s, c), counts in report.sorted_groups()
    ]
    if not rows:
        return '<p class="note">No mail was sent in this period.</p>'
    rows.append(_group_row('<td colspan="2">Total</td>', report.totals, total=True))
    return head + "".join(rows) + "</tbody></table>"


def _domains_table(report: Report, limit: int) -> str:
    top = report.top_domains(limit)
    if not top:
        return '<p class="note">No bounces in this period.</p>'
    rows = "".join(
        f'<tr><td>{escape(d)}</td><td class="num">{c.sent:,}</td><td class="num">{c.bounced:,}</td>'
        f'<td class="num">{percent(c.bounce_rate)}</td></tr>'
        for d, c in top
    )
    return (
        _head("Recipient domain", "Sent", "Bounced", "Bounce rate", numeric_from=1)
        + rows
        + "</tbody></table>"
    )


def _failures_table(report: Report) -> str:
    failures = report.sorted_failures()
    if not failures:
        return '<p class="note">Every recipient got the mail (or has no answer yet).</p>'
    kinds = ", ".join(f"{escape(k)}: {n:,}" for k, n in report.reasons().most_common())
    rows = "".join(
        f"<tr><td>{escape(f.recipient)}</td><td>{escape(f.slice)}</td><td>{escape(f.configuration_set)}</td>"
        f'<td>{escape(f.state)}</td><td class="why">{escape(f.why)}</td>'
        f'<td class="when">{escape(_when(f.at))}</td></tr>'
        for f in failures[:HTML_FAILURE_ROWS]
    )
    shown = min(len(failures), HTML_FAILURE_ROWS)
    more = len(failures) - shown + report.failures_dropped
    note = f'<p class="note">{shown:,} shown; {more:,} more in failures.csv.</p>' if more else ""
    head = _head(
        "Recipient", "Slice", "Configuration set", "What happened", "Why", "When (UTC)", numeric_from=6
    )
    return f'<p class="note">By kind: {kinds}.</p>{head}{rows}</tbody></table>{note}'


def _when(timestamp: str) -> str:
    return timestamp[:16].replace("T", " ")


def summary_text(report: Report, *, link: str) -> str:
    """The short mail: totals only (no addresses: the report behind the link holds those)."""
    t = report.totals
    lines = [
        f"SES bounce report for {report.environment} ({report.region}), "
        f"{report.period_start} to {report.period_end}:",
        "",
        f"  recipients sent to  {t.sent:,}",
        f"  delivered           {t.delivered:,}",
        f"  bounced             {t.bounced:,} ({percent(t.bounce_rate)})",
        f"  complaints          {t.complained:,} ({percent(t.complaint_rate)})",
        "",
    ]
    worst = [(k, c) for k, c in report.sorted_groups() if c.bounce_rate >= BOUNCE_WARN]
    for (slice_name, configuration_set), c in worst:
        lines.append(f"  ! {slice_name} / {configuration_set}: bounce rate {percent(c.bounce_rate)}")
    lines += ["", f"The full report (sign in to the AWS console to open it): {link}"]
    return "\n".join(lines)

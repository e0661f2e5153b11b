"""The environment dashboard's body: plain JSON (no Terraform tokens), so a test can read it.

Written for a colleague who does not run the platform: each widget's title says what it shows
in words, rates carry SES's review lines, and the text at the top says what to do when red.
"""

from __future__ import annotations

from typing import Any

from modules.configuration_set.props import SES_REVIEW_BOUNCE_PERCENT, SES_REVIEW_COMPLAINT_PERCENT
from modules.reputation.props import (
    EVENTS_NAMESPACE,
    SENDER_NAMESPACE,
    MonitoredSet,
    ReputationProps,
    critical_parts,
)

WIDTH = 24  # CloudWatch dashboards are 24 units wide
EVENT_TYPES = (
    ("Send", "sent"),
    ("Delivery", "delivered"),
    ("Bounce", "bounced"),
    ("Complaint", "complaints"),
)

TOP_BOUNCING_DOMAINS = (
    'fields @timestamp | filter event = "ses_event" and event_type = "Bounce"'
    ' | parse @message /"recipients":\\["[^"@]*@(?<domain>[^"]+)"/'
    " | stats count(*) as bounces by domain | sort bounces desc | limit 10"
)


def _intro(props: ReputationProps) -> str:
    return (
        f"# Email sending — {props.environment}, {props.region}\n"
        "How much mail went out, how much arrived, and how much bounced or was marked as spam. "
        f"SES reviews an account at **{SES_REVIEW_BOUNCE_PERCENT:g} % bounces** or "
        f"**{SES_REVIEW_COMPLAINT_PERCENT:g} % complaints**; our alarms fire well before. "
        "A red *critical* alarm has **paused sending** for that configuration set and its slices "
        "(the reputation breaker): find the cause (a bad list? a broken form?) before resuming — "
        "see the runbook in the repository README."
    )


def _metric_widget(
    title: str, metrics: list[list[Any]], props: ReputationProps, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": props.region,
            "metrics": metrics,
            "view": "timeSeries",
            "stat": "Sum",
            "period": 300,
            **extra,
        },
    }


def _events_widget(props: ReputationProps, dimension: str, value: str, title: str) -> dict[str, Any]:
    metrics = [
        [EVENTS_NAMESPACE, "Events", dimension, value, "EventType", event_type, {"label": label}]
        for event_type, label in EVENT_TYPES
    ]
    return _metric_widget(title, metrics, props)


def _rates_widget(props: ReputationProps, monitored: MonitoredSet) -> dict[str, Any]:
    period = monitored.alarms.period_seconds
    dims = ["ConfigurationSet", monitored.name]
    metrics: list[list[Any]] = [
        [EVENTS_NAMESPACE, "Recipients", *dims, "EventType", event_type, {"id": ident, "visible": False}]
        for event_type, ident in (("Send", "s"), ("Bounce", "b"), ("Complaint", "c"))
    ]
    metrics += [
        [
            {
                "expression": "IF(s > 0, 100 * FILL(b, 0) / s, 0)",
                "label": "bounces, % of recipients",
                "id": "br",
            }
        ],
        [
            {
                "expression": "IF(s > 0, 100 * FILL(c, 0) / s, 0)",
                "label": "complaints, % of recipients",
                "id": "cr",
            }
        ],
    ]
    levels = monitored.alarms
    annotations = [
        {"label": "bounce warning", "value": levels.bounce_warning_percent, "color": "#ff7f0e"},
        {
            "label": "bounce critical: sending pauses",
            "value": levels.bounce_critical_percent,
            "color": "#d62728",
        },
        {"label": "SES review (bounces)", "value": SES_REVIEW_BOUNCE_PERCENT, "color": "#7f0000"},
        {"label": "complaint critical", "value": levels.complaint_critical_percent, "color": "#d62728"},
    ]
    return _metric_widget(
        f"Bounce and complaint rate — configuration set {monitored.name}",
        metrics,
        props,
        period=period,
        yAxis={"left": {"min": 0, "label": "%", "showUnits": False}},
        annotations={"horizontal": annotations},
    )


def _rate_used_widget(props: ReputationProps) -> dict[str, Any]:
    metrics: list[list[Any]] = []
    for i, item in enumerate(props.slices):
        metrics.append(
            [SENDER_NAMESPACE, "Recipients", "Slice", item.name, {"id": f"r{i}", "visible": False}]
        )
        metrics.append(
            [{"expression": f"r{i} / PERIOD(r{i})", "label": f"{item.name} (recipients/s)", "id": f"u{i}"}]
        )
    return _metric_widget(
        "Sending rate used vs the SES quota (recipients per second)",
        metrics,
        props,
        period=60,
        stacked=True,
        view="timeSeries",
        annotations={
            "horizontal": [{"label": "SES quota", "value": props.max_send_rate, "color": "#d62728"}]
        },
    )


def _dlq_widget(props: ReputationProps) -> dict[str, Any]:
    metrics = [
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", s.dlq_name, {"label": s.name}]
        for s in props.slices
    ]
    return _metric_widget("Mails that will not be sent (dead-letter queues)", metrics, props, stat="Maximum")


def dashboard_body(props: ReputationProps) -> dict[str, Any]:
    """The dashboard JSON: intro, alarm status, rates per set, sends per slice, rate vs quota,
    DLQ depth, top bouncing recipient domains."""
    alarms = [
        props.alarm_arn(props.alarm_name(s, part))
        for s in props.configuration_sets
        for part in ("bounce-rate-warning", "complaint-rate-warning", *critical_parts(s))
    ]
    widgets: list[dict[str, Any]] = [
        {"type": "text", "width": WIDTH, "height": 3, "properties": {"markdown": _intro(props)}},
        {
            "type": "alarm",
            "width": WIDTH,
            "height": 3,
            "properties": {
                "title": "Alarms (red = act now)",
                "alarms": alarms,
                "sortBy": "stateUpdatedTimestamp",
            },
        },
    ]
    widgets += [_rates_widget(props, s) for s in props.configuration_sets]
    widgets += [
        _events_widget(props, "ConfigurationSet", s.name, f"Mails — configuration set {s.name}")
        for s in props.configuration_sets
    ]
    widgets += [_events_widget(props, "Slice", s.name, f"Mails — slice {s.name}") for s in props.slices]
    if props.slices:
        widgets += [_rate_used_widget(props), _dlq_widget(props)]
    widgets.append(
        {
            "type": "log",
            "width": WIDTH,
            "height": 6,
            "properties": {
                "title": "Top bouncing recipient domains (last period shown)",
                "region": props.region,
                "query": f"SOURCE '{props.event_log_group}' | {TOP_BOUNCING_DOMAINS}",
                "view": "table",
            },
        }
    )
    return {"widgets": _placed(widgets)}


def _placed(widgets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Left to right, top to bottom: explicit x/y keep the layout stable across applies."""
    x = y = row_height = 0
    for widget in widgets:
        if x + widget["width"] > WIDTH:
            x, y, row_height = 0, y + row_height, 0
        widget["x"], widget["y"] = x, y
        x += widget["width"]
        row_height = max(row_height, widget["height"])
    return widgets

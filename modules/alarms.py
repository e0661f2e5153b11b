"""One way to make a CloudWatch metric alarm that notifies a topic, for every construct."""

from __future__ import annotations

from cdktn_provider_aws.cloudwatch_metric_alarm import CloudwatchMetricAlarm
from constructs import Construct

ALARM_PERIOD_SECONDS = 60


def metric_alarm(
    scope: Construct, part: str, *, name_prefix: str, logical_prefix: str, topic_arn: str | None,
    description: str, namespace: str, metric: str, dimensions: dict[str, str], threshold: float = 1,
    statistic: str = "Sum", period: int = ALARM_PERIOD_SECONDS, periods: int = 1,
    comparison: str = "GreaterThanOrEqualToThreshold", missing: str = "notBreaching",
    tags: dict[str, str] | None = None,
) -> CloudwatchMetricAlarm:  # fmt: skip
    """Alarm ``<name_prefix>-<part>`` (``_`` as ``-``), address ``<logical_prefix>_<part>``: ALARM
    when ``periods`` consecutive periods breach ``threshold``; missing data is ``missing``. The
    topic (if any) hears both ALARM and OK, so a recovery is announced too."""
    alarm = CloudwatchMetricAlarm(
        scope,
        f"alarm_{part}",
        alarm_name=f"{name_prefix}-{part.replace('_', '-')}",
        alarm_description=description,
        namespace=namespace,
        metric_name=metric,
        dimensions=dimensions or None,
        statistic=statistic,
        period=period,
        evaluation_periods=periods,
        datapoints_to_alarm=periods,
        threshold=threshold,
        comparison_operator=comparison,
        treat_missing_data=missing,
        alarm_actions=[topic_arn] if topic_arn else None,
        ok_actions=[topic_arn] if topic_arn else None,
        tags=tags or None,
    )
    alarm.override_logical_id(f"{logical_prefix}_{part}")
    return alarm

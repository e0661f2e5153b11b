"""``ReputationMonitor``: bounce/complaint alarms per configuration set, throttle alarms per slice,
the environment's dashboard and the reputation breaker, for one stack."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cdktn import TerraformOutput
from cdktn_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktn_provider_aws.cloudwatch_event_target import CloudwatchEventTarget, CloudwatchEventTargetRetryPolicy
from cdktn_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktn_provider_aws.lambda_permission import LambdaPermission
from constructs import Construct

from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.reputation.dashboard import dashboard_body
from modules.reputation.props import (
    EVENTS_NAMESPACE,
    SENDER_NAMESPACE,
    SES_NAMESPACE,
    MonitoredSet,
    ReputationProps,
)
from modules.shared.checkov import CODE_SIGNING
from modules.shared.names import LEDGER_PK

BREAKER_JOB = "reputation_breaker"
BREAKER_CHECKOV_SKIPS = {
    "CKV_AWS_117": "The breaker calls only AWS APIs (SES, DynamoDB); a VPC adds NAT or interface "
    "endpoints and protects nothing here.",
    "CKV_AWS_272": CODE_SIGNING,
}


@dataclass(frozen=True)
class _Rate:
    kind: str  # bounce | complaint
    event_type: str  # SES's word in the event logger's EventType dimension
    ses_metric: str


_RATES = (
    _Rate("bounce", "Bounce", "Reputation.BounceRate"),
    _Rate("complaint", "Complaint", "Reputation.ComplaintRate"),
)


class ReputationMonitor(Construct):
    """Alarms, dashboard and breaker of one stack (names: ``<env>-<set>-<part>``).

    Per configuration set, to the alarm topic:

    * ``<set>-bounce-rate-warning`` / ``-critical`` and ``complaint-rate-…``: metric math over the
      event logger's recipient counts, ``IF(send >= minimum_sends, 100 * bounce / send, 0)`` per
      ``period_seconds`` (recipients, as SES counts its rates);
    * ``<set>-ses-bounce-rate`` / ``-ses-complaint-rate``: SES's own ``Reputation.*`` for the set at
      the critical level (independent of the event pipeline), when reputation metrics are on.

    Per slice: ``<env>-<slice>-throttled`` (SES throttles seen by the sender). The DLQ depth alarms
    live with the slices and the event pipeline. ``aws_cloudwatch_dashboard`` ``<env>-ses-<region>``
    (CloudWatch dashboard names are account-wide). The breaker: an EventBridge rule on the critical
    alarms entering ALARM invokes ``<env>-ses-breaker-<region>``, which pauses the set's sending and
    its slices' budgets.
    """

    def __init__(self, scope: Construct, id_: str, props: ReputationProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.tags = dict(props.tags) or None
        self.alarms: dict[str, CloudwatchMetricAlarm] = {}
        for monitored in props.configuration_sets:
            self._set_alarms(monitored)
        for item in props.slices:
            self._alarm(
                f"{item.name.replace('-', '_')}_throttled",
                f"{props.environment}-{item.name}-throttled",
                f"Slice {item.name}: SES answered 'Maximum sending rate exceeded' (another sender in the "
                "account, or a quota below the configured one)",
                threshold=props.throttle_alarm_threshold,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=SENDER_NAMESPACE, metric_name="Throttled", dimensions={"Slice": item.name},
                    period=300, stat="Sum",
                ),
            )  # fmt: skip
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=f"{props.environment}-ses-{props.region}",
            dashboard_body=json.dumps(dashboard_body(props), separators=(",", ":")),
        )
        self.dashboard.override_logical_id("ses")
        self.breaker: PythonFunction | None = None
        if props.breaker_targets():
            self._breaker()
        TerraformOutput(
            self,
            "dashboard_output",
            value=self.dashboard.dashboard_name,
            description="CloudWatch dashboard of this account-region: sends, bounces, complaints, rates",
        ).override_logical_id("ses_dashboard_name")

    # --- alarms ----------------------------------------------------------------------------------

    def _alarm(
        self, logical_id: str, name: str, description: str, *, threshold: float,
        metric: CloudwatchMetricAlarmMetricQueryMetric | None = None,
        queries: list[CloudwatchMetricAlarmMetricQuery] | None = None,
    ) -> None:  # fmt: skip
        topic = self.props.alarm_topic_arn
        single = [CloudwatchMetricAlarmMetricQuery(id="m", metric=metric, return_data=True)] if metric else []
        alarm = CloudwatchMetricAlarm(
            self,
            f"alarm_{logical_id}",
            alarm_name=name,
            alarm_description=description,
            metric_query=queries or single,
            evaluation_periods=1,
            threshold=threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic],
            ok_actions=[topic],
            tags=self.tags,
        )
        alarm.override_logical_id(logical_id)
        self.alarms[name] = alarm

    def _set_alarms(self, monitored: MonitoredSet) -> None:
        props, levels = self.props, monitored.alarms
        breaker = " and pauses its sending and slices (reputation breaker)" if levels.breaker else ""
        for rate in _RATES:
            queries = self._rate_queries(monitored, rate)
            for level in ("warning", "critical"):
                threshold = getattr(levels, f"{rate.kind}_{level}_percent")
                self._alarm(
                    f"{monitored.slug}_{rate.kind}_rate_{level}",
                    props.alarm_name(monitored, f"{rate.kind}-rate-{level}"),
                    f"Configuration set {monitored.name}: {rate.kind} rate ≥ {threshold:g} % of recipients "
                    f"over {levels.period_seconds // 60} min (SES reviews at "
                    f"{5 if rate.kind == 'bounce' else 0.1:g} %)" + (breaker if level == "critical" else ""),
                    threshold=threshold,
                    queries=queries,
                )
            if monitored.reputation_metrics:
                critical = getattr(levels, f"{rate.kind}_critical_percent")
                self._alarm(
                    f"{monitored.slug}_ses_{rate.kind}_rate",
                    props.alarm_name(monitored, f"ses-{rate.kind}-rate"),
                    f"Configuration set {monitored.name}: SES's {rate.ses_metric} ≥ {critical:g} %{breaker}",
                    threshold=critical / 100,  # SES publishes a fraction
                    metric=CloudwatchMetricAlarmMetricQueryMetric(
                        namespace=SES_NAMESPACE, metric_name=rate.ses_metric,
                        dimensions={"ses:configuration-set": monitored.name}, period=900, stat="Maximum",
                    ),
                )  # fmt: skip

    def _rate_queries(self, monitored: MonitoredSet, rate: _Rate) -> list[CloudwatchMetricAlarmMetricQuery]:
        levels = monitored.alarms

        def recipients(ident: str, event_type: str) -> CloudwatchMetricAlarmMetricQuery:
            return CloudwatchMetricAlarmMetricQuery(
                id=ident,
                return_data=False,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=EVENTS_NAMESPACE,
                    metric_name="Recipients",
                    dimensions={"ConfigurationSet": monitored.name, "EventType": event_type},
                    period=levels.period_seconds,
                    stat="Sum",
                ),
            )

        return [
            recipients("sent", "Send"),
            recipients("failed", rate.event_type),
            CloudwatchMetricAlarmMetricQuery(
                id="rate",
                # Too few sends to judge: 0. Events without a Send in the window still count.
                expression=f"IF(sent >= {levels.minimum_sends}, 100 * FILL(failed, 0) / sent, 0)",
                label=f"{rate.kind}s, % of recipients sent",
                return_data=True,
            ),
        ]

    # --- breaker ---------------------------------------------------------------------------------

    def _breaker(self) -> None:
        props = self.props
        targets = props.breaker_targets()
        self.breaker = PythonFunction(
            self,
            "breaker",
            PythonFunctionProps(
                function_name=props.breaker_name,
                job=BREAKER_JOB,
                description="Reputation breaker: a critical bounce/complaint alarm pauses the configuration "
                "set's sending and its slices",
                kms_key_arn=props.alarm_topic_key_arn,
                reserved_concurrency=1,  # alarms are rare; the writes are idempotent anyway
                timeout_seconds=30,
                memory_mb=128,
                # A breaker that failed every retry tells on-call through the alarm topic.
                dead_letter_target_arn=props.alarm_topic_arn,
                policies={"breaker": self._breaker_policy_json(targets)},
                environment={
                    "BREAKER_TARGETS": json.dumps(targets, sort_keys=True, separators=(",", ":")),
                    "STATE_TABLE": props.state_table_name or "",
                },
                checkov_skips=BREAKER_CHECKOV_SKIPS,
                tags=self.tags or {},
            ),
            logical_id="reputation_breaker",
        )
        rule = CloudwatchEventRule(
            self,
            "rule",
            name=props.breaker_name,
            description="Critical reputation alarms entering ALARM → the reputation breaker",
            event_pattern=json.dumps(
                {
                    "source": ["aws.cloudwatch"],
                    "detail-type": ["CloudWatch Alarm State Change"],
                    "detail": {"alarmName": sorted(targets), "state": {"value": ["ALARM"]}},
                }
            ),
            tags=self.tags,
        )
        rule.override_logical_id("reputation_breaker")
        CloudwatchEventTarget(
            self,
            "target",
            rule=rule.name,
            arn=self.breaker.function_arn,
            retry_policy=CloudwatchEventTargetRetryPolicy(
                maximum_event_age_in_seconds=3600, maximum_retry_attempts=10
            ),
        ).override_logical_id("reputation_breaker")
        LambdaPermission(
            self,
            "permission",
            statement_id="ReputationAlarmsRule",
            action="lambda:InvokeFunction",
            function_name=self.breaker.function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
        ).override_logical_id("reputation_breaker")

    def _breaker_policy_json(self, targets: dict[str, dict[str, object]]) -> str:
        props = self.props
        sets = sorted({str(t["configuration_set"]) for t in targets.values()})
        slices = sorted({str(s) for t in targets.values() for s in t["slices"]})  # type: ignore[attr-defined]
        ses_arn = f"arn:{props.partition}:ses:{props.region}:{props.account_id}:configuration-set/"
        statements: list[dict[str, object]] = [
            {
                "Sid": "PauseOwnConfigurationSets",
                "Effect": "Allow",
                "Action": ["ses:PutConfigurationSetSendingOptions"],
                "Resource": [ses_arn + name for name in sets],
            },
            {
                "Sid": "DeadLetterToAlarmTopic",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": props.alarm_topic_arn,
            },
            {
                "Sid": "AlarmTopicKey",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                "Resource": props.alarm_topic_key_arn,
            },
        ]
        if slices:
            statements.append(
                {
                    "Sid": "PauseOwnSlicesInLedger",
                    "Effect": "Allow",
                    "Action": ["dynamodb:UpdateItem"],
                    "Resource": props.state_table_arn,
                    "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [LEDGER_PK]}},
                }
            )
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

"""``BlocklistMonitor``: checks the account's dedicated IPs against DNS blocklists on a schedule."""

from __future__ import annotations

from typing import Any

from cdktn import TerraformOutput
from constructs import Construct

from modules.dedicated_ip_pool.props import BLOCKLIST_JOB, BlocklistMonitorProps
from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.foundation import StackFoundation
from modules.shared.names import METRICS_NAMESPACE
from modules.shared.scheduled import SCHEDULED_CHECKOV_SKIPS, alarm, document, schedule_function

HOUR_SECONDS = 3600


class BlocklistMonitor(Construct):
    """Every dedicated IP of the account (this region) against every DNSBL zone, each hour.

    Resources (``<b>`` = ``<env>-ses-blocklist``, addresses ``<type>.blocklist…``):

    * the monitor Lambda (job ``blocklist_monitor``): arm64, python3.12, 300 s, 128 MB, reserved
      concurrency 1; sesv2 ``GetDedicatedIps`` (all pools), then one DNS A query per IP and zone.
    * ``aws_scheduler_schedule`` ``<b>``: ``rate(1 hour)``, its own role, encrypted with the stack key.
    * alarms to the stack's alarm topic: ``listed`` (any IP on any zone), ``blind`` (lookups
      failing three runs in a row, or no run reporting for three hours), ``errors`` (the Lambda).
    * output ``blocklist_monitor_function_name``.

    Example::

        BlocklistMonitor(stack, "blocklist", BlocklistMonitorProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            zones=["bl.spamcop.net"]), foundation=foundation)
    """

    def __init__(
        self, scope: Construct, id_: str, props: BlocklistMonitorProps, *, foundation: StackFoundation
    ) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.tags = {**props.tags, "component": "blocklist"}
        policy = document(
            "blocklist",
            {
                # GetDedicatedIps has no resource-level permissions ("*" only); read-only.
                "Sid": "ListDedicatedIps",
                "Effect": "Allow",
                "Action": ["ses:GetDedicatedIps"],
                "Resource": "*",
            },
        )
        self.function = PythonFunction(
            self,
            "function",
            PythonFunctionProps(
                function_name=props.name,
                job=BLOCKLIST_JOB,
                description=f"Checks the dedicated IPs of {props.region} against "
                f"{len(props.zones)} DNSBL zone(s)",
                kms_key_arn=foundation.key_arn,
                reserved_concurrency=1,
                timeout_seconds=300,
                memory_mb=128,
                log_retention_days=props.log_retention_days,
                policies={"blocklist": policy},
                checkov_skips=SCHEDULED_CHECKOV_SKIPS,
                environment={
                    "MONITOR_NAME": props.monitor_name,
                    "ZONES": ",".join(props.zones),
                    "DNS_RESOLVER": props.resolver or "",
                    "TIMEOUT_SECONDS": str(props.timeout_seconds),
                    "METRICS_NAMESPACE": METRICS_NAMESPACE,
                },
                tags=self.tags,
            ),
            logical_id="blocklist",
        )
        self.schedule = schedule_function(
            self,
            name=props.name,
            slug="blocklist",
            account_id=props.account_id,
            region=props.region,
            function=self.function,
            expression=props.schedule_expression,
            description=f"Runs the SES blocklist monitor of {props.environment}",
            key_arn=foundation.key_arn,
            tags=self.tags,
        )
        common: dict[str, Any] = {
            "name": props.name,
            "slug": "blocklist",
            "topic_arn": foundation.alarm_topic_arn,
            "tags": self.tags,
        }
        monitor = {"Monitor": props.monitor_name}
        alarm(
            self, "listed", **common, namespace=METRICS_NAMESPACE, metric="Listings", dimensions=monitor,
            period=HOUR_SECONDS, statistic="Maximum",
            description=f"SES dedicated IPs of {props.environment} in {props.region}: an IP is on a DNS "
            "blocklist (the log line blocklist_listed names IP, zone and pool)",
        )  # fmt: skip
        alarm(
            self, "blind", **common, namespace=METRICS_NAMESPACE, metric="LookupErrors", dimensions=monitor,
            period=HOUR_SECONDS, statistic="Minimum", periods=3, missing="breaching",
            description=f"SES blocklist monitor of {props.environment} in {props.region}: lookups failing "
            "for three hours, or no run reporting; listings would go unnoticed",
        )  # fmt: skip
        alarm(
            self, "errors", **common, namespace="AWS/Lambda", metric="Errors",
            dimensions={"FunctionName": self.function.function_name}, period=HOUR_SECONDS,
            description=f"SES blocklist monitor of {props.environment}: the Lambda failed",
        )  # fmt: skip
        TerraformOutput(
            self,
            "function_name",
            value=self.function.function_name,
            description="Lambda that checks the account's dedicated IPs against DNS blocklists",
        ).override_logical_id("blocklist_monitor_function_name")

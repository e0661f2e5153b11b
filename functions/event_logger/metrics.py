"""The event logger's CloudWatch metrics, as Embedded Metric Format documents (one per batch and
dimension combination; no PutMetricData call).

Namespace ``SesPlatform/Events`` (``METRICS_NAMESPACE`` overrides it):

=====================  =========================================  ===============================
metric                 dimension sets                             counts
=====================  =========================================  ===============================
``Events``             [ConfigurationSet, EventType],             SES events read
                       [Slice, EventType]
``Recipients``         the same                                   recipients those events concern
                                                                  (SES's rates count recipients)
``MalformedEvents``    [] (none)                                  records that are not SES events
``EventErrors``        [] (none)                                  events whose status write or
                                                                  status message failed (retried)
=====================  =========================================  ===============================

``EventType`` is SES's ``eventType`` verbatim (``Send``, ``Bounce``, ``Rendering Failure``, …);
``Slice`` is our sender's ``slice`` tag and ``ConfigurationSet`` the ``ses:configuration-set``
tag, ``none`` when absent (mail sent outside the platform's senders).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any, TextIO

METRICS_NAMESPACE = "SesPlatform/Events"
EVENT_DIMENSION_SETS = (("ConfigurationSet", "EventType"), ("Slice", "EventType"))


class BatchMetrics:
    """Counts of one batch; :meth:`flush` prints them as EMF documents."""

    def __init__(self) -> None:
        self.events: Counter[tuple[str, str, str]] = Counter()  # (configuration set, slice, type)
        self.recipients: Counter[tuple[str, str, str]] = Counter()
        self.malformed: Counter[str] = Counter()  # reason code
        self.errors = 0

    def event(self, configuration_set: str, slice_name: str, event_type: str, recipients: int) -> None:
        key = (configuration_set, slice_name, event_type)
        self.events[key] += 1
        self.recipients[key] += recipients

    def documents(self, namespace: str, timestamp_ms: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for (configuration_set, slice_name, event_type), count in sorted(self.events.items()):
            key = (configuration_set, slice_name, event_type)
            out.append({
                "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [list(s) for s in EVENT_DIMENSION_SETS],
                    "Metrics": [{"Name": "Events", "Unit": "Count"}, {"Name": "Recipients", "Unit": "Count"}],
                }]},
                "ConfigurationSet": configuration_set, "Slice": slice_name, "EventType": event_type,
                "Events": count, "Recipients": self.recipients[key],
            })  # fmt: skip
        totals = {"MalformedEvents": sum(self.malformed.values()), "EventErrors": self.errors}
        totals = {name: value for name, value in totals.items() if value}
        if totals:
            out.append({
                "_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": [{
                    "Namespace": namespace, "Dimensions": [[]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in totals],
                }]},
                **totals,
                # Not a dimension (an alarm needs one series): the reasons, for Logs Insights.
                "MalformedReasons": dict(self.malformed),
            })  # fmt: skip
        return out

    def flush(self, namespace: str, timestamp_ms: int, stream: TextIO | None = None) -> None:
        for document in self.documents(namespace, timestamp_ms):
            print(json.dumps(document, separators=(",", ":")), file=stream or sys.stdout)

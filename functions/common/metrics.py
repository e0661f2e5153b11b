"""CloudWatch Embedded Metric Format: a metric is a structured log line, no PutMetricData call."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import TextIO


def emit(
    namespace: str,
    dimensions: Mapping[str, str],
    metrics: Mapping[str, float],
    *,
    timestamp_ms: int,
    stream: TextIO | None = None,
) -> None:
    """Print one EMF document; CloudWatch Logs extracts each metric with the given dimensions."""
    if not metrics:
        return
    document = {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": [sorted(dimensions)],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in sorted(metrics)],
                }
            ],
        },
        **dimensions,
        **metrics,
    }
    (stream or sys.stdout).write(json.dumps(document, separators=(",", ":")) + "\n")  # one write a line

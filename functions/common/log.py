"""One JSON object per line on stdout: CloudWatch Logs Insights reads the fields directly."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


def log(event: str, *, level: str = "INFO", stream: TextIO | None = None, **fields: Any) -> None:
    """Write ``{"level", "event", **fields}``; values that JSON cannot hold become strings."""
    record = {"level": level, "event": event, **fields}
    # one write per line: print() writes the text and the newline separately, and lines of a
    # sender's concurrent sends would interleave
    (stream or sys.stdout).write(json.dumps(record, default=str, separators=(",", ":")) + "\n")

"""Names the constructs and the Lambdas' code must agree on (each kept equal to its twin in
``functions/`` by a test)."""

from __future__ import annotations

METRICS_NAMESPACE = "SesPlatform"
"""CloudWatch namespace of every metric the Lambdas publish and the alarms read."""
LEDGER_PK = "ledger"
"""The account's send ledger item in the state table (``functions/common/ledger.py``)."""

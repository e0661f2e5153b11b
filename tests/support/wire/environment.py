"""Every environment variable a wire process gets, built in one place: one function per job.

Why: on the wire the Lambdas are configured only through their environment, as in AWS, and the
jobs' variables change (the rate limiter and the heartbeat are being reworked). When a job's
variables change, edit :func:`sender_environment` or :func:`heartbeat_environment` here - the
harness passes their result untouched to the job's processes and reads nothing else of the jobs.
Today's variables are those of ``functions.sender.handler.SenderConfig.from_env`` (plus
``STATE_TABLE`` and ``RATE_PER_SECOND`` read by ``_default_deps``) and of
``functions.heartbeat.handler.HeartbeatConfig.from_env``; the constructs
(``modules/capacity_slice``, ``modules/heartbeat``) set the same names.

:func:`aws_environment` points every boto3 client of a process at the stand-ins with botocore's
per-service endpoint variables (``AWS_ENDPOINT_URL_<SERVICE>``) and fake credentials; nothing of
the machine's AWS configuration is inherited (``services.base_environment``), so no request can
leave 127.0.0.1.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tests.support.wire.resources import SliceResources

REGION = "eu-central-1"
METRICS_NAMESPACE = "SesPlatform"


@dataclass(frozen=True)
class Endpoints:
    """Where the stand-ins listen (``http://127.0.0.1:<port>``)."""

    ses: str
    dynamodb: str
    sqs: str


def aws_environment(endpoints: Endpoints) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL_SESV2": endpoints.ses,
        "AWS_ENDPOINT_URL_DYNAMODB": endpoints.dynamodb,
        "AWS_ENDPOINT_URL_SQS": endpoints.sqs,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,  # Lambda sets both
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def lambda_runtime_environment(function_name: str, *, timeout_seconds: int, memory_mb: int) -> dict[str, str]:
    """What the Lambda runtime itself sets (some libraries look at it)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_seconds),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
    }


def sender_environment(
    slice_: SliceResources,
    *,
    state_table: str,
    allowed_from_domains: Iterable[str] = (),
    configuration_set: str | None = None,
    account_rate_per_second: float | None = None,
) -> dict[str, str]:
    """The sender's variables for one slice (``modules/capacity_slice/construct.py`` sets these):
    ``account_rate_per_second`` is the SES quota x the heartbeat's headroom, as the platform sets it."""
    return {
        "SLICE_NAME": slice_.name,
        "RATE_PER_SECOND": _number(slice_.rate_per_second),
        "ACCOUNT_RATE_PER_SECOND": _number(account_rate_per_second or slice_.rate_per_second),
        "STATE_TABLE": state_table,
        "DLQ_URL": slice_.dlq.url,
        "QUEUE_URLS": json.dumps(slice_.queue_urls, separators=(",", ":")),
        "CONFIGURATION_SET": configuration_set or "",
        "ALLOWED_FROM_DOMAINS": ",".join(allowed_from_domains),
        "METRICS_NAMESPACE": METRICS_NAMESPACE,
        "MAX_RECEIVE_COUNT": str(slice_.max_receive_count),
        "WARMUP_POOL": "",
        "DEDICATED_CONFIGURATION_SET": "",
        "ARCHIVE_ADDRESS": "",
    }


def heartbeat_environment(
    slices: Sequence[SliceResources], *, state_table: str, headroom: float, tick_seconds: int = 1
) -> dict[str, str]:
    """The heartbeat's variables for an account-region (``modules/heartbeat/construct.py``)."""
    described = [
        {
            "name": s.name,
            "rate_per_second": _number(s.rate_per_second),
            "queue_urls": [q.url for q in s.lanes.values()],
        }
        for s in slices
    ]
    return {
        "STATE_TABLE": state_table,
        "SLICES": json.dumps(described, separators=(",", ":")),
        "HEADROOM": str(headroom),
        "TICK_SECONDS": str(tick_seconds),
    }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

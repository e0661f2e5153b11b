"""Physical names that must not repeat where AWS makes them unique.

AWS scopes names differently: IAM roles, users, groups, policies and instance profiles, and
CloudWatch dashboards, are unique per **account**; S3 buckets **globally**; Lambda functions, log
groups, queues, topics, tables, KMS aliases, schedules, state machines, receipt rule sets and
alarms per **account-region**. The stacks of one environment are one per account-region and
each has its own state, so a name that repeats across two of them passes ``plan`` and fails the
second ``apply`` (``EntityAlreadyExists``). The rule here:

* a per-account-region name needs only the environment (every stack of an env is in its own
  account-region), so it stays ``<env>-…``;
* an account-wide name also carries the region (:func:`with_region`);
* a global name carries the account id and the region (:func:`fit` keeps it in S3's 63).

Names stay within the service's length limit by keeping their start and end and putting 8 hex
characters of the full name's SHA-256 in the middle: stable across synths, different for
different names. :mod:`modules.naming.check` proves the result on the synthesized JSON, across
every stack of an env (and of every env in ``envs/``).

Pure Python apart from :func:`stack_region` (no cdktn import at module level).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from constructs import Construct

IAM_NAME_LIMIT = 64  # roles, users (groups and policies allow 128: 64 suits all of them)
S3_BUCKET_LIMIT = 63
_DIGEST = 8


def fit(name: str, limit: int, *, keep_end: int = 0) -> str:
    """``name`` if it has at most ``limit`` characters; else its start, ``-`` and 8 hex characters
    of its SHA-256, and its last ``keep_end`` characters (a region, say) unchanged.

    >>> fit("prod-ses-suppression-cleanup-scheduler-eu-central-1", 40, keep_end=13)
    'prod-ses-suppressi-786931ee-eu-central-1'
    """
    if len(name) <= limit:
        return name
    end = name[len(name) - keep_end :] if keep_end else ""
    digest = hashlib.sha256(name.encode()).hexdigest()[:_DIGEST]
    room = limit - len(end) - _DIGEST - 1
    if room < 1:
        raise ValueError(f"cannot fit {name!r} into {limit} characters keeping its last {keep_end}")
    return f"{name[:room].rstrip('-')}-{digest}{end}"


def with_region(name: str, region: str, *, limit: int = IAM_NAME_LIMIT) -> str:
    """``<name>-<region>`` in at most ``limit`` characters: an account-wide name (IAM, a
    dashboard) made unique per stack. ``name`` is kept as it is when it ends with the region."""
    suffix = f"-{region}"
    full = name if name.endswith(suffix) else name + suffix
    return fit(full, limit, keep_end=len(suffix))


def stack_region(scope: Construct) -> str:
    """The region of the default AWS provider of ``scope``'s stack (as ``Stack.of(this).region``
    in aws-cdk): what a construct without a ``region`` prop uses to make its account-wide names
    unique. Raises ``ValueError`` when the stack has no such provider or its region is not a
    plain string."""
    from cdktn import TerraformStack
    from cdktn_provider_aws.provider import AwsProvider

    stack = TerraformStack.of(scope)
    for child in stack.node.children:
        if isinstance(child, AwsProvider) and child.alias is None:
            region = child.region
            if isinstance(region, str) and region and "${" not in region:
                return region
    raise ValueError(
        f"{stack.node.id}: no AWS provider with a literal region in the stack; account-wide names "
        "carry the region (give the provider region=..., or the construct an explicit name)"
    )

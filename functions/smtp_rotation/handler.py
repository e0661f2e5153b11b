"""Rotates an SES SMTP user's credentials in Secrets Manager: the four rotation steps plus a sweep.

Secrets Manager calls :func:`lambda_handler` with ``{"Step", "SecretId", "ClientRequestToken"}``:

* ``createSecret`` — makes room under IAM's limit of two access keys per user (keys that no
  version of the secret holds go first; the previous key only if the limit still demands it),
  creates an access key, derives the SMTP password for the secret's region and stores
  ``{"username", "password", "smtp_endpoint", "smtp_port"}`` as ``AWSPENDING`` under the token.
  The secret access key itself is never stored: the password is all SMTP needs.
* ``setSecret`` — SES has no password to set: checks the pending key exists and is active.
* ``testSecret`` — SMTP AUTH over STARTTLS with the pending credentials (retried while the new
  key propagates); ``SMTP_TEST_LOGIN=false`` switches it off.
* ``finishSecret`` — moves ``AWSCURRENT`` to the token's version (the old one becomes
  ``AWSPREVIOUS``), then retires keys: the previous key survives for the grace period.

An EventBridge rule also sends ``{"action": "retire_expired_keys", "SecretId": ...}`` every hour:
it deletes the previous key once its grace period is over.

Every step can run twice (Secrets Manager retries) and does nothing new the second time. A step
that fails leaves ``AWSCURRENT`` and its key untouched; a key left behind by a failed rotation is
deleted by the next one. Log lines name the step and the secret ARN, never a secret: access key
ids appear only by their last four characters.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from functions.common.clock import Clock, SystemClock
from functions.common.log import log
from functions.smtp_rotation.password import SMTP_PORT, smtp_endpoint, smtp_password
from functions.smtp_rotation.smtp_check import SmtpTarget, smtp_login_with_retries

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
SWEEP = "retire_expired_keys"
MAX_ACCESS_KEYS = 2  # IAM's limit per user


class SecretsClient(Protocol):
    """The part of boto3's ``secretsmanager`` client the rotation calls."""

    def describe_secret(self, **kwargs: Any) -> dict[str, Any]: ...
    def get_secret_value(self, **kwargs: Any) -> dict[str, Any]: ...
    def put_secret_value(self, **kwargs: Any) -> dict[str, Any]: ...
    def update_secret_version_stage(self, **kwargs: Any) -> dict[str, Any]: ...
    def list_secret_version_ids(self, **kwargs: Any) -> dict[str, Any]: ...


class IamClient(Protocol):
    def list_access_keys(self, **kwargs: Any) -> dict[str, Any]: ...
    def create_access_key(self, **kwargs: Any) -> dict[str, Any]: ...
    def delete_access_key(self, **kwargs: Any) -> dict[str, Any]: ...
    def update_access_key(self, **kwargs: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class RotationConfig:
    """What the construct sets in the environment; ``from_env`` reads it.

    Attributes:
        iam_user_name: the SMTP user whose access keys this function owns (``IAM_USER_NAME``).
        region: the secret's region: the password and endpoint are for it (``SMTP_REGION``,
            default ``AWS_REGION``).
        smtp_port: the port stored with the credentials (``SMTP_PORT``). Default 587.
        test_login: testSecret logs in over SMTP (``SMTP_TEST_LOGIN``). Default true.
        test_host, test_port: where testSecret logs in (``SMTP_TEST_HOST``, ``SMTP_TEST_PORT``).
            Default - the stored endpoint and port.
        test_attempts: logins testSecret tries before failing (``SMTP_TEST_ATTEMPTS``). Default 6.
        test_wait_seconds: pause between them (``SMTP_TEST_WAIT_SECONDS``). Default 10.
        previous_key_grace_seconds: how long the previous key stays active after a rotation
            (``PREVIOUS_KEY_GRACE_HOURS`` × 3600). Default 24 hours.
    """

    iam_user_name: str
    region: str
    smtp_port: int = SMTP_PORT
    test_login: bool = True
    test_host: str | None = None
    test_port: int | None = None
    test_attempts: int = 6
    test_wait_seconds: float = 10.0
    previous_key_grace_seconds: float = 24 * 3600.0

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RotationConfig:
        port = int(env.get("SMTP_PORT", str(SMTP_PORT)))
        return cls(
            iam_user_name=env["IAM_USER_NAME"],
            region=env.get("SMTP_REGION") or env["AWS_REGION"],
            smtp_port=port,
            test_login=env.get("SMTP_TEST_LOGIN", "true").lower() != "false",
            test_host=env.get("SMTP_TEST_HOST") or None,
            test_port=int(env["SMTP_TEST_PORT"]) if env.get("SMTP_TEST_PORT") else None,
            test_attempts=int(env.get("SMTP_TEST_ATTEMPTS", "6")),
            test_wait_seconds=float(env.get("SMTP_TEST_WAIT_SECONDS", "10")),
            previous_key_grace_seconds=float(env.get("PREVIOUS_KEY_GRACE_HOURS", "24")) * 3600,
        )


@dataclass(kw_only=True)
class RotationDeps:
    secrets: SecretsClient
    iam: IamClient
    clock: Clock = field(default_factory=SystemClock)
    smtp_target: SmtpTarget | None = None  # Default - from the config and the stored endpoint


class RotationError(Exception):
    """A rotation step cannot go on; AWSCURRENT is untouched. Never carries a secret."""


# --- reading the secret ----------------------------------------------------------------------


def _value(
    deps: RotationDeps, arn: str, *, stage: str, version_id: str | None = None
) -> dict[str, Any] | None:
    """The JSON value at ``stage`` (and ``version_id``), or None when there is none."""
    kwargs: dict[str, Any] = {"SecretId": arn, "VersionStage": stage}
    if version_id is not None:
        kwargs["VersionId"] = version_id
    try:
        response = deps.secrets.get_secret_value(**kwargs)
    except Exception as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise
    value = json.loads(response.get("SecretString") or "{}")
    return value if isinstance(value, dict) else None


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _key_id(value: dict[str, Any] | None) -> str | None:
    username = value.get("username") if value else None
    return username if isinstance(username, str) and username else None


def _short(key_id: str) -> str:
    return "…" + key_id[-4:]


def _stages(deps: RotationDeps, arn: str) -> dict[str, list[str]]:
    described = deps.secrets.describe_secret(SecretId=arn)
    return {version: list(stages) for version, stages in described.get("VersionIdsToStages", {}).items()}


def _check_pending(deps: RotationDeps, arn: str, token: str) -> bool:
    """True when ``token`` is the pending version; False when it is only current (a late retry).

    A secret's first version is AWSCURRENT at once (Secrets Manager's rule for a first version),
    so on the first rotation the pending version is current too, and is still set and tested.
    """
    stages = _stages(deps, arn).get(token)
    if stages is None:
        raise RotationError(f"version {token} of the secret does not exist")
    if PENDING in stages:
        return True
    if CURRENT in stages:
        return False
    raise RotationError(f"version {token} of the secret is not AWSPENDING")


# --- access keys -------------------------------------------------------------------------------


def _access_keys(deps: RotationDeps, user: str) -> list[dict[str, Any]]:
    keys = deps.iam.list_access_keys(UserName=user).get("AccessKeyMetadata", [])
    return sorted(keys, key=lambda k: k.get("CreateDate") or datetime.min)  # oldest first


def _delete_key(deps: RotationDeps, ctx: dict[str, Any], key_id: str, reason: str) -> None:
    user = ctx["iam_user"]
    try:
        deps.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    except Exception as exc:
        if _error_code(exc) != "NoSuchEntity":  # deleted already: a repeated step
            raise
    log("smtp_key_retired", **ctx, access_key=_short(key_id), reason=reason)


def _make_room(deps: RotationDeps, config: RotationConfig, ctx: dict[str, Any], arn: str) -> None:
    """Delete keys until a new one fits: first those no version holds, then the previous key."""
    current = _key_id(_value(deps, arn, stage=CURRENT))
    previous = _key_id(_value(deps, arn, stage=PREVIOUS))
    keys = [k["AccessKeyId"] for k in _access_keys(deps, config.iam_user_name)]
    for key_id in [k for k in keys if k not in (current, previous)]:
        _delete_key(deps, ctx, key_id, "held by no version of the secret (a failed rotation's)")
        keys.remove(key_id)
    if len(keys) >= MAX_ACCESS_KEYS and previous is not None and previous in keys:
        # IAM allows two keys: a rotation before the grace period ends must retire the previous one.
        _delete_key(deps, ctx, previous, "IAM's two-key limit: the previous key goes before its grace ends")
        keys.remove(previous)
    if len(keys) >= MAX_ACCESS_KEYS:
        raise RotationError(f"IAM user {config.iam_user_name} has {len(keys)} access keys and none is spare")


def retire_keys(deps: RotationDeps, config: RotationConfig, ctx: dict[str, Any], arn: str) -> list[str]:
    """Delete every key except the current one, a pending one, and the previous one in its grace.

    The grace period runs from the creation of the current version. Returns the deleted key ids.
    """
    current = _key_id(_value(deps, arn, stage=CURRENT))
    if current is None:  # nothing works yet: deleting would risk the only key
        return []
    keep = {current}
    pending = _key_id(_value(deps, arn, stage=PENDING))
    if pending is not None:  # a rotation in flight (or done: then it is the current key)
        keep.add(pending)
    previous = _key_id(_value(deps, arn, stage=PREVIOUS))
    # (Zero grace retires it at once: SES-side and local clocks may disagree by a second, and a
    # version created "in the future" must not keep the previous key alive.)
    grace = config.previous_key_grace_seconds
    if previous is not None and grace > 0 and _current_age(deps, arn) < grace:
        keep.add(previous)
    deleted = []
    for key in _access_keys(deps, config.iam_user_name):
        key_id = key["AccessKeyId"]
        if key_id not in keep:
            reason = "grace period over" if key_id == previous else "held by no version of the secret"
            _delete_key(deps, ctx, key_id, reason)
            deleted.append(key_id)
    return deleted


def _current_age(deps: RotationDeps, arn: str) -> float:
    versions = deps.secrets.list_secret_version_ids(SecretId=arn).get("Versions", [])
    for version in versions:
        created = version.get("CreatedDate")
        if CURRENT in version.get("VersionStages", []) and isinstance(created, datetime):
            return deps.clock.now() - created.timestamp()
    return 0.0


# --- the four steps ------------------------------------------------------------------------------


def step_create(deps: RotationDeps, config: RotationConfig, ctx: dict[str, Any], arn: str, token: str) -> str:
    if _value(deps, arn, stage=PENDING, version_id=token) is not None:
        return "pending version exists already"
    _make_room(deps, config, ctx, arn)
    key = deps.iam.create_access_key(UserName=config.iam_user_name)["AccessKey"]
    key_id = key["AccessKeyId"]
    value = {
        "username": key_id,
        "password": smtp_password(key["SecretAccessKey"], config.region),
        "smtp_endpoint": smtp_endpoint(config.region),
        "smtp_port": config.smtp_port,
    }
    try:
        deps.secrets.put_secret_value(
            SecretId=arn, ClientRequestToken=token, SecretString=json.dumps(value), VersionStages=[PENDING]
        )
    except Exception:
        # A key no version holds would only count against the two-key limit.
        _delete_key(deps, ctx, key_id, "its pending version could not be stored")
        raise
    log("smtp_key_created", **ctx, access_key=_short(key_id))
    return "pending version stored"


def step_set(deps: RotationDeps, config: RotationConfig, ctx: dict[str, Any], arn: str, token: str) -> str:
    if not _check_pending(deps, arn, token):
        return "version is current already"
    key_id = _key_id(_value(deps, arn, stage=PENDING, version_id=token))
    keys = {k["AccessKeyId"]: k for k in _access_keys(deps, config.iam_user_name)}
    if key_id is None or key_id not in keys:
        raise RotationError("the pending version's access key does not exist on the IAM user")
    if keys[key_id].get("Status") != "Active":
        deps.iam.update_access_key(UserName=config.iam_user_name, AccessKeyId=key_id, Status="Active")
        log("smtp_key_activated", **ctx, access_key=_short(key_id))
    return "pending access key is active"


def step_test(deps: RotationDeps, config: RotationConfig, ctx: dict[str, Any], arn: str, token: str) -> str:
    if not _check_pending(deps, arn, token):
        return "version is current already"
    if not config.test_login:
        return "SMTP login test switched off (SMTP_TEST_LOGIN=false)"
    value = _value(deps, arn, stage=PENDING, version_id=token) or {}
    target = deps.smtp_target or SmtpTarget(
        host=config.test_host or str(value.get("smtp_endpoint")),
        port=config.test_port or int(value.get("smtp_port", config.smtp_port)),
    )
    attempt = smtp_login_with_retries(
        target,
        str(value.get("username")),
        str(value.get("password")),
        attempts=config.test_attempts,
        wait_seconds=config.test_wait_seconds,
        clock=deps.clock,
        log_context=ctx,
    )
    return f"SMTP AUTH over STARTTLS at {target.host}:{target.port} succeeded (attempt {attempt})"


def step_finish(deps: RotationDeps, config: RotationConfig, ctx: dict[str, Any], arn: str, token: str) -> str:
    stages = _stages(deps, arn)
    if token not in stages:
        raise RotationError(f"version {token} of the secret does not exist")
    current = next((v for v, s in stages.items() if CURRENT in s), None)
    outcome = "version is current already"
    if current != token:
        kwargs = {"SecretId": arn, "VersionStage": CURRENT, "MoveToVersionId": token}
        if current is not None:
            kwargs["RemoveFromVersionId"] = current
        deps.secrets.update_secret_version_stage(**kwargs)
        outcome = "pending version is current"
    retire_keys(deps, config, ctx, arn)
    return outcome


_STEP_FUNCTIONS = {
    "createSecret": step_create,
    "setSecret": step_set,
    "testSecret": step_test,
    "finishSecret": step_finish,
}


def handle(deps: RotationDeps, config: RotationConfig, event: Mapping[str, Any]) -> dict[str, Any]:
    """One rotation step or one sweep; logs the outcome, or the failure, with step and secret ARN."""
    arn = str(event.get("SecretId", ""))
    step = str(event.get("Step") or event.get("action") or "")
    ctx: dict[str, Any] = {"step": step, "secret_arn": arn, "iam_user": config.iam_user_name}
    try:
        if not arn:
            raise RotationError("the event names no SecretId")
        if step == SWEEP:
            outcome = f"retired {len(retire_keys(deps, config, ctx, arn))} key(s)"
        elif step in _STEP_FUNCTIONS:
            token = str(event.get("ClientRequestToken") or "")
            if not token:
                raise RotationError("the event has no ClientRequestToken")
            outcome = _STEP_FUNCTIONS[step](deps, config, ctx, arn, token)
        else:
            raise RotationError(f"unknown step {step!r} (expected one of {', '.join((*STEPS, SWEEP))})")
    except Exception as exc:
        log("smtp_rotation_failed", level="ERROR", **ctx, error=type(exc).__name__, reason=str(exc)[:300])
        raise
    log("smtp_rotation_step", **ctx, outcome=outcome)
    return {"step": step, "outcome": outcome}


_DEPS: RotationDeps | None = None
_CONFIG: RotationConfig | None = None


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: ARG001
    global _DEPS, _CONFIG  # noqa: PLW0603 - one set of clients per container
    if _DEPS is None or _CONFIG is None:
        import boto3

        _DEPS = RotationDeps(secrets=boto3.client("secretsmanager"), iam=boto3.client("iam"))
        _CONFIG = RotationConfig.from_env(os.environ)
    return handle(_DEPS, _CONFIG, event)

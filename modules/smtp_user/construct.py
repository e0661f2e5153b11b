"""``SmtpUser``: an IAM user for SES SMTP whose credentials exist only in Secrets Manager."""

from __future__ import annotations

import json

from cdktn import TerraformOutput
from cdktn_provider_aws.cloudwatch_event_rule import CloudwatchEventRule
from cdktn_provider_aws.cloudwatch_event_target import CloudwatchEventTarget
from cdktn_provider_aws.iam_group import IamGroup
from cdktn_provider_aws.iam_group_policy import IamGroupPolicy
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.iam_user import IamUser
from cdktn_provider_aws.iam_user_group_membership import IamUserGroupMembership
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.kms_replica_key import KmsReplicaKey
from cdktn_provider_aws.lambda_permission import LambdaPermission
from cdktn_provider_aws.secretsmanager_secret import SecretsmanagerSecret, SecretsmanagerSecretReplica
from cdktn_provider_aws.secretsmanager_secret_policy import SecretsmanagerSecretPolicy
from cdktn_provider_aws.secretsmanager_secret_rotation import (
    SecretsmanagerSecretRotation,
    SecretsmanagerSecretRotationRotationRules,
)
from constructs import Construct

from modules.lambda_asset.construct import PythonFunction
from modules.lambda_asset.props import PythonFunctionProps
from modules.shared.checkov import CODE_SIGNING
from modules.smtp_user import policies
from modules.smtp_user.props import SMTP_ROTATION_JOB, SmtpUserProps

SWEEP_SCHEDULE = "rate(1 hour)"  # how soon after its grace period a previous key is deleted
# testSecret tries SMTP AUTH up to 6 times, 10 s apart, 10 s each: the timeout leaves room.
ROTATION_TIMEOUT_SECONDS = 180
USER_CHECKOV_SKIPS = {
    "CKV_AWS_273": "SES SMTP authenticates only with an IAM user's access key (the SigV4-derived "
    "password); SSO and roles cannot produce SMTP credentials. The user has no console access "
    "and its keys exist only in Secrets Manager.",
}
ROTATION_CHECKOV_SKIPS = {
    "CKV_AWS_117": "The rotation calls AWS APIs (IAM, Secrets Manager, KMS) and SES's public SMTP "
    "endpoint; a VPC adds NAT or interface endpoints and protects nothing here.",
    "CKV_AWS_272": CODE_SIGNING,
    "CKV_AWS_116": "Secrets Manager invokes the rotation synchronously and retries a failed rotation "
    "itself; the hourly key sweep is idempotent and the next hour's replaces a failed one.",
}


class SmtpUser(Construct):
    """An SES SMTP user: IAM user and send policy, secret, key, rotation Lambda and schedule.

    Resources (``<p>`` = ``<env>-smtp-<name>``, addresses ``<type>.smtp_<name>``):

    * ``aws_iam_user`` ``<p>`` (path ``/ses-smtp/``, ``force_destroy``: its keys are the
      rotation's) in ``aws_iam_group`` ``<p>``, whose inline policy allows ``ses:SendRawEmail``
      on the identities (and configuration sets), optionally only from ``from_addresses``.
      **No** ``aws_iam_access_key``: Terraform never sees a credential.
    * ``aws_kms_key`` (rotation on; multi-Region when there are replicas, with an
      ``aws_kms_replica_key`` per replica region) and ``alias/<p>``.
    * ``aws_secretsmanager_secret`` ``ses-smtp/<env>/<name>`` (the key; replicas), a resource
      policy for ``readers``, and ``aws_secretsmanager_secret_rotation`` every ``rotation_days``
      with ``rotate_immediately``: the first rotation runs right after creation.
    * the rotation Lambda (job ``smtp_rotation``), allowed to invoke by Secrets Manager for this
      secret only, and an hourly EventBridge rule that retires the previous key after its grace.

    Example::

        user = SmtpUser(stack, "smtp_legacy_crm", SmtpUserProps(
            environment="prod", name="legacy-crm", account_id="111111111111",
            region="eu-central-1", identities=[news_identity], rotation_days=30,
        ))
        user.grant_read(stack, "crm_reads_smtp", role_name="legacy-crm-app")
    """

    def __init__(self, scope: Construct, id_: str, props: SmtpUserProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        self.slug = "smtp_" + props.name.replace("-", "_")
        self.tags = {**props.tags, "smtp_user": props.name}
        self._key()
        self._user()
        self._secret()
        self._rotation()
        self._outputs()

    # --- read-only attributes ---------------------------------------------------------------

    @property
    def secret_arn(self) -> str:
        return self.secret.arn

    @property
    def key_arn(self) -> str:
        return self.key.arn

    @property
    def user_name(self) -> str:
        return self.user.name

    def read_policy_json(self) -> str:
        """IAM policy JSON for a consumer: read the secret (or a replica) and decrypt it."""
        key_arns = [self.key.arn, *(replica.arn for replica in self.replica_keys.values())]
        return policies.read_policy_json(self.props, key_arns)

    def grant_read(self, scope: Construct, id_: str, *, role_name: str) -> IamRolePolicy:
        """Attach :meth:`read_policy_json` to an IAM role (same account) as an inline policy."""
        return IamRolePolicy(
            scope, id_, role=role_name, name=f"read-{self.props.prefix}", policy=self.read_policy_json()
        )

    # --- parts ---------------------------------------------------------------------------------

    def _key(self) -> None:
        props = self.props
        self.key = KmsKey(
            self,
            "key",
            description=f"SES SMTP user {props.name} ({props.environment}): its secret and rotation logs",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            multi_region=bool(props.replica_regions) or None,
            policy=policies.key_policy_json(props, props.region, logs=True),
            tags=self.tags,
        )
        self.key.override_logical_id(self.slug)
        KmsAlias(
            self, "alias", name=f"alias/{props.prefix}", target_key_id=self.key.key_id
        ).override_logical_id(self.slug)
        self.replica_keys: dict[str, KmsReplicaKey] = {}
        for region in props.replica_regions:
            replica = KmsReplicaKey(
                self,
                f"key_{region}",
                region=region,
                primary_key_arn=self.key.arn,
                description=f"SES SMTP user {props.name} ({props.environment}): its secret's replica",
                deletion_window_in_days=30,
                policy=policies.key_policy_json(props, region, logs=False),
                tags=self.tags,
            )
            replica.override_logical_id(f"{self.slug}_{region.replace('-', '_')}")
            self.replica_keys[region] = replica

    def _user(self) -> None:
        props = self.props
        self.user = IamUser(
            self, "user", name=props.prefix, path="/ses-smtp/", force_destroy=True, tags=self.tags
        )
        self.user.override_logical_id(self.slug)
        skips = [{"id": check_id, "comment": reason} for check_id, reason in USER_CHECKOV_SKIPS.items()]
        self.user.add_override("//.checkov", {"skip": skips})
        # Policies on a group, not the user (CKV_AWS_40): the user only holds the membership.
        group = IamGroup(self, "group", name=props.prefix, path="/ses-smtp/")
        group.override_logical_id(self.slug)
        sets: dict[str, None] = {}
        for name in (props.configuration_set, *(i.props.configuration_set_name for i in props.identities)):
            if name:
                sets[name] = None
        self.send_policy = IamGroupPolicy(
            self,
            "send",
            group=group.name,
            name="ses-smtp-send",
            policy=policies.send_policy_json(props, [i.identity_arn for i in props.identities], list(sets)),
        )
        self.send_policy.override_logical_id(self.slug)
        IamUserGroupMembership(
            self, "membership", user=self.user.name, groups=[group.name]
        ).override_logical_id(self.slug)

    def _secret(self) -> None:
        props = self.props
        self.secret = SecretsmanagerSecret(
            self,
            "secret",
            name=props.secret_name,
            description=f"SES SMTP credentials of {props.prefix} (username, password, smtp_endpoint, "
            "smtp_port); rotated by its Lambda, never set by Terraform",
            kms_key_id=self.key.arn,
            recovery_window_in_days=30,
            replica=[
                SecretsmanagerSecretReplica(region=region, kms_key_id=key.arn)
                for region, key in self.replica_keys.items()
            ]
            or None,
            tags=self.tags,
        )
        self.secret.override_logical_id(self.slug)
        if props.readers:
            SecretsmanagerSecretPolicy(
                self,
                "secret_policy",
                secret_arn=self.secret.arn,
                policy=policies.secret_policy_json(props),
                block_public_policy=True,
            ).override_logical_id(self.slug)

    def _rotation(self) -> None:
        props = self.props
        self.function = PythonFunction(
            self,
            "rotation",
            PythonFunctionProps(
                function_name=props.function_name,
                job=SMTP_ROTATION_JOB,
                description=f"Rotates the SES SMTP credentials of {props.prefix} in Secrets Manager",
                kms_key_arn=self.key.arn,
                # One at a time: the hourly sweep never races a rotation step.
                reserved_concurrency=1,
                timeout_seconds=ROTATION_TIMEOUT_SECONDS,
                memory_mb=128,
                log_retention_days=props.log_retention_days,
                policies={
                    "rotation": policies.rotation_policy_json(
                        secret_arn=self.secret.arn,
                        key_arn=self.key.arn,
                        user_arn=self.user.arn,
                        replica_key_arns=[replica.arn for replica in self.replica_keys.values()],
                    )
                },
                checkov_skips=ROTATION_CHECKOV_SKIPS,
                environment={
                    "IAM_USER_NAME": self.user.name,
                    "SMTP_REGION": props.region,
                    "SMTP_TEST_LOGIN": "true" if props.test_smtp_login else "false",
                    "PREVIOUS_KEY_GRACE_HOURS": str(props.previous_key_grace_hours),
                },
                tags=self.tags,
            ),
            logical_id=f"{self.slug}_rotation",
        )
        invoke = LambdaPermission(
            self,
            "invoke_by_secretsmanager",
            action="lambda:InvokeFunction",
            function_name=self.function.function_name,
            principal="secretsmanager.amazonaws.com",
            source_arn=self.secret.arn,
        )
        invoke.override_logical_id(f"{self.slug}_secretsmanager")
        self.rotation = SecretsmanagerSecretRotation(
            self,
            "schedule",
            secret_id=self.secret.id,
            rotation_lambda_arn=self.function.function_arn,
            rotation_rules=SecretsmanagerSecretRotationRotationRules(
                automatically_after_days=props.rotation_days
            ),
            # The secret is empty until the first rotation: run it now, not in rotation_days.
            rotate_immediately=True,
            depends_on=[invoke, *self.function.policies.values()],
        )
        self.rotation.override_logical_id(self.slug)
        self._sweep()

    def _sweep(self) -> None:
        props = self.props
        rule = CloudwatchEventRule(
            self,
            "sweep",
            name=f"{props.prefix}-key-sweep",
            description=f"Retires {props.prefix}'s previous access key once its grace period is over",
            schedule_expression=SWEEP_SCHEDULE,
            tags=self.tags,
        )
        rule.override_logical_id(f"{self.slug}_sweep")
        CloudwatchEventTarget(
            self,
            "sweep_target",
            rule=rule.name,
            arn=self.function.function_arn,
            input=json.dumps({"action": "retire_expired_keys", "SecretId": self.secret.arn}),
        ).override_logical_id(f"{self.slug}_sweep")
        LambdaPermission(
            self,
            "invoke_by_sweep",
            action="lambda:InvokeFunction",
            function_name=self.function.function_name,
            principal="events.amazonaws.com",
            source_arn=rule.arn,
        ).override_logical_id(f"{self.slug}_sweep")

    def _outputs(self) -> None:
        props = self.props
        TerraformOutput(
            self,
            "secret_arn_output",
            value=self.secret.arn,
            description=f"Secrets Manager secret with SMTP user {props.name}'s credentials "
            "(JSON: username, password, smtp_endpoint, smtp_port); read it, never copy it",
        ).override_logical_id(f"{self.slug}_secret_arn")
        TerraformOutput(
            self,
            "user_name_output",
            value=self.user.name,
            description=f"IAM user behind SMTP user {props.name}; its access keys exist only in the secret",
        ).override_logical_id(f"{self.slug}_iam_user_name")

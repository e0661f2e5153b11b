"""``LambdaAsset`` (a job's zip in a stack) and ``PythonFunction`` (a Lambda running it)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cdktn import App, AssetType, TerraformAsset, TerraformStack
from cdktn_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktn_provider_aws.iam_role import IamRole
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.lambda_function import (
    LambdaFunction,
    LambdaFunctionDeadLetterConfig,
    LambdaFunctionEnvironment,
    LambdaFunctionTracingConfig,
)
from constructs import Construct

from modules.lambda_asset.package import REPO_ROOT, LambdaPackage, package_job
from modules.lambda_asset.props import PythonFunctionProps
from modules.naming import stack_region, with_region

BUILD_DIR = "lambda-packages"  # under the app's output folder, which every synth replaces
ASSUME_ROLE_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "LambdaService",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)


class LambdaAsset(Construct):
    """``functions/<job>`` as a reproducible zip in one stack's assets.

    The zip is built in Python (see :mod:`modules.lambda_asset.package`), written once into the
    app's output folder and copied by ``TerraformAsset`` into ``stacks/<stack>/assets/``; the
    function refers to it by a relative path, so the stack folder can move. Use :meth:`of` to
    share one asset among every function of a stack running the same job.
    """

    def __init__(self, scope: Construct, id_: str, *, job: str, source_root: Path = REPO_ROOT) -> None:
        super().__init__(scope, id_)
        self.package: LambdaPackage = package_job(job, source_root=source_root)
        # Content-addressed, so two sources of one job in one app cannot overwrite each other.
        digest = self.package.source_code_hash.replace("/", "_").replace("+", "-").rstrip("=")
        path = Path(App.of(self).outdir).resolve() / BUILD_DIR / digest / self.package.file_name
        if not path.is_file() or path.read_bytes() != self.package.zip_bytes:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.package.zip_bytes)
        self.asset = TerraformAsset(self, "zip", path=str(path), type=AssetType.FILE)

    @classmethod
    def of(cls, scope: Construct, job: str, *, source_root: Path = REPO_ROOT) -> LambdaAsset:
        """The stack's asset for ``job``, created on first use."""
        stack = TerraformStack.of(scope)
        id_ = f"lambda_{job}"
        existing = stack.node.try_find_child(id_)
        if isinstance(existing, LambdaAsset):
            return existing
        return cls(stack, id_, job=job, source_root=source_root)

    @property
    def path(self) -> str:
        """The zip's path relative to the stack folder (where terraform runs)."""
        return self.asset.path

    @property
    def source_code_hash(self) -> str:
        return self.package.source_code_hash

    @property
    def handler(self) -> str:
        return self.package.handler


class PythonFunction(Construct):
    """A Lambda function running ``functions/<job>``, with its own role, log group and policies.

    Creates ``aws_iam_role`` ``<name>-<region>`` (trusting lambda.amazonaws.com only; IAM names
    are account-wide, so the role carries the stack's region), one ``aws_iam_role_policy``
    per entry of ``props.policies`` plus ``runtime`` (write its own log group, X-Ray segments,
    decrypt its environment), ``aws_cloudwatch_log_group`` ``/aws/lambda/<name>`` (KMS, retention)
    and ``aws_lambda_function`` (arm64, X-Ray active, reserved concurrency, environment encrypted
    with ``props.kms_key_arn``). Terraform addresses are ``<type>.<logical_id>``; the logical id
    defaults to the function name with ``-`` as ``_``.

    Example::

        fn = PythonFunction(stack, "sender", PythonFunctionProps(
            function_name="prod-at-de-sender", job="sender", kms_key_arn=key.arn,
            reserved_concurrency=10, policies={"queues": queue_policy_json},
            environment={"SLICE_NAME": "at-de"},
        ))
    """

    def __init__(
        self, scope: Construct, id_: str, props: PythonFunctionProps, *, logical_id: str | None = None
    ) -> None:
        super().__init__(scope, id_)
        self.props = props
        name = props.function_name
        slug = logical_id or re.sub(r"[^A-Za-z0-9_]", "_", name)
        tags = dict(props.tags) or None
        self.asset = LambdaAsset.of(self, props.job, source_root=props.source_root)
        self.log_group = CloudwatchLogGroup(
            self,
            "logs",
            name=f"/aws/lambda/{name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.kms_key_arn,
            tags=tags,
        )
        self.log_group.override_logical_id(slug)
        # IAM names are account-wide; the function's name is unique only in its region.
        self.role = IamRole(
            self,
            "role",
            name=props.role_name or with_region(name, stack_region(self)),
            assume_role_policy=ASSUME_ROLE_POLICY,
            description=f"Execution role of the Lambda function {name}",
            tags=tags,
        )
        self.role.override_logical_id(slug)
        documents = {"runtime": self.runtime_policy_json(), **props.policies}
        self.policies: dict[str, IamRolePolicy] = {}  # inline policy name → resource
        for policy_name, document in documents.items():
            policy = IamRolePolicy(
                self, f"policy_{policy_name}", role=self.role.name, name=policy_name, policy=document
            )
            policy.override_logical_id(f"{slug}_{re.sub(r'[^A-Za-z0-9_]', '_', policy_name)}")
            self.policies[policy_name] = policy
        self.function = LambdaFunction(
            self,
            "this",
            function_name=name,
            description=props.description,
            role=self.role.arn,
            handler=self.asset.handler,
            runtime=props.runtime,
            architectures=[props.architecture],
            filename=self.asset.path,
            source_code_hash=self.asset.source_code_hash,
            memory_size=props.memory_mb,
            timeout=props.timeout_seconds,
            reserved_concurrent_executions=props.reserved_concurrency,
            kms_key_arn=props.kms_key_arn,
            environment=LambdaFunctionEnvironment(variables=dict(props.environment))
            if props.environment
            else None,
            tracing_config=LambdaFunctionTracingConfig(mode="Active"),
            dead_letter_config=LambdaFunctionDeadLetterConfig(target_arn=props.dead_letter_target_arn)
            if props.dead_letter_target_arn
            else None,
            # Lambda would create the log group itself (no KMS, no retention) if it ran first;
            # and it must not run before its role may write logs and read its key.
            depends_on=[self.log_group, *self.policies.values()],
            tags=tags,
        )
        self.function.override_logical_id(slug)
        if props.checkov_skips:
            # checkov's terraform_json runner reads no inline skip; modules/platform/scan.py applies these.
            skips = [{"id": check_id, "comment": reason} for check_id, reason in props.checkov_skips.items()]
            self.function.add_override("//.checkov", {"skip": skips})

    @property
    def function_name(self) -> str:
        return self.function.function_name

    @property
    def function_arn(self) -> str:
        return self.function.arn

    @property
    def role_name(self) -> str:
        return self.role.name

    @property
    def role_arn(self) -> str:
        return self.role.arn

    def runtime_policy_json(self) -> str:
        """What every function needs: its own log streams, X-Ray, and its environment's key."""
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "WriteOwnLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": f"{self.log_group.arn}:*",
                    },
                    {
                        # X-Ray has no resource-level permissions: "*" is the only resource.
                        "Sid": "XRayTraces",
                        "Effect": "Allow",
                        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                        "Resource": "*",
                    },
                    {
                        "Sid": "DecryptEnvironment",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt"],
                        "Resource": self.props.kms_key_arn,
                    },
                ],
            }
        )

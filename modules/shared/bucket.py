"""``SecureBucket``: an S3 bucket the way the platform keeps data — shared by the bounce reports
and the shadow-copy archive.

Resources (addresses ``<type>.<slug>``): ``aws_s3_bucket`` (force_destroy off),
``aws_s3_bucket_ownership_controls`` (BucketOwnerEnforced: no ACLs),
``aws_s3_bucket_public_access_block`` (all four on), ``aws_s3_bucket_versioning`` (Enabled),
``aws_s3_bucket_server_side_encryption_configuration`` (aws:kms with the given CMK, bucket key on),
``aws_s3_bucket_lifecycle_configuration`` (current objects expire after ``expire_days``, old
versions ``noncurrent_days`` later, incomplete uploads after 7 days) and ``aws_s3_bucket_policy``
(TLS only, plus the caller's statements).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from cdktn_provider_aws.s3_bucket import S3Bucket
from cdktn_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
)
from cdktn_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktn_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktn_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktn_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktn_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct


class SecureBucket(Construct):
    """A private, versioned, KMS-encrypted, TLS-only bucket whose objects expire."""

    def __init__(
        self, scope: Construct, id_: str, *, name: str, slug: str, key_arn: str, expire_days: int,
        noncurrent_days: int = 30, statements: Sequence[Mapping[str, Any]] = (),
        checkov_skips: Mapping[str, str] | None = None, tags: Mapping[str, str] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(scope, id_)
        self.bucket = S3Bucket(self, "this", bucket=name, force_destroy=False, tags=dict(tags or {}) or None)
        self.bucket.override_logical_id(slug)
        if checkov_skips:  # checkov's terraform_json runner reads no inline skip; scan.py applies these
            skips = [{"id": check_id, "comment": reason} for check_id, reason in checkov_skips.items()]
            self.bucket.add_override("//.checkov", {"skip": skips})
        bucket_id = self.bucket.id
        S3BucketOwnershipControls(
            self, "ownership", bucket=bucket_id,
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        ).override_logical_id(slug)  # fmt: skip
        S3BucketPublicAccessBlock(
            self, "public_access", bucket=bucket_id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        ).override_logical_id(slug)  # fmt: skip
        S3BucketVersioningA(
            self, "versioning", bucket=bucket_id,
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        ).override_logical_id(slug)  # fmt: skip
        S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=bucket_id,
            rule=[S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=(
                    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                        sse_algorithm="aws:kms", kms_master_key_id=key_arn)),
                bucket_key_enabled=True,
            )],
        ).override_logical_id(slug)  # fmt: skip
        S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=bucket_id,
            rule=[S3BucketLifecycleConfigurationRule(
                id="expire", status="Enabled", filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=expire_days)],
                noncurrent_version_expiration=[
                    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=noncurrent_days)],
                abort_incomplete_multipart_upload=[
                    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)],
            )],
        ).override_logical_id(slug)  # fmt: skip
        deny_plain_http = {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
        self.policy = S3BucketPolicy(
            self, "policy", bucket=bucket_id,
            policy=json.dumps({"Version": "2012-10-17", "Statement": [deny_plain_http, *statements]}),
        )  # fmt: skip
        self.policy.override_logical_id(slug)

    @property
    def name(self) -> str:
        return self.bucket.bucket

    @property
    def arn(self) -> str:
        return self.bucket.arn

"""``ShadowArchive``: a receipt rule set storing each slice's BCC copy in an encrypted bucket."""

from __future__ import annotations

import json
import re

from cdktn import TerraformOutput
from cdktn_provider_aws.kms_alias import KmsAlias
from cdktn_provider_aws.kms_key import KmsKey
from cdktn_provider_aws.route53_record import Route53Record
from cdktn_provider_aws.ses_active_receipt_rule_set import SesActiveReceiptRuleSet
from cdktn_provider_aws.ses_receipt_rule import SesReceiptRule, SesReceiptRuleS3Action
from cdktn_provider_aws.ses_receipt_rule_set import SesReceiptRuleSet
from constructs import Construct

from modules.shadow_archive.props import ShadowArchiveProps
from modules.shared.bucket import SecureBucket
from modules.shared.kms import account_administers_key
from modules.shared.validation import partition

BUCKET_CHECKOV_SKIPS = {
    "CKV_AWS_18": "Only SES writes here (bucket policy); server access logs would need a second "
    "bucket. CloudTrail records who reads copies; enable S3 data events for a per-object trail.",
    "CKV_AWS_144": "Copies of mail already delivered to its recipients; replicate with your own "
    "rule if your retention policy asks for a second region.",
    "CKV2_AWS_62": "Nothing processes copies as they arrive; they are kept for later lookup.",
}


class ShadowArchive(Construct):
    """Receipt rule set ``<env>-ses-archive``, a rule per slice, bucket, key and MX records.

    Resources: ``aws_kms_key.archive`` (rotation; SES may use it for this account's rule set
    only), the bucket ``<env>-ses-archive-<account>-<region>`` (:class:`SecureBucket`; only SES,
    for this account and rule set, may put objects), ``aws_ses_receipt_rule_set.archive``, one
    ``aws_ses_receipt_rule.archive_<slice>`` (recipient = the address, TLS required, spam and
    virus scan, S3 action to ``<slice>/`` encrypted with the key), ``aws_ses_active_receipt_rule_set``
    when ``activate_receipt_rule_set``, and an MX ``10 inbound-smtp.<region>.amazonaws.com`` per
    archive domain in Route 53 (output ``archive_mx_records`` lists them for external DNS).

    Example::

        ShadowArchive(stack, "archive", ShadowArchiveProps(
            environment="prod", account_id="111111111111", region="eu-central-1",
            rules=[ArchiveRule(slice="at-de", address="archive@archive.example.at",
                               hosted_zone_id="Z0123456789ABCDEFGHIJ")],
            activate_receipt_rule_set=True))
    """

    def __init__(self, scope: Construct, id_: str, props: ShadowArchiveProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        tags = {**props.tags, "component": "shadow-archive"}
        arn = f"arn:{partition(props.region)}"
        rule_set_arn = f"{arn}:ses:{props.region}:{props.account_id}:receipt-rule-set/{props.rule_set_name}"
        rules_arn = f"{rule_set_arn}:receipt-rule/*"
        from_ses = {
            "StringEquals": {"aws:SourceAccount": props.account_id},
            "ArnLike": {"aws:SourceArn": rules_arn},
        }
        self.key = KmsKey(
            self, "key", description=f"SES platform {props.environment}: shadow-copy archive",
            enable_key_rotation=True, deletion_window_in_days=30, tags=tags,
            policy=json.dumps({"Version": "2012-10-17", "Statement": [
                account_administers_key(partition(props.region), props.account_id),
                {  # SES encrypts each copy (S3 action kms_key_arn) for this account's rule set only.
                 "Sid": "SesEncryptsCopiesOfThisRuleSet", "Effect": "Allow",
                 "Principal": {"Service": "ses.amazonaws.com"},
                 "Action": ["kms:GenerateDataKey*", "kms:Encrypt"], "Resource": "*", "Condition": from_ses},
            ]}),
        )  # fmt: skip
        self.key.override_logical_id("archive")
        KmsAlias(
            self, "alias", name=f"alias/{props.environment}-ses-archive", target_key_id=self.key.key_id
        ).override_logical_id("archive")
        self.bucket = SecureBucket(
            self, "bucket", name=props.bucket_name, slug="archive", key_arn=self.key.arn,
            expire_days=props.retention_days, checkov_skips=BUCKET_CHECKOV_SKIPS, tags=tags,
            statements=[{
                "Sid": "SesPutsCopiesOfThisRuleSet", "Effect": "Allow",
                "Principal": {"Service": "ses.amazonaws.com"}, "Action": "s3:PutObject",
                "Resource": f"{arn}:s3:::{props.bucket_name}/*", "Condition": from_ses,
            }],
        )  # fmt: skip
        self.rule_set = SesReceiptRuleSet(self, "rule_set", rule_set_name=props.rule_set_name)
        self.rule_set.override_logical_id("archive")
        self.rules = []
        for rule in props.rules:
            slug = "archive_" + re.sub(r"[^a-z0-9]+", "_", rule.slice)
            created = SesReceiptRule(
                self, f"rule_{slug}", name=f"archive-{rule.slice}", rule_set_name=self.rule_set.rule_set_name,
                recipients=[rule.address], enabled=True, scan_enabled=True, tls_policy="Require",
                s3_action=[SesReceiptRuleS3Action(
                    bucket_name=self.bucket.name, object_key_prefix=f"{rule.slice}/",
                    kms_key_arn=self.key.arn, position=1)],
                # SES checks it may write to the bucket when the rule is created.
                depends_on=[self.bucket.policy, self.key],
            )  # fmt: skip
            created.override_logical_id(slug)
            self.rules.append(created)
        if props.activate_receipt_rule_set:
            SesActiveReceiptRuleSet(
                self, "active", rule_set_name=self.rule_set.rule_set_name, depends_on=self.rules
            ).override_logical_id("archive")
        mx = f"10 {props.inbound_endpoint}"
        zones = {r.domain: r.hosted_zone_id for r in props.rules}
        for domain, zone in sorted(zones.items()):
            if zone is not None:
                Route53Record(
                    self, f"mx_{domain}", zone_id=zone, name=domain, type="MX", ttl=props.dns_ttl_seconds,
                    records=[mx],
                ).override_logical_id("archive_mx_" + re.sub(r"[^a-z0-9]+", "_", domain))  # fmt: skip
        mx_lines = "\n".join(f"{d}. {props.dns_ttl_seconds} IN MX {mx}." for d in sorted(zones))
        outputs = (
            ("archive_bucket_name", self.bucket.name, "S3 bucket of the slices' shadow copies "
             "(<slice>/<id>), encrypted by SES with the archive key: read them with an S3 encryption client"),
            ("archive_receipt_rule_set_name", self.rule_set.rule_set_name, "SES receipt rule set storing the "
             "shadow copies" + ("" if props.activate_receipt_rule_set else " (NOT active: set "
                                "activate_receipt_rule_set = true, or activate it yourself)")),
            ("archive_mx_records", mx_lines,
             "MX records of the archive domains (created in Route 53 where the domain has a zone)"),
        )  # fmt: skip
        for name, value, description in outputs:
            TerraformOutput(self, name, value=value, description=description).override_logical_id(name)

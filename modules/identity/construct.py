"""``DomainIdentity``: an SES domain identity in one region, with its DKIM, MAIL FROM and DNS."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdktn import Fn, TerraformOutput
from cdktn_provider_aws.data_aws_secretsmanager_secret_version import (
    DataAwsSecretsmanagerSecretVersion,
)
from cdktn_provider_aws.iam_role_policy import IamRolePolicy
from cdktn_provider_aws.route53_record import Route53Record
from cdktn_provider_aws.sesv2_email_identity import (
    Sesv2EmailIdentity,
    Sesv2EmailIdentityDkimSigningAttributes,
)
from cdktn_provider_aws.sesv2_email_identity_mail_from_attributes import (
    Sesv2EmailIdentityMailFromAttributes,
)
from constructs import Construct

from modules.identity.props import Dkim, Dmarc, DnsRecord, MailFrom
from modules.shared.validation import check_account_id, check_range, partition, validate_domain_name

SPF_VALUE = "v=spf1 include:amazonses.com ~all"
_TXT_CHUNK = 255  # one character-string in a TXT record holds at most 255 bytes


@dataclass(frozen=True, kw_only=True)
class DomainIdentityProps:
    """Inputs of :class:`DomainIdentity`.

    Attributes:
        domain: the domain to verify, a lower-case FQDN, e.g. ``news.example.com``.
        region: the SES region of this identity (the stack's provider region; the MAIL FROM MX host's).
        account_id: the AWS account id, for ARNs in IAM policies.
        home_region: the domain's first region: it publishes DMARC, a BYODKIM TXT and the
            plain ``<subdomain>.<domain>`` MAIL FROM. Default - ``region``.
        dkim: ``Dkim.easy()`` or ``Dkim.byo(...)``. Default - Easy DKIM, RSA_2048_BIT.
        mail_from: custom MAIL FROM; ``None`` keeps amazonses.com. Default - ``bounce``.
        dmarc: the DMARC record. Default - ``p=none`` (monitoring).
        hosted_zone_id: Route 53 zone to write the records into. Default - none: the
            records become the ``dns_zone_file`` output for whoever runs the DNS.
        configuration_set_name: default configuration set of the identity. Default - none.
        dns_ttl_seconds: TTL of every record, 60-86400. Default 600.
        tags: tags of the identity, merged over the provider's default tags. Default - none.
    """

    domain: str
    region: str
    account_id: str
    home_region: str | None = None
    dkim: Dkim = field(default_factory=Dkim.easy)
    mail_from: MailFrom | None = field(default_factory=MailFrom)
    dmarc: Dmarc = field(default_factory=Dmarc)
    hosted_zone_id: str | None = None
    configuration_set_name: str | None = None
    dns_ttl_seconds: int = 600
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_domain_name(self.domain)
        check_account_id(self.account_id)
        check_range("dns_ttl_seconds", self.dns_ttl_seconds, 60, 86400)

    @property
    def is_home_region(self) -> bool:
        return self.home_region in (None, self.region)


class DomainIdentity(Construct):
    """An ``aws_sesv2_email_identity`` for a domain and the DNS records that verify it.

    DKIM verification must succeed within 72 hours of creating the identity, or SES marks it
    failed. That is why the identity and its Route 53 records are created in the same apply.
    With external DNS, publish the ``dns_zone_file`` output within that window.

    Example::

        identity = DomainIdentity(stack, "news", DomainIdentityProps(
            domain="news.example.com", region="eu-central-1", account_id="111111111111",
            hosted_zone_id="Z0123456789ABCDEFGHIJ",
            dmarc=Dmarc(policy="quarantine", rua=("mailto:dmarc@example.com",)),
        ))
        identity.grant_send(stack, "app-send", role_name="orders-api",
                            from_addresses=("orders@news.example.com",))
    """

    def __init__(self, scope: Construct, id_: str, props: DomainIdentityProps) -> None:
        super().__init__(scope, id_)
        self.props = props
        # Readable addresses in plans: aws_sesv2_email_identity.news_example_com, not a hash.
        self.slug = re.sub(r"[^a-z0-9]+", "_", props.domain)
        self.this = Sesv2EmailIdentity(
            self,
            "this",
            email_identity=props.domain,
            configuration_set_name=props.configuration_set_name,
            dkim_signing_attributes=self._dkim_attributes(),
            tags=dict(props.tags) or None,
        )
        self.this.override_logical_id(self.slug)
        self.mail_from_domain: str | None = None
        if props.mail_from is not None:
            self.mail_from_domain = props.mail_from.domain_for(
                props.domain, props.region, props.home_region or props.region
            )
            Sesv2EmailIdentityMailFromAttributes(
                self,
                "mail_from",
                email_identity=self.this.email_identity,
                mail_from_domain=self.mail_from_domain,
                behavior_on_mx_failure=props.mail_from.behavior_on_mx_failure,
            ).override_logical_id(self.slug)
        self.dns_records: tuple[DnsRecord, ...] = tuple(self._records())
        if props.hosted_zone_id is not None:
            for record in self.dns_records:
                Route53Record(
                    self,
                    record.purpose,
                    zone_id=props.hosted_zone_id,
                    name=record.name,
                    type=record.type,
                    ttl=props.dns_ttl_seconds,
                    records=[_route53_value(record)],
                ).override_logical_id(f"{self.slug}_{record.purpose}")
        self._outputs()

    @property
    def identity_arn(self) -> str:
        return self.this.arn

    @property
    def dns_zone_file(self) -> str:
        """The records in zone-file form (may contain Terraform expressions)."""
        ttl = self.props.dns_ttl_seconds
        return "\n".join(f"{r.name}. {ttl} IN {r.type} {_zone_value(r)}" for r in self.dns_records)

    def _dkim_attributes(self) -> Sesv2EmailIdentityDkimSigningAttributes:
        dkim = self.props.dkim
        if dkim.mode == "easy":
            return Sesv2EmailIdentityDkimSigningAttributes(next_signing_key_length=dkim.signing_key_length)
        key = DataAwsSecretsmanagerSecretVersion(self, "byodkim_key", secret_id=dkim.private_key_secret or "")
        key.override_logical_id(f"{self.slug}_byodkim_key")
        return Sesv2EmailIdentityDkimSigningAttributes(
            domain_signing_selector=dkim.selector, domain_signing_private_key=key.secret_string
        )

    def _records(self) -> list[DnsRecord]:
        props, domain = self.props, self.props.domain
        records: list[DnsRecord] = []
        if props.dkim.mode == "easy":
            # Easy DKIM tokens differ per region: every region publishes its own three.
            tokens = self.this.dkim_signing_attributes.tokens
            for i in range(3):
                token = Fn.element(tokens, i)
                records.append(
                    DnsRecord(
                        name=f"{token}._domainkey.{domain}",
                        type="CNAME",
                        value=f"{token}.dkim.amazonses.com",
                        purpose=f"dkim{i + 1}",
                    )
                )
        elif props.dkim.public_key and props.is_home_region:
            records.append(
                DnsRecord(
                    name=f"{props.dkim.selector}._domainkey.{domain}",
                    type="TXT",
                    value=f"v=DKIM1; k=rsa; p={props.dkim.public_key}",
                    purpose="byodkim",
                )
            )
        if self.mail_from_domain is not None:
            records.append(
                DnsRecord(
                    name=self.mail_from_domain,
                    type="MX",
                    value=f"10 feedback-smtp.{props.region}.amazonses.com",
                    purpose="mail_from_mx",
                )
            )
            records.append(
                DnsRecord(name=self.mail_from_domain, type="TXT", value=SPF_VALUE, purpose="mail_from_spf")
            )
        if props.is_home_region:
            # One DMARC record per domain, whatever the number of regions.
            records.append(
                DnsRecord(
                    name=f"_dmarc.{domain}", type="TXT", value=props.dmarc.record_value(), purpose="dmarc"
                )
            )
        return records

    def _outputs(self) -> None:
        slug = self.slug
        TerraformOutput(
            self,
            "identity_arn",
            value=self.this.arn,
            description=f"ARN of the SES domain identity {self.props.domain} in {self.props.region}",
        ).override_logical_id(f"{slug}_email_identity_arn")
        TerraformOutput(
            self,
            "records",
            value=[{"name": r.name, "type": r.type, "value": r.value} for r in self.dns_records],
            description=f"DNS records {self.props.domain} needs in {self.props.region}",
        ).override_logical_id(f"{slug}_dns_records")
        if self.props.hosted_zone_id is None:
            TerraformOutput(
                self,
                "zone_file",
                value=self.dns_zone_file,
                description=f"Zone-file lines for {self.props.domain} to paste into external DNS "
                "within 72 hours of the apply (DKIM verification window)",
            ).override_logical_id(f"{slug}_dns_zone_file")

    def send_policy_json(
        self,
        *,
        from_addresses: Sequence[str] = (),
        configuration_set_names: Sequence[str] = (),
    ) -> str:
        """IAM policy JSON allowing ``ses:SendEmail``/``ses:SendRawEmail`` as this identity only.

        ``from_addresses`` (wildcards allowed, e.g. ``*@news.example.com``) adds an
        ``ses:FromAddress`` condition. Sending with a configuration set also needs the set's
        ARN, so name every set the sender uses.
        """
        resources = [self.this.arn] + [self.configuration_set_arn(name) for name in configuration_set_names]
        statement: dict[str, object] = {
            "Sid": "SendAsIdentity",
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": resources,
        }
        if from_addresses:
            for address in from_addresses:
                if not address.lower().endswith(f"@{self.props.domain}"):
                    raise ValueError(
                        f"from address {address!r} is not on the identity domain {self.props.domain}"
                    )
            statement["Condition"] = {"StringLike": {"ses:FromAddress": list(from_addresses)}}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    def configuration_set_arn(self, name: str) -> str:
        props = self.props
        return f"arn:{partition(props.region)}:ses:{props.region}:{props.account_id}:configuration-set/{name}"

    def grant_send(
        self,
        scope: Construct,
        id_: str,
        *,
        role_name: str,
        from_addresses: Sequence[str] = (),
        configuration_set_names: Sequence[str] = (),
    ) -> IamRolePolicy:
        """Attach :meth:`send_policy_json` to an IAM role as an inline policy."""
        return IamRolePolicy(
            scope,
            id_,
            role=role_name,
            name=f"ses-send-{self.props.domain}",
            policy=self.send_policy_json(
                from_addresses=from_addresses, configuration_set_names=configuration_set_names
            ),
        )


def _chunks(value: str) -> list[str]:
    return [value[i : i + _TXT_CHUNK] for i in range(0, len(value), _TXT_CHUNK)] or [""]


def _route53_value(record: DnsRecord) -> str:
    if record.type != "TXT":
        return record.value
    # Route 53 takes a long TXT value as several quoted strings; the provider adds the outer quotes.
    return '""'.join(_chunks(record.value))


def _zone_value(record: DnsRecord) -> str:
    if record.type == "TXT":
        return " ".join(f'"{part}"' for part in _chunks(record.value))
    return f"{record.value}."  # CNAME target or "10 host" of an MX: fully qualified

"""Value types for a domain identity: DKIM, MAIL FROM, DMARC and the DNS records they need.

Pure Python (no cdktn import) so the config layer can build and validate them quickly.
Every constructor raises ``ValueError`` with a message that says what was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from modules.shared.validation import DNS_LABEL as _LABEL
from modules.shared.validation import MAX_DNS_LABEL as _MAX_LABEL
from modules.shared.validation import MAX_DNS_NAME as _MAX_NAME

DKIM_KEY_LENGTHS = ("RSA_1024_BIT", "RSA_2048_BIT")
MX_FAILURE_BEHAVIOURS = ("USE_DEFAULT_VALUE", "REJECT_MESSAGE")
DMARC_POLICIES = ("none", "quarantine", "reject")
DMARC_ALIGNMENTS = ("r", "s")

_SUBDOMAIN_RE = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_SELECTOR_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_MAILTO_RE = re.compile(r"^mailto:[^@\s,;!]+@[a-z0-9.-]+\.[a-z]{2,63}(?:![0-9]+[kmgt]?)?$")


def check_dns_name(name: str, what: str) -> None:
    """Raise ``ValueError`` if ``name`` (a record name this module derives) is too long for DNS."""
    long_label = next((label for label in name.split(".") if len(label) > _MAX_LABEL), None)
    if long_label is not None:
        raise ValueError(
            f"{what} {name!r} has a label of {len(long_label)} characters; DNS allows {_MAX_LABEL}"
        )
    if len(name) > _MAX_NAME:
        raise ValueError(f"{what} has {len(name)} characters ({name[:40]}…); DNS allows {_MAX_NAME}")


def mail_from_problem(subdomain: str, domain: str) -> str | None:  # noqa: PLR0911 - one per mistake
    """What is wrong with ``subdomain`` as the MAIL FROM part in front of ``domain``, or ``None``.

    The value is only the part before the domain (``bounce`` → ``bounce.news.example.at``):
    empty, the domain itself or a full domain name would give wrong DNS records (such as
    ``news.example.at.news.example.at``), so each gets a message saying what to write.
    """
    if subdomain == "":
        return (
            'is empty; write the part in front of the domain, e.g. "bounce" (MAIL FROM '
            f"bounce.{domain}), or leave subdomain out for that default"
        )
    stripped = subdomain.rstrip(".")
    if stripped == domain:
        return (
            f"is the domain itself; MAIL FROM must be a subdomain of {domain}: write only the part "
            f'in front of it, e.g. "bounce" (MAIL FROM bounce.{domain})'
        )
    if stripped.endswith("." + domain):
        part = stripped[: -len(domain) - 1]
        return f'is a full domain name; write only the part in front of {domain}: "{part}"'
    labels = stripped.split(".")
    if len(labels) > 1 and labels[-1] == domain.rsplit(".", 1)[-1]:
        return (
            f"looks like a full domain name (it ends in .{labels[-1]}); MAIL FROM must be a subdomain "
            f'of {domain}: write only the part in front of it, e.g. "{labels[0]}" '
            f"(MAIL FROM {labels[0]}.{domain})"
        )
    if subdomain.endswith("."):
        return f'ends with a dot; write "{stripped}"'
    if not _SUBDOMAIN_RE.match(subdomain):
        return (
            "must be one or more DNS labels (lower-case letters, digits, inner hyphens) such as "
            f"'bounce', got {subdomain!r}"
        )
    return None


@dataclass(frozen=True, kw_only=True)
class Dkim:
    """How SES signs mail for the domain. Build with :meth:`easy` or :meth:`byo`.

    Attributes:
        signing_key_length: Easy DKIM key length. Default ``RSA_2048_BIT``.
        selector: BYODKIM selector; ``None`` for Easy DKIM.
        private_key_secret: BYODKIM only: Secrets Manager secret id (name or ARN) whose
            current value is the base64 PEM private key.
        public_key: BYODKIM only, optional: base64 public key to publish as the
            ``<selector>._domainkey`` TXT record. Default - you publish it yourself.
    """

    signing_key_length: str = "RSA_2048_BIT"
    selector: str | None = None
    private_key_secret: str | None = None
    public_key: str | None = None

    def __post_init__(self) -> None:
        if self.signing_key_length not in DKIM_KEY_LENGTHS:
            raise ValueError(
                f"signing_key_length must be one of {', '.join(DKIM_KEY_LENGTHS)}, "
                f"got {self.signing_key_length!r}"
            )
        if self.selector is not None and not _SELECTOR_RE.match(self.selector):
            raise ValueError(f"selector must be a DNS label, got {self.selector!r}")
        if (self.selector is None) != (self.private_key_secret is None):
            raise ValueError("BYODKIM needs both selector and private_key_secret")
        if self.public_key is not None and self.selector is None:
            raise ValueError("public_key is only used with BYODKIM (selector + private_key_secret)")
        if self.public_key is not None and not re.fullmatch(r"[A-Za-z0-9+/=]+", self.public_key):
            raise ValueError("public_key must be the base64 key without PEM header lines")

    @property
    def mode(self) -> Literal["easy", "byo"]:
        return "easy" if self.selector is None else "byo"

    @classmethod
    def easy(cls, signing_key_length: str = "RSA_2048_BIT") -> Dkim:
        """Easy DKIM: SES generates and rotates the key; three CNAMEs per region."""
        return cls(signing_key_length=signing_key_length)

    @classmethod
    def byo(cls, *, selector: str, private_key_secret: str, public_key: str | None = None) -> Dkim:
        """Bring your own DKIM key, read from a Secrets Manager secret at apply time."""
        return cls(selector=selector, private_key_secret=private_key_secret, public_key=public_key)


@dataclass(frozen=True, kw_only=True)
class MailFrom:
    """Custom MAIL FROM (envelope sender) domain: ``<subdomain>.<domain>``.

    Attributes:
        subdomain: label(s) in front of the identity domain. Default ``bounce``.
        behavior_on_mx_failure: what SES does while the MX record is missing.
            Default ``USE_DEFAULT_VALUE`` (fall back to amazonses.com, mail still flows).
    """

    subdomain: str = "bounce"
    behavior_on_mx_failure: str = "USE_DEFAULT_VALUE"

    def __post_init__(self) -> None:
        if not _SUBDOMAIN_RE.match(self.subdomain):
            raise ValueError(f"subdomain must be a DNS label such as 'bounce', got {self.subdomain!r}")
        if self.behavior_on_mx_failure not in MX_FAILURE_BEHAVIOURS:
            raise ValueError(
                f"behavior_on_mx_failure must be one of {', '.join(MX_FAILURE_BEHAVIOURS)}, "
                f"got {self.behavior_on_mx_failure!r}"
            )

    def domain_for(self, domain: str, region: str, home_region: str) -> str:
        """MAIL FROM domain used in ``region``.

        A MAIL FROM domain has one MX record pointing at one region's feedback endpoint, so
        bounces for mail sent from another region would land where SES cannot match them.
        The home region (first listed) gets ``<subdomain>.<domain>``; every other region gets
        its own ``<subdomain>-<region>.<domain>``.
        """
        if region == home_region:
            return f"{self.subdomain}.{domain}"
        first, _, rest = self.subdomain.partition(".")
        label = f"{first}-{region}"
        return f"{label}.{rest}.{domain}" if rest else f"{label}.{domain}"


@dataclass(frozen=True, kw_only=True)
class Dmarc:
    """The ``_dmarc.<domain>`` TXT record (RFC 7489).

    Attributes:
        policy: ``none``, ``quarantine`` or ``reject``. Default ``none`` (monitor only).
        subdomain_policy: ``sp=`` tag. Default - not set (subdomains follow ``policy``).
        pct: share of failing mail the policy applies to, 0-100. Default 100.
        rua: aggregate report URIs, each ``mailto:``. Default none.
        ruf: forensic report URIs, each ``mailto:``. Default none.
        adkim: DKIM alignment, ``r`` (relaxed) or ``s`` (strict). Default ``r``.
        aspf: SPF alignment, ``r`` or ``s``. Default ``r``.
    """

    policy: str = "none"
    subdomain_policy: str | None = None
    pct: int = 100
    rua: tuple[str, ...] = ()
    ruf: tuple[str, ...] = ()
    adkim: str = "r"
    aspf: str = "r"

    def __post_init__(self) -> None:
        for key, value in (("policy", self.policy), ("subdomain_policy", self.subdomain_policy)):
            if value is not None and value not in DMARC_POLICIES:
                raise ValueError(f"{key} must be one of {', '.join(DMARC_POLICIES)}, got {value!r}")
        if isinstance(self.pct, bool) or not isinstance(self.pct, int) or not 0 <= self.pct <= 100:
            raise ValueError(f"pct must be a whole number from 0 to 100, got {self.pct!r}")
        for key, uris in (("rua", self.rua), ("ruf", self.ruf)):
            for uri in uris:
                if not _MAILTO_RE.match(uri):
                    raise ValueError(f"{key} entries must be mailto: addresses, got {uri!r}")
        for key, value in (("adkim", self.adkim), ("aspf", self.aspf)):
            if value not in DMARC_ALIGNMENTS:
                raise ValueError(f"{key} must be 'r' (relaxed) or 's' (strict), got {value!r}")

    def record_value(self) -> str:
        """The TXT value, tags in RFC 7489 order (``v`` and ``p`` first)."""
        tags = ["v=DMARC1", f"p={self.policy}"]
        if self.subdomain_policy:
            tags.append(f"sp={self.subdomain_policy}")
        if self.pct != 100:
            tags.append(f"pct={self.pct}")
        if self.rua:
            tags.append("rua=" + ",".join(self.rua))
        if self.ruf:
            tags.append("ruf=" + ",".join(self.ruf))
        tags += [f"adkim={self.adkim}", f"aspf={self.aspf}"]
        return "; ".join(tags)


RecordType = Literal["CNAME", "MX", "TXT"]


@dataclass(frozen=True, kw_only=True)
class DnsRecord:
    """One DNS record an identity needs. ``name`` and ``value`` may hold Terraform tokens.

    Attributes:
        name: the record's fully qualified name, e.g. ``_dmarc.news.example.com``.
        type: ``CNAME``, ``MX`` or ``TXT``.
        value: the record's value as the zone file or Route 53 takes it.
        purpose: what the record is for (``dkim1``-``dkim3``, ``byodkim``, ``mail_from_mx``,
            ``mail_from_spf``, ``dmarc``); not compared. Default - empty.
    """

    name: str
    type: RecordType
    value: str
    purpose: str = field(default="", compare=False)

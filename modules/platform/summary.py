"""A human summary of a synthesized environment: stacks, resource counts, DNS records."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from modules.platform.stack import SesStack


@dataclass(frozen=True)
class RecordLine:
    name: str
    type: str
    value: str


@dataclass(frozen=True)
class DomainSummary:
    domain: str
    dns: str  # "Route 53 zone Z..." or "external DNS: output <name>"
    records: tuple[RecordLine, ...]


@dataclass(frozen=True)
class SliceSummary:
    name: str
    rate_per_second: float
    from_domains: tuple[str, ...]
    queue_outputs: tuple[str, ...]  # outputs holding the lane and DLQ URLs applications need


@dataclass(frozen=True)
class SmtpUserSummary:
    name: str
    identities: tuple[str, ...]
    endpoint: str  # host:port the credentials are for
    rotation_days: int
    secret_output: str  # output holding the secret's ARN, which applications read


@dataclass(frozen=True)
class StackSummary:
    name: str
    account_id: str
    region: str
    directory: str
    resources: dict[str, int]
    data_sources: dict[str, int]
    domains: tuple[DomainSummary, ...]
    slices: tuple[SliceSummary, ...] = ()
    smtp_users: tuple[SmtpUserSummary, ...] = ()


def summarize(stacks: list[SesStack], outdir: Path) -> list[StackSummary]:
    """Read each stack's ``cdk.tf.json``; records come from each identity's ``dns_records``
    output, where cdktn has already turned tokens into Terraform expressions."""
    result = []
    for stack in stacks:
        directory = outdir / "stacks" / stack.target.name
        document = json.loads((directory / "cdk.tf.json").read_text())
        domains = []
        for identity in stack.identities:
            zone = identity.props.hosted_zone_id
            where = f"Route 53 zone {zone}" if zone else f"external DNS: output {identity.slug}_dns_zone_file"
            output = document["output"][f"{identity.slug}_dns_records"]["value"]
            records = tuple(RecordLine(r["name"], r["type"], r["value"]) for r in output)
            domains.append(DomainSummary(identity.props.domain, where, records))
        result.append(
            StackSummary(
                name=stack.target.name,
                account_id=stack.target.account.id,
                region=stack.target.region.name,
                directory=str(directory),
                resources=_count(document.get("resource", {})),
                data_sources=_count(document.get("data", {})),
                domains=tuple(domains),
                slices=tuple(
                    SliceSummary(
                        name=item.name,
                        rate_per_second=item.rate_per_second,
                        from_domains=item.from_domains,
                        queue_outputs=tuple(
                            name
                            for name in document.get("output", {})
                            if name.startswith(item.name.replace("-", "_") + "_") and name.endswith("_url")
                        ),
                    )
                    for item in stack.target.slices
                ),
                smtp_users=tuple(
                    SmtpUserSummary(
                        name=user.name,
                        identities=user.identities,
                        endpoint=f"email-smtp.{user.region}.amazonaws.com:587",
                        rotation_days=user.rotation_days,
                        secret_output=f"smtp_{user.name.replace('-', '_')}_secret_arn",
                    )
                    for user in stack.target.smtp_users
                ),
            )
        )
    return result


def _count(blocks: dict[str, dict[str, object]]) -> dict[str, int]:
    return dict(sorted(Counter({kind: len(items) for kind, items in blocks.items()}).items()))


# Easy DKIM tokens exist only after apply; name the expression once instead of on every line.
_TOKEN_RE = re.compile(
    r"\$\{element\((aws_sesv2_email_identity\.[\w-]+)\.dkim_signing_attributes\[0\]\.tokens, (\d)\)\}"
)


def render(environment: str, summaries: list[StackSummary], *, root: Path | None = None) -> str:
    total = sum(sum(s.resources.values()) for s in summaries)
    lines = [f"Environment {environment}: {len(summaries)} stack(s), {total} resources"]
    for s in summaries:
        directory = Path(s.directory)
        if root is not None and directory.is_relative_to(root):
            directory = directory.relative_to(root)
        lines += ["", f"Stack {s.name}  (account {s.account_id}, {s.region})  → {directory}/cdk.tf.json"]
        lines += [f"  {count:>3} × {kind}" for kind, count in s.resources.items()]
        lines += [f"  {count:>3} × data.{kind}" for kind, count in s.data_sources.items()]
        for d in s.domains:
            lines += ["", f"  {d.domain}  ({d.dns})", *_record_lines(d.records)]
        for c in s.slices:
            lines += [
                "",
                f"  slice {c.name}: {c.rate_per_second:g} recipients/s guaranteed, "
                f"from {', '.join(c.from_domains)}",
                f"    queue URLs in outputs: {', '.join(c.queue_outputs)}",
            ]
        for u in s.smtp_users:
            lines += [
                "",
                f"  smtp_user {u.name}: sends as {', '.join(u.identities)} via {u.endpoint}, "
                f"rotated every {u.rotation_days} days",
                f"    credentials in the secret of output {u.secret_output} (never in Terraform state)",
            ]
    return "\n".join(lines)


def to_json(environment: str, summaries: list[StackSummary]) -> str:
    return json.dumps(
        {
            "environment": environment,
            "stacks": [
                {
                    "name": s.name,
                    "account_id": s.account_id,
                    "region": s.region,
                    "directory": s.directory,
                    "resources": s.resources,
                    "data_sources": s.data_sources,
                    "slices": [vars(c) for c in s.slices],
                    "smtp_users": [vars(u) for u in s.smtp_users],
                    "domains": [
                        {
                            "domain": d.domain,
                            "dns": d.dns,
                            "records": [vars(r) for r in d.records],
                        }
                        for d in s.domains
                    ],
                }
                for s in summaries
            ],
        },
        indent=2,
    )


def _record_lines(records: tuple[RecordLine, ...]) -> list[str]:
    tokens: dict[str, str] = {}

    def label(match: re.Match[str]) -> str:
        name = f"<dkim-token-{int(match.group(2)) + 1}>"
        tokens[name] = match.group(0)
        return name

    rows = [(r.type, _TOKEN_RE.sub(label, r.name), _TOKEN_RE.sub(label, r.value)) for r in records]
    width = max((len(name) for _, name, _ in rows), default=0)
    lines = [f"    {kind:<5}  {name:<{width}}  {value}" for kind, name, value in rows]
    return lines + [f"    where {name} = {expression}" for name, expression in sorted(tokens.items())]

"""Valid environments built from a "shape" per account-region: which blocks it has.

The table test and the property test (tests/integration/test_env_shapes.py) write these as HCL,
load them through the real config layer and synthesize them: every shape the validation accepts
must synthesize, and the stacks must pass the cross-stack name check. Each helper writes only
what the config layer documents as valid; a shape the loader rejects is a bug in one of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CONFIGURATION_SET_KINDS = ("none", "sns", "event_bridge", "external")
POOL_KINDS = ("none", "managed", "standard", "warmup")
# SES sending regions that also receive mail (a slice's archive needs one).
REGIONS = ("eu-central-1", "eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2")


@dataclass(frozen=True, kw_only=True)
class Shape:
    """The blocks of one account-region. Impossible combinations are normalized by :meth:`valid`."""

    domains: int = 0  # 0-2 domain identities (the second one with external DNS)
    configuration_set: str = "none"  # one of CONFIGURATION_SET_KINDS
    slices: int = 0  # 0-2 capacity slices (need a domain)
    heartbeat: bool = False  # heartbeat {} in the region block
    events: bool = False  # events {} in the region block (needs an SNS configuration set)
    pool: str = "none"  # one of POOL_KINDS ("warmup" needs a slice)
    smtp_user: bool = False  # needs a domain
    tenant: bool = False  # needs a domain
    archive: bool = False  # the first slice archives to a receiving domain of its own
    cleanup: bool = False  # the env's suppression_cleanup applies here

    def valid(self) -> Shape:
        """The nearest shape the config layer accepts (dependencies added, not dropped)."""
        domains = max(self.domains, 1 if (self.slices or self.smtp_user or self.tenant) else 0)
        pool = self.pool if self.pool != "warmup" or self.slices else "standard"
        events = self.events and self.configuration_set == "sns"
        return Shape(
            domains=domains,
            configuration_set=self.configuration_set,
            slices=self.slices,
            heartbeat=self.heartbeat,
            events=events,
            pool=pool,
            smtp_user=self.smtp_user,
            tenant=self.tenant,
            archive=self.archive and self.slices > 0,
            cleanup=self.cleanup,
        )

    def label(self) -> str:
        parts = [f"{name}={value}" for name, value in vars(self).items() if value not in (0, False, "none")]
        return ",".join(parts) or "empty"


@dataclass(frozen=True, kw_only=True)
class Target:
    """One account-region of a generated env."""

    account: int
    region: str
    shape: Shape


def render_env(
    name: str, targets: Sequence[Target], *, bounce_report: bool = False, tags: bool = True
) -> str:
    """The HCL of an environment ``name`` with the given account-regions (account ``a<i>``)."""
    out = [f'environment = "{name}"']
    if tags:
        out.append('tags = { team = "platform" }')
    accounts = sorted({t.account for t in targets})
    for account in accounts:
        mine = [t for t in targets if t.account == account]
        regions = "".join(_region(t) for t in mine)
        out.append(f'account "a{account}" {{\n  id = "{_account_id(account)}"\n{regions}}}')
    for target in targets:
        out.extend(_blocks(target))
    cleanup = [t for t in targets if t.shape.cleanup]
    if cleanup:
        # accounts × regions is the filter: list exactly those pairs, or none at all.
        out.append(_cleanup(cleanup, targets))
    if bounce_report:
        out.append('bounce_report {\n  schedule = "cron(0 6 ? * MON *)"\n}')
    return "\n\n".join(out) + "\n"


def write_env(root: Path, name: str, targets: Sequence[Target], **options: bool) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "ses.hcl").write_text(render_env(name, targets, **options), encoding="utf-8")
    return folder


def _account_id(account: int) -> str:
    return f"{300000000000 + account:012d}"


def _region(target: Target) -> str:
    shape = target.shape
    body = "    max_send_rate    = 100\n    max_24_hour_send = 500000\n"
    if shape.heartbeat:
        body += "    heartbeat {\n      headroom = 0.9\n    }\n"
    if shape.events:
        body += "    events {\n      status_queue = true\n    }\n"
    return f'  region "{target.region}" {{\n{body}  }}\n'


def _tag(target: Target) -> str:
    """A per-target part for names unique in the env."""
    return f"a{target.account}{target.region.replace('-', '')}"


def _blocks(target: Target) -> list[str]:
    shape, tag = target.shape, _tag(target)
    account, region = f'account = "a{target.account}"', f'region  = "{target.region}"'
    where = f"  {account}\n  {region}"
    blocks: list[str] = []
    domains = [f"d{i}.{tag}.example.com" for i in range(shape.domains)]
    set_name = f"cs-{tag}" if shape.configuration_set != "none" else None
    for i, domain in enumerate(domains):
        dns = 'hosted_zone_id = "Z0123456789ABCDEFGHIJ"' if i == 0 else 'dns = "external"'
        blocks.append(f'domain "{domain}" {{\n  {account}\n  regions = ["{target.region}"]\n  {dns}\n}}')
    if set_name is not None:
        body = {
            "sns": "",
            "event_bridge": '  event_destination "eb" {\n    type = "event_bridge"\n  }\n',
            "external": "  external = true\n",
        }[shape.configuration_set]
        blocks.append(f'configuration_set "{set_name}" {{\n{where}\n{body}}}')
    pool = f"pool-{tag}"
    if shape.pool == "warmup":
        blocks.append(f'configuration_set "ded-{tag}" {{\n{where}\n  dedicated_ip_pool = "{pool}"\n}}')
    receiving = f"archive.{tag}.example.com"
    if shape.archive:
        blocks.append(
            f'domain "{receiving}" {{\n  {account}\n  regions = ["{target.region}"]\n'
            '  hosted_zone_id = "Z0123456789ABCDEFGHIJ"\n}'
        )
    slices = [f"s{i}-{tag}"[:32].rstrip("-") for i in range(shape.slices)]
    for i, slice_name in enumerate(slices):
        uses = f'\n  configuration_set = "{set_name}"' if set_name else ""
        archive = ""
        if shape.archive and i == 0:
            archive = (
                f'\n  archive {{\n    address = "copy@{receiving}"\n'
                "    activate_receipt_rule_set = true\n  }"
            )
        blocks.append(
            f'slice "{slice_name}" {{\n{where}\n  rate_per_second = 10\n'
            f'  from_domains = ["{domains[0]}"]{uses}{archive}\n}}'
        )
    if shape.pool != "none":
        mode = "MANAGED" if shape.pool == "managed" else "STANDARD"
        extra = ""
        if shape.pool == "warmup":
            extra = (
                f'\n  slices = ["{slices[0]}"]\n  warmup {{\n    start = "2026-12-01"\n'
                "    daily_caps = [100, 1000]\n    full_volume = 1000\n  }"
            )
        blocks.append(f'dedicated_ip_pool "{pool}" {{\n{where}\n  scaling_mode = "{mode}"{extra}\n}}')
    if shape.smtp_user:
        blocks.append(f'smtp_user "u-{tag}" {{\n{where}\n  identities = ["{domains[0]}"]\n}}')
    if shape.tenant:
        sets = f'\n  configuration_sets = ["{set_name}"]' if set_name else ""
        blocks.append(f'tenant "t-{tag}" {{\n{where}\n  domains = ["{domains[0]}"]{sets}\n}}')
    return blocks


def _cleanup(cleanup: Sequence[Target], targets: Sequence[Target]) -> str:
    """``suppression_cleanup`` for exactly the ``cleanup`` targets, if accounts × regions can say
    so; else for every target (still a valid env, with more cleanups than the shapes asked for)."""
    accounts = sorted({t.account for t in cleanup})
    regions = sorted({t.region for t in cleanup})
    picked = {(t.account, t.region) for t in targets if t.account in accounts and t.region in regions}
    exact = picked == {(t.account, t.region) for t in cleanup}
    lines = ['  reasons = ["BOUNCE"]']
    if exact:
        lines.append("  accounts = [" + ", ".join(f'"a{a}"' for a in accounts) + "]")
        lines.append("  regions  = [" + ", ".join(f'"{r}"' for r in regions) + "]")
    return "suppression_cleanup {\n" + "\n".join(lines) + "\n}"

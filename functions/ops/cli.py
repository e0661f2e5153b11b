"""``ses-ops``: what operators of the SES platform do every week, as commands.

Exit codes (scripts may rely on them):
  0  done; for dns-doctor: no check failed (warnings allowed); for smoke-send: every event arrived
  1  done, and something needs attention: a dns-doctor check failed; a smoke-send event did not
     arrive in time, or a different one did
  2  bad usage or input (unknown option, bad filter, a journal written for other filters)
  3  AWS or DNS could not answer (credentials, permissions, network, throttled past retries)
  130  interrupted (Ctrl-C); a cleanup's journal is kept: run the same command to resume

``--json`` prints one JSON document on stdout; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from functions.common.clock import Clock, SystemClock
from functions.ops.dns import DnsError, Resolver
from functions.ops.doctor import diagnose
from functions.ops.progress import ProgressBar
from functions.ops.smoke import ARRIVED, SIMULATOR, enqueue, wait
from functions.sender.contract import InvalidMessage
from functions.sender.idempotency import DynamoDbIdempotencyStore
from functions.suppression.cleanup import Journal, JournalMismatch, clean
from functions.suppression.client import PacedClient, Throttled
from functions.suppression.filters import REASONS, Filters, as_utc

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
JOURNAL_DIR = Path(".ses-ops")


@dataclass
class Io:
    """What the commands touch outside themselves; tests replace each part."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Clock = field(default_factory=SystemClock)
    sesv2: Callable[[argparse.Namespace], Any] | None = None  # args → sesv2 client
    resolver: Callable[[argparse.Namespace], Resolver] | None = None
    aws: Callable[[argparse.Namespace, str], Any] | None = None  # (args, service) → boto3 client


def _sesv2(args: argparse.Namespace) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    # PacedClient paces and retries throttling itself; botocore's own retries would not be paced.
    return session.client("sesv2", config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def _date(text: str) -> datetime:
    try:
        return as_utc(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date such as 2026-01-31 or 2026-01-31T12:00Z, got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ses-ops",
        description=__doc__.split("\n")[0],
        epilog=__doc__.split("\n", 2)[2],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")
    common.add_argument("--region", help="AWS region (default: the AWS profile's)")
    common.add_argument("--profile", help="AWS profile (default: the usual credential chain)")
    bar = common.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="draw the progress bar on stderr even when it is not a terminal",
    )
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never draw it")

    suppression = commands.add_parser("suppression", help="the account-level suppression list")
    actions = suppression.add_subparsers(dest="action", required=True)
    filters = argparse.ArgumentParser(add_help=False)
    filters.add_argument(
        "--domain",
        action="append",
        default=[],
        type=str.lower,
        help="recipient domain, subdomains included (repeatable), e.g. privaterelay.appleid.com",
    )
    filters.add_argument(
        "--reason",
        action="append",
        default=[],
        type=str.upper,
        choices=REASONS,
        help="BOUNCE or COMPLAINT (repeatable; default both)",
    )
    filters.add_argument("--updated-after", type=_date, help="last updated at or after (UTC)")
    filters.add_argument("--updated-before", type=_date, help="last updated before (UTC)")
    filters.add_argument("--match", dest="pattern", help="regular expression searched in the address")
    actions.add_parser("list", parents=[common, filters], help="print the entries the filters match")
    clean_cmd = actions.add_parser(
        "clean",
        parents=[common, filters],
        help="remove the entries the filters match (a dry run unless --delete)",
        description="Dry run by default: prints what would be removed. With --delete it removes, "
        "pacing itself at 1 request/s and writing a journal; run the same command again to resume.",
    )
    clean_cmd.add_argument("--delete", action="store_true", help="really remove them")
    clean_cmd.add_argument(
        "--journal",
        type=Path,
        help=f"journal file (default: {JOURNAL_DIR}/suppression-<region>-<filters digest>.jsonl)",
    )

    doctor = commands.add_parser("dns-doctor", parents=[common], help="check a sending domain's live DNS")
    doctor.add_argument("domain", type=str.lower)
    doctor.add_argument(
        "--dkim-token", action="append", default=[], help="an Easy DKIM token (give all three)"
    )
    doctor.add_argument(
        "--from-ses",
        action="store_true",
        help="read the DKIM tokens and MAIL FROM domain with SES GetEmailIdentity",
    )
    doctor.add_argument(
        "--mail-from", help="MAIL FROM domain (default: bounce.<domain>; with --from-ses: SES's)"
    )
    doctor.add_argument(
        "--no-mail-from", action="store_true", help="the domain uses amazonses.com as MAIL FROM"
    )
    doctor.add_argument("--nameserver", help="resolver HOST[:PORT] (default: the first in /etc/resolv.conf)")

    smoke = commands.add_parser(
        "smoke-send",
        parents=[common],
        help="mail SES's mailbox simulator through a slice and wait for its events",
        description="Enqueues one message per scenario on the slice's queue (the producer contract), then "
        "follows each: the sender's idempotency record gives the SES message id, the event logger's status "
        "table the recipient's state. Table and queue names follow the platform's naming from --env.",
    )
    smoke.add_argument("--env", required=True, help="environment name (the prefix of every resource name)")
    smoke.add_argument("--slice", required=True, dest="slice_name", help="the capacity slice to send through")
    smoke.add_argument(
        "--from", required=True, dest="from_address", help="sender: an address of the slice's domains"
    )
    smoke.add_argument(
        "--scenario",
        action="append",
        default=[],
        choices=tuple(SIMULATOR),
        help="repeatable; default: all four",
    )
    smoke.add_argument("--lane", default="transactional", choices=("transactional", "bulk"))
    smoke.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for events (default 300)"
    )
    smoke.add_argument("--interval", type=float, default=5.0, help="seconds between looks (default 5)")
    smoke.add_argument("--queue-url", help="default: the queue <env>-<slice>-<lane>")
    smoke.add_argument("--state-table", help="default: <env>-ses-sending-state")
    smoke.add_argument("--status-table", help="default: <env>-ses-event-status")
    return parser


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:  # noqa: PLR0911 - one per exit code
    io = io or Io()
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help exits 0, bad usage 2
        return int(exc.code or 0)
    try:
        if args.command == "dns-doctor":
            return _doctor(args, io)
        if args.command == "smoke-send":
            return _smoke(args, io)
        return _suppression(args, io)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=io.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, JournalMismatch, InvalidMessage) as exc:
        print(f"ses-ops: {exc}", file=io.stderr)
        return EXIT_USAGE
    except (Throttled, DnsError) as exc:
        print(f"ses-ops: {exc}", file=io.stderr)
        return EXIT_UNREACHABLE
    except Exception as exc:
        if type(exc).__module__.startswith(("botocore", "boto3")):
            print(f"ses-ops: AWS: {exc}", file=io.stderr)
            return EXIT_UNREACHABLE
        raise


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(
        domains=tuple(args.domain),
        reasons=tuple(dict.fromkeys(args.reason)),
        updated_after=args.updated_after,
        updated_before=args.updated_before,
        pattern=args.pattern,
    )


def _suppression(args: argparse.Namespace, io: Io) -> int:
    filters = _filters(args)
    client = PacedClient((io.sesv2 or _sesv2)(args), clock=io.clock)
    delete = args.action == "clean" and args.delete
    journal = None
    if args.action == "clean":
        path = (
            args.journal
            or JOURNAL_DIR / f"suppression-{args.region or 'default'}-{filters.fingerprint()}.jsonl"
        )
        journal = Journal(path, filters)
        if journal.listed and not delete:
            print(f"note: {path} holds an unfinished cleanup; --delete resumes it", file=io.stderr)
            journal = None
    bar = ProgressBar("deleting" if delete else "listing", stream=io.stderr, enabled=args.progress)
    try:
        outcome = clean(client, filters, delete=delete, journal=journal, progress=bar.update)
    finally:
        bar.close()
        if journal is not None:
            journal.close()
    if journal is not None and delete and not outcome.remaining:
        kept = journal.finish(datetime.fromtimestamp(io.clock.now(), UTC).strftime("%Y%m%dT%H%M%SZ"))
        print(f"journal kept as {kept}", file=io.stderr)
    if args.json:
        document = {
            **outcome.to_json(),
            "dry_run": not delete,
            "filters": filters.to_json(),
            "requests": client.requests,
            "throttles": client.throttles,
            "entries": [e.to_json() for e in outcome.matched],
        }
        print(json.dumps(document, indent=2), file=io.stdout)
        return EXIT_OK
    for entry in outcome.matched:
        print(
            f"{entry.email_address}\t{entry.reason}\t{entry.last_update_time:%Y-%m-%dT%H:%M:%SZ}",
            file=io.stdout,
        )
    if delete:
        resumed = f", {outcome.already_done} in an earlier run" if outcome.resumed else ""
        summary = f"removed {len(outcome.deleted)} of {len(outcome.matched)}{resumed}"
        if outcome.gone:
            summary += f"; {len(outcome.gone)} were no longer listed"
    else:
        verb = "would remove" if args.action == "clean" else "match"
        summary = f"{len(outcome.matched)} of {outcome.scanned} entries {verb}"
        if args.action == "clean":
            summary += " (dry run: add --delete to remove them)"
    print(summary, file=io.stderr)
    return EXIT_OK


def _doctor(args: argparse.Namespace, io: Io) -> int:
    tokens = list(args.dkim_token)
    mail_from = None if args.no_mail_from else args.mail_from
    region = args.region
    if args.from_ses:
        identity = (io.sesv2 or _sesv2)(args).get_email_identity(EmailIdentity=args.domain)
        tokens = tokens or list(identity.get("DkimAttributes", {}).get("Tokens", []))
        ses_mail_from = identity.get("MailFromAttributes", {}).get("MailFromDomain")
        if mail_from is None and not args.no_mail_from:
            mail_from = ses_mail_from or None
            args.no_mail_from = not ses_mail_from
    if mail_from is None and not args.no_mail_from:
        mail_from = f"bounce.{args.domain}"
    if mail_from and not region:
        raise ValueError(
            "--region is needed to check the MAIL FROM MX (feedback-smtp.<region>.amazonses.com)"
        )
    if args.nameserver:
        host, _, port = (
            args.nameserver.rpartition(":")
            if args.nameserver.count(":") == 1
            else (args.nameserver, "", "53")
        )
        resolver = Resolver((host, int(port or 53)))
    else:
        resolver = (io.resolver or (lambda _: Resolver()))(args)
    report = diagnose(resolver, args.domain, region=region or "", dkim_tokens=tokens, mail_from=mail_from)
    if args.json:
        print(json.dumps(report.to_json(), indent=2), file=io.stdout)
    else:
        width = max(len(c.name) for c in report.checks)
        for check in report.checks:
            print(f"{check.status:<4}  {check.name:<{width}}  {check.detail}", file=io.stdout)
            if check.fix:
                print(f"{'':<4}  {'':<{width}}  fix: {check.fix}", file=io.stdout)
        failed = sum(c.status == "FAIL" for c in report.checks)
        print(f"{args.domain}: {'healthy' if report.passed else f'{failed} check(s) failed'}", file=io.stdout)
    return EXIT_OK if report.passed else EXIT_ATTENTION


def _client(args: argparse.Namespace, service: str) -> Any:
    import boto3

    return boto3.Session(profile_name=args.profile, region_name=args.region).client(service)


def _smoke(args: argparse.Namespace, io: Io) -> int:
    client = io.aws or _client
    sqs, dynamodb = client(args, "sqs"), client(args, "dynamodb")
    queue_url = (
        args.queue_url or sqs.get_queue_url(QueueName=f"{args.env}-{args.slice_name}-{args.lane}")["QueueUrl"]
    )
    state_table = args.state_table or f"{args.env}-ses-sending-state"
    status_table = args.status_table or f"{args.env}-ses-event-status"
    scenarios = list(dict.fromkeys(args.scenario)) or list(SIMULATOR)
    probes = enqueue(sqs, queue_url, from_address=args.from_address, scenarios=scenarios, lane=args.lane)
    print(
        f"enqueued {len(probes)} message(s) on {queue_url}; waiting up to {args.timeout:g} s", file=io.stderr
    )
    bar = ProgressBar("events", stream=io.stderr, enabled=args.progress)
    try:
        wait(
            probes,
            store=DynamoDbIdempotencyStore(dynamodb, state_table, args.slice_name),
            dynamodb=dynamodb,
            status_table=status_table,
            clock=io.clock,
            timeout_seconds=args.timeout,
            interval_seconds=args.interval,
            progress=bar.update,
        )
    finally:
        bar.close()
    passed = all(p.outcome == ARRIVED for p in probes)
    if args.json:
        print(
            json.dumps({"passed": passed, "probes": [p.to_json() for p in probes]}, indent=2), file=io.stdout
        )
    else:
        for p in probes:
            seen = p.state or ("sent, no event yet" if p.ses_message_id else "not sent yet")
            print(
                f"{p.outcome.upper():<10}  {p.scenario:<15}  expected {p.expected:<9}  seen {seen}"
                f"{'  (' + p.detail + ')' if p.detail else ''}",
                file=io.stdout,
            )
        missing = sum(p.outcome != ARRIVED for p in probes)
        verdict = "all events arrived" if passed else f"{missing} of {len(probes)} did not arrive as expected"
        print(
            f"smoke-send: {verdict}",
            file=io.stdout,
        )
    return EXIT_OK if passed else EXIT_ATTENTION


if __name__ == "__main__":
    sys.exit(main())

"""Suppression-list cleanup: list, filter, then delete — resumable through a local journal.

A run with a journal (the CLI) works in two phases:

1. **plan**: read the whole list (paged), keep the entries the filters match, and write them to
   the journal, closed by a ``listed`` line. An interrupted listing is simply redone: nothing was
   deleted yet.
2. **delete**: for each planned address without a ``deleted``/``gone`` line, call
   ``DeleteSuppressedDestination`` and then append that line (flushed and fsync'd).

Resuming reads the journal: a completed plan is not listed again (so an address deleted before
the interruption, now missing from the list, is neither skipped nor looked for), and each address
is deleted at most once. The one window — SES deleted the address, the process died before the
journal line — ends in ``NotFoundException`` on resume, recorded as ``gone``: no harm, nothing
skipped. A journal is bound to its filters; resuming it with others is refused.

Without a journal (the scheduled Lambda) a run lists and deletes as it goes and stops before
its deadline: what it did not reach is still on the list, so the next run picks it up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from functions.suppression.client import PacedClient
from functions.suppression.filters import Entry, Filters

JOURNAL_VERSION = 1

Progress = Callable[[int, int | None], None]  # (done, total or None while unknown)


class JournalMismatch(Exception):  # noqa: N818 - a refusal, reported to the operator
    """The journal was written for other filters, or is not a journal at all."""


@dataclass
class Outcome:
    """What a run did. ``matched`` lists the planned entries in list order."""

    matched: list[Entry] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # not on the list any more when deleted
    already_done: int = 0  # done in an earlier, interrupted run (journal)
    remaining: int = 0  # planned but not reached (deadline)
    scanned: int = 0  # entries read from SES in this run
    resumed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "matched": len(self.matched),
            "deleted": len(self.deleted),
            "gone": len(self.gone),
            "already_done": self.already_done,
            "remaining": self.remaining,
            "scanned": self.scanned,
            "resumed": self.resumed,
        }


class Journal:
    """An append-only JSON-lines file: header, planned entries, ``listed``, then one line per delete."""

    def __init__(self, path: Path, filters: Filters) -> None:
        self.path = path
        self.filters = filters
        self.planned: list[Entry] = []
        self.listed = False
        self.done: set[str] = set()
        self._stream: TextIO | None = None
        if path.exists() and path.stat().st_size:
            self._read()

    def _read(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            records = [json.loads(line) for line in lines if line.strip()]
        except ValueError:
            # Only the last line can be torn (the process died mid-write): drop it.
            records = [json.loads(line) for line in lines[:-1] if line.strip()]
        header = records[0] if records else {}
        if header.get("kind") != "header" or header.get("version") != JOURNAL_VERSION:
            raise JournalMismatch(f"{self.path}: not a suppression cleanup journal")
        if header.get("filters_fingerprint") != self.filters.fingerprint():
            raise JournalMismatch(
                f"{self.path}: written for other filters ({json.dumps(header.get('filters'))}); "
                "finish that run with the same filters, or choose another journal"
            )
        for record in records[1:]:
            kind = record.get("kind")
            if kind == "listed":
                self.listed = True
            elif kind == "planned" and not self.listed:
                self.planned.append(Entry.from_json(record["entry"]))
            elif kind in ("deleted", "gone"):
                self.done.add(str(record["email_address"]))
        if not self.listed:  # an interrupted listing is redone from the start
            self.planned = []

    def _write(self, record: dict[str, Any], *, sync: bool = False) -> None:
        if self._stream is None:
            self._stream = self.path.open("a", encoding="utf-8")
        self._stream.write(json.dumps(record, separators=(",", ":")) + "\n")
        if sync:
            self._stream.flush()
            os.fsync(self._stream.fileno())

    def start(self) -> None:
        """A fresh journal (or a listing redone): header only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("", encoding="utf-8")
        self._write(
            {
                "kind": "header",
                "version": JOURNAL_VERSION,
                "filters": self.filters.to_json(),
                "filters_fingerprint": self.filters.fingerprint(),
            }
        )

    def plan(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            self.planned.append(entry)
            self._write({"kind": "planned", "entry": entry.to_json()})
        self.listed = True
        self._write({"kind": "listed", "count": len(self.planned)}, sync=True)

    def record(self, kind: str, email_address: str) -> None:
        self.done.add(email_address)
        self._write({"kind": kind, "email_address": email_address}, sync=True)

    def finish(self, stamp: str) -> Path:
        """Every planned address is done: keep the journal as ``<name>.<stamp>.done`` (an audit
        trail) so the next run with the same filters starts a new cleanup."""
        self.close()
        done = self.path.with_name(f"{self.path.name}.{stamp}.done")
        self.path.rename(done)
        return done

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def find(client: PacedClient, filters: Filters, progress: Progress | None = None) -> tuple[list[Entry], int]:
    """The entries ``filters`` match, in list order, and how many entries were read."""
    matched: list[Entry] = []
    scanned = 0
    for page in client.list_pages(filters):
        scanned += len(page)
        matched.extend(e for e in page if filters.matches(e))
        if progress:
            progress(scanned, None)
    return matched, scanned


def clean(
    client: PacedClient,
    filters: Filters,
    *,
    delete: bool,
    journal: Journal | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Outcome:
    """Find the matching entries and, when ``delete``, remove them (see the module docstring)."""
    outcome = Outcome()
    if journal is not None and journal.listed:
        outcome.resumed = True
        outcome.matched = list(journal.planned)
    else:
        outcome.matched, outcome.scanned = find(client, filters, progress)
        if journal is not None and delete:
            journal.start()
            journal.plan(outcome.matched)
    if not delete:
        return outcome
    done = journal.done if journal is not None else set()
    todo = [e for e in outcome.matched if e.email_address not in done]
    outcome.already_done = len(outcome.matched) - len(todo)
    for index, entry in enumerate(todo):
        if should_stop():
            outcome.remaining = len(todo) - index
            break
        removed = client.delete(entry.email_address)
        (outcome.deleted if removed else outcome.gone).append(entry.email_address)
        if journal is not None:
            journal.record("deleted" if removed else "gone", entry.email_address)
        if progress:
            progress(outcome.already_done + index + 1, len(outcome.matched))
    return outcome

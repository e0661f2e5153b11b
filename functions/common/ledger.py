"""The account-region's send ledger: one calendar in which every sender of every slice books its
SES sends, so SES's recipients-per-second rate holds for the whole account by construction.

Why one ledger for the account, not a budget per slice. SES counts recipients per sliding second
for the *account*; a message may hold up to 50 of them. With one budget per slice (the earlier
design) a message larger than its slice's budget either had to pass into an empty *slice* window
(and the account went over its rate whenever the other slices were busy) or wait for a budget at
least its size (and the heartbeat, to stay safe, wrote 0 to every slice whose budget was below
its largest message: with 1-50-recipient mail every slice sat at 0 while the quota idled). Here
safety and fairness are separate:

* **Safety, exact, always**: sends leave at *slots*, ``SLOT_MS`` (a second plus ``GUARD_MS``)
  apart on one grid from the epoch, and the ledger's ``log`` holds what every slot of the account
  has booked (epoch ms of the slot, recipients). A slot takes a send of ``r`` while it holds at
  most ``capacity - r`` (a message larger than its room, which SES accepts alone, only alone in a
  slot, and what it holds beyond the capacity is debt the next slots pay: :func:`carried_into`;
  the rate is a sustained limit, so 50-recipient mail at 30/s averages 30 a slot, not 50). SES
  counts by arrival: a slot's sends all arrive within the guard after it (a sender that would
  leave later does not send, and books again), so any one-second window of arrivals meets one
  slot's sends. No heartbeat timing, outage or late tick can push the account
  over its rate.
* **Packing**: why slots and not a sliding calendar. On a sliding calendar a 50-recipient message
  needs a second around it with nearly nothing else in it, and small mail booked first leaves
  those seconds half empty (measured: 0.83 of the quota at best with 1-50-recipient mail). A slot
  is a bin: the large message takes 50 and small ones fill the rest.
* **The guard is paid out of the headroom**: the heartbeat hands out ``capacity`` = quota x
  headroom recipients/s, so a slot holds ``capacity x SLOT_MS / WINDOW_MS`` of them, but never
  more than the quota (:meth:`Ledger.slot_capacity`). With headroom 0.95 the ledger carries the
  full 0.95 of the quota and no window of arrivals sees more than the quota; headroom above
  ``WINDOW_MS / SLOT_MS`` (0.952) adds nothing. (Until the heartbeat has written the quota a slot
  holds the configured capacity, which may be the quota itself.)
* **Fairness, per slice**: a slice books at its *cap* (recipients/s), with one slot of burst
  tolerance (GCRA: a send of ``r`` at ``at`` needs ``at >= tat - TAU_MS`` and moves the slice's
  theoretical arrival time ``tat`` by ``r / cap`` seconds). Where the slots carry less than the
  capacity (the quota bounds them) caps are scaled down to what they carry: caps that sum to the
  capacity then sum to what the slots carry, and no slice's bookings drift later than its pace.
  A message larger than the cap simply moves ``tat``
  further: it is scheduled, paid for against the account's capacity, and the slice sends again
  when its average allows. The heartbeat writes the caps by backlog each tick (``cap:<slice>``,
  ``caps_until``); they stay in force until the next ones land, and once they are more than
  ``CAPS_GRACE_SECONDS`` old each is raised to at least its slice's guaranteed rate.
* **Shares of a slot**: paces bound how much each slice books, not which slot it gets, and a
  slice held back by its pace books far ahead while one that is not books near: first come, the
  far bookers filled every slot before the near one asked (measured: the slice with the largest
  guarantee got 2-4 recipients/s below its cap, 14/s of a guaranteed 20 on the wire). So beyond
  the first slot a sender can reach, each slice's share of a slot (``slot capacity x cap / sum of
  caps``, by the heartbeat's caps; ``booked:<slice>`` logs what each slice booked where) is kept
  for it: others may book, or borrow, only what leaves it free. A slice whose pace cannot reach
  a slot yet holds nothing there, and a message larger than its slice's share takes any slot with
  room (first come; its slice pays for it in pace), so no message is starved by the shares.
* **Work conservation**: room in the next slot that nobody booked is borrowed beyond the pace
  (without moving it) while the account has less than a second of capacity booked ahead: room
  the paces will not claim. Past that the paces share the slots.

Liveness. A booking goes to the earliest slot that fits, so once booked it cannot be crowded out
by later, smaller bookings, and a sender holds at most one batch: a message of any size finds
room within (recipients already booked) / capacity + one slot.

Item (pk ``ledger`` in the account-region's state table): ``log`` (see :func:`encode_log`),
``version`` (optimistic concurrency for the senders' writes), ``expires_at`` (TTL), the
heartbeat's ``capacity`` / ``quota`` / ``caps_until`` / ``cap:<slice>`` / ``rate:<slice>`` (the
guaranteed rate), and per slice the senders' ``booked:<slice>`` (the slice's own part of ``log``),
``tat:<slice>`` (epoch ms), ``pace_cap:<slice>`` (the cap ``tat`` was charged at),
``held_until:<slice>`` (a short hold after a 429) and ``mean:<slice>`` (recipients per message,
a moving average the heartbeat turns queue depth into recipients with), and
``paused_until:<slice>`` / ``paused_reason:<slice>`` (SES SendingPaused, the reputation
breaker). Slice names are ``[A-Za-z0-9_-]`` (the config's rule), so ``<attribute>:<slice>`` is
unambiguous.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from functions.common.dynamodb import conditional_check_item, number, number_value

LEDGER_PK = "ledger"


class LedgerUpdater(Protocol):
    """What the heartbeat's and a pause's writes call (attributes SET on the item in place)."""

    def update_item(self, **kwargs: Any) -> dict[str, Any]: ...


class LedgerReader(Protocol):
    """What a read of the item calls."""

    def get_item(self, **kwargs: Any) -> dict[str, Any]: ...


class LedgerClient(LedgerReader, LedgerUpdater, Protocol):
    """The part of boto3's low-level ``dynamodb`` client the senders' bookings call."""

    def put_item(self, **kwargs: Any) -> dict[str, Any]: ...


WINDOW_MS = 1000
"""SES's rate window: recipients per second."""
GUARD_MS = 50
"""Margin for arrival jitter: how much later than the first send of a slot its last may arrive.
Measured on the wire (tests/bench/test_bench_heartbeat_wire.py, a loaded 2-core host): sends
leave up to 30 ms after their slot; 40 ms let one second in a run see 62 recipients at quota 60.
Arrivals at the SES stand-in came later still under load (31 / 54 / 70 / 80 ms after the slot at
p50 / p90 / p95 / p99 in a 40-s run); an 80-ms guard cut the throttled calls of one benchmark
run to 0.08 % but that run's utilization was lower too, so 50 stays until more runs decide."""
SLOT_MS = WINDOW_MS + GUARD_MS
"""Sends leave at slots this far apart; each slot holds at most the account's capacity. Any
one-second window of arrivals then meets one slot's sends only, if they arrive within the guard."""
TAU_MS = SLOT_MS
"""A slice's burst tolerance: it may book this far ahead of its own average pace (one slot's
worth), and a pace held back by a full account keeps this much credit."""

SKEW_MS = 1000
BORROW_HORIZON_S = 1.0
"""Room is borrowed beyond a slice's pace only while the account has less than this many seconds
of its capacity booked ahead: deeper, the paces are using the slots, and borrowing would only
push their bookings later."""
"""How far behind the newest booking the log keeps entries (clocks of senders are not in step)."""
CAPS_GRACE_SECONDS = 5.0
"""How long after ``caps_until`` the heartbeat's caps are taken as they are. Later (the heartbeat
is away) they still hold, each raised to at least the slice's guaranteed rate. Safety never
depends on the caps: the log is exact."""
MEAN_WEIGHT = 0.1
"""Weight of each new message in a slice's moving average of recipients per message."""
LEDGER_TTL_SECONDS = 86400

Entry = tuple[int, int]
"""One booked send: (epoch milliseconds, recipients)."""


def to_ms(seconds: float) -> int:
    """Epoch seconds to integer epoch milliseconds, rounded to the nearest millisecond."""
    return round(seconds * 1000)


def encode_log(entries: Sequence[Entry]) -> str:
    """Compact text for DynamoDB: ``"<t0>:<n0>,<d1>:<n1>,..."``, each ``d`` the milliseconds since
    the entry before (the log is sorted, so deltas are small and never negative)."""
    parts: list[str] = []
    previous = 0
    for i, (t, n) in enumerate(entries):
        parts.append(f"{t if i == 0 else t - previous}:{n}")
        previous = t
    return ",".join(parts)


def decode_log(text: str) -> tuple[Entry, ...]:
    """Inverse of :func:`encode_log`."""
    entries: list[Entry] = []
    t = 0
    for i, part in enumerate(p for p in text.split(",") if p):
        offset, _, count = part.partition(":")
        t = int(offset) if i == 0 else t + int(offset)
        entries.append((t, int(count)))
    return tuple(entries)


def attr(name: str, slice_name: str) -> str:
    """The ledger attribute ``name`` of one slice (``cap``, ``tat``, ``mean``, ``paused_until``...)."""
    return f"{name}:{slice_name}"


@dataclass(frozen=True)
class Ledger:
    """A read of the ledger item (low-level attribute values), with typed accessors."""

    item: Mapping[str, Any]

    @property
    def log(self) -> tuple[Entry, ...]:
        return decode_log(str(self.item.get("log", {}).get("S", "")))

    def booked(self, slice_name: str) -> tuple[Entry, ...]:
        """The slice's own bookings (``booked:<slice>``, same encoding and horizon as ``log``)."""
        return decode_log(str(self.item.get(attr("booked", slice_name), {}).get("S", "")))

    def shares(self, slot_capacity: float, capacity: float, now: float) -> dict[str, float]:
        """Each slice's share of a slot, by the caps in force: ``slot_capacity x cap / C`` with
        ``C`` the larger of the caps' sum and the capacity (recipients/s). Slices with no cap hold
        none. A stale cap counts as at least the slice's guaranteed rate (``rate:<slice>``, written
        by the heartbeat), as :meth:`cap` does for the slice itself."""
        caps: dict[str, float] = {}
        for key in self.item:
            if key.startswith("cap:"):
                name = key[len("cap:") :]
                rate = self.number("rate", name)
                caps[name] = self.cap(name, rate if rate is not None else 0.0, now)
        caps = {name: cap for name, cap in caps.items() if cap > 0}
        whole = max(sum(caps.values()), capacity)
        return {name: slot_capacity * cap / whole for name, cap in caps.items()} if whole > 0 else {}

    @property
    def version(self) -> float | None:
        return number(dict(self.item), "version")

    def number(self, name: str, slice_name: str | None = None) -> float | None:
        return number(dict(self.item), name if slice_name is None else attr(name, slice_name))

    def capacity(self, default: float) -> float:
        """The account's recipients/s for bookings: the heartbeat's reading of the SES quota x
        headroom once it has written one, else ``default`` (the configured quota)."""
        written = self.number("capacity")
        return default if written is None else written

    def slot_capacity(self, default: float) -> float:
        """Recipients one slot holds. Slots come every ``SLOT_MS``, so to hand out the capacity
        (recipients/s) a slot holds ``capacity x SLOT_MS / WINDOW_MS``, but never more than the
        SES quota itself (each one-second window of arrivals meets one slot). The guard between
        slots is then paid for out of the headroom, not on top of it. Before the heartbeat has
        written the quota the slot holds just the capacity (the default may be the quota)."""
        capacity, quota = self.capacity(default), self.number("quota")
        if quota is None:
            return capacity
        return min(quota, capacity * SLOT_MS / WINDOW_MS)

    def cap(self, slice_name: str, rate_per_second: float, now: float) -> float:
        """The slice's cap in force at ``now``: the heartbeat's last, until the next one lands;
        once that is more than ``CAPS_GRACE_SECONDS`` old (the heartbeat is away), never less
        than the slice's guaranteed rate (a slice idle at the last tick may have mail now).
        Before any tick: the guaranteed rate."""
        until, written = self.number("caps_until"), self.number("cap", slice_name)
        if until is None or written is None:
            return rate_per_second
        if now > until + CAPS_GRACE_SECONDS:
            return max(written, rate_per_second)
        return written

    def caps_fresh(self, now: float) -> float | None:
        """``caps_until`` while the heartbeat's caps are in force, else ``None``."""
        until = self.number("caps_until")
        return until if until is not None and now <= until + CAPS_GRACE_SECONDS else None

    def paused_until(self, slice_name: str, now: float) -> float | None:
        until = self.number("paused_until", slice_name)
        return until if until is not None and now < until else None

    def mean_recipients(self, slice_name: str) -> float:
        return self.number("mean", slice_name) or 1.0


def read_ledger(client: LedgerReader, table: str) -> Ledger:
    """A strongly consistent read: bookings decided on a stale log could overbook the account."""
    response = client.get_item(TableName=table, Key={"pk": {"S": LEDGER_PK}}, ConsistentRead=True)
    item = response.get("Item")
    return Ledger(item if isinstance(item, dict) else {})


def slot_start(at_ms: int) -> int:
    """The first send slot at or after ``at_ms``: slots are ``SLOT_MS`` apart on a grid from the
    epoch, the same for every sender (their clocks are NTP-synchronised to milliseconds)."""
    return -(-at_ms // SLOT_MS) * SLOT_MS


def _per_slot(entries: Iterable[Entry]) -> dict[int, int]:
    booked: dict[int, int] = {}
    for t, n in entries:
        if n > 0:
            booked[t] = booked.get(t, 0) + n
    return booked


@dataclass(frozen=True)
class Shares:
    """What the other slices hold in each slot beyond ``open_until``: their share (by their caps)
    less what they booked there. ``held(slot)``: recipients the booking slice must leave free."""

    others: Mapping[str, float]
    own: Mapping[str, Mapping[int, int]]
    open_until: int
    paced_from: Mapping[str, int] = field(default_factory=dict)
    """Per other slice, the first slot its pace lets it book (``tat - TAU_MS``): before that it
    holds nothing (a slice paying for a large message leaves its share to the others)."""

    def held(self, slot: int) -> int:
        if slot <= self.open_until:
            return 0
        return sum(
            math.floor(max(0.0, share - self.own[n].get(slot, 0)))
            for n, share in self.others.items()
            if slot >= self.paced_from.get(n, 0)
        )

    def oversize(self, recipients: int, capacity: float) -> bool:
        """Larger than what the others' full shares leave of a slot: such a message could never
        fit beside them, so it takes any slot with room (first come) and its slice pays in pace."""
        return recipients > capacity - sum(math.floor(share) for share in self.others.values())


def _passed_on(held: float, debt: float, capacity: float) -> float:
    """The debt a slot holding ``held`` recipients and owing ``debt`` passes to the next one."""
    return max(0.0, held + debt - capacity)


def carried_into(booked: Mapping[int, int], slot: int, capacity: float) -> float:
    """The debt the slots before ``slot`` pass on to it. A slot may hold one message larger than
    its room (SES takes a lone call however many recipients it has, up to 50); what it holds
    beyond ``capacity`` is paid for by the slots after it, so over any run of slots the account
    sends no more than ``capacity`` a slot on average (a 50-recipient mail at 30/s costs its slot
    and 20 of the next, not nothing: the rate is a sustained limit)."""
    earlier = [t for t in booked if t < slot]
    if not earlier:
        return 0.0
    carry, t = 0.0, min(earlier)
    while t < slot:
        carry = _passed_on(booked.get(t, 0), carry, capacity)
        t += SLOT_MS
    return carry


def _takes(booked: Mapping[int, int], slot: int, carry: float, recipients: int, capacity: float) -> bool:
    """Whether ``slot`` (owing ``carry``) takes ``recipients``: within its room, or as the lone
    message of a slot whose debt leaves it any room; and every later booking still within its
    room with the debt this one passes on."""
    here = booked.get(slot, 0)
    if here + carry + recipients > capacity and not (here == 0 and carry < capacity):
        return False
    debt, last = _passed_on(here + recipients, carry, capacity), max(booked, default=slot)
    t = slot + SLOT_MS
    while debt > 0 and t <= last:
        later = booked.get(t, 0)
        if later > 0 and later + debt > capacity and not (later > capacity and debt < capacity):
            return False  # a booking there would end up beyond what its slot may hold
        debt = _passed_on(later, debt, capacity)
        t += SLOT_MS
    return True


def earliest_fit(
    entries: Iterable[Entry], at_ms: int, recipients: int, capacity: float, shares: Shares | None = None
) -> int | None:
    """The earliest slot ``>= at_ms`` with room for ``recipients`` (its booked recipients and the
    debt it carries (:func:`carried_into`) plus these within ``capacity``; a message larger than
    that only alone in a slot whose debt leaves room), or ``None`` when nothing ever fits (a
    capacity of zero or less). With ``shares``, room the other slices hold in a slot is not room
    (unless the message is oversize for the shares)."""
    if capacity <= 0:
        return None
    booked = _per_slot(entries)
    strict = shares is not None and not shares.oversize(recipients, capacity)
    slot = slot_start(at_ms)
    carry = carried_into(booked, slot, capacity)
    while not _takes(booked, slot, carry, recipients, capacity) or (
        strict
        and shares is not None
        and booked.get(slot, 0) + carry + recipients + shares.held(slot) > capacity
    ):
        carry = _passed_on(booked.get(slot, 0), carry, capacity)
        slot += SLOT_MS  # ends: only finitely many slots hold bookings, debt shrinks by the capacity
        # each empty slot, and an empty slot free of debt holds at most the others' full shares,
        # which leave a non-oversize message room
    return slot


@dataclass(frozen=True)
class Booking:
    """Answer of :func:`book`. Granted: ``at_ms`` is the slot, ``updates`` the attributes to SET
    (``log``, the paces, ``mean:<slice>``), ``charges`` the milliseconds each pace moved (to give
    them back exactly). Refused: ``wait_ms`` until asking again is worth it."""

    granted: bool
    at_ms: int = 0
    wait_ms: int = 0
    charges: Mapping[str, int] = field(default_factory=dict)
    updates: Mapping[str, Any] | None = None


def book(
    ledger: Ledger,
    slice_name: str,
    recipients: int,
    *,
    now_ms: int,
    earliest_ms: int,
    max_wait_ms: int,
    rate_per_second: float,
    default_capacity: float,
) -> Booking:
    """Decide one reservation; pure, so the same in memory and in DynamoDB (see module docstring).

    The slot is the earliest time ``>= max(earliest_ms, tat - TAU_MS)`` that fits the account;
    granted only within ``now_ms + max_wait_ms``.
    """
    if recipients < 1:
        raise ValueError(f"recipients must be at least 1, got {recipients}")
    now = now_ms / 1000
    entries = sorted(ledger.log)
    horizon = entries[0][0] if entries and entries[0][1] == 0 else None
    window = SLOT_MS
    # Entries at or before the horizon were pruned: a caller whose windows reach back past it
    # (its clock lags the others') waits rather than being judged on an incomplete log.
    if horizon is not None and earliest_ms - window < horizon:
        return Booking(False, wait_ms=horizon + window - earliest_ms)
    # Caps sum to the capacity per second. Where the slots carry less (a slot holds at most the
    # quota, or the quota is not known yet) caps that sum to the capacity would overbook them:
    # every slice's pace is scaled to what they carry (else bookings drift later and later, and
    # the slices that book furthest ahead win).
    capacity = ledger.slot_capacity(default_capacity)
    per_second = ledger.capacity(default_capacity)
    carried = capacity * WINDOW_MS / window  # recipients/s the slots carry
    scale = min(1.0, carried / per_second) if per_second > 0 else 1.0
    cap = ledger.cap(slice_name, rate_per_second, now) * scale
    tat, _ = _pace(ledger, slice_name, "tat", rate_name="pace_cap", rate=cap, now_ms=now_ms)
    paces = {attr("tat", slice_name): (tat, cap)}
    held_until = ledger.number("held_until", slice_name)  # a short back-off after a 429
    earliest_ms = max(earliest_ms, int(held_until or 0))
    at, charged = None, None
    held = _shares(ledger, slice_name, capacity, per_second, now, open_until=slot_start(earliest_ms))
    if cap > 0:
        own_start = max(earliest_ms, int(tat) - TAU_MS if tat is not None else earliest_ms)
        at = earliest_fit(entries, own_start, recipients, capacity, held)
        charged = attr("tat", slice_name)
    borrowed = False
    # Room nobody booked, in the next slot (or the one after, when the next holds a message
    # larger than the capacity): taken beyond the slice's pace without moving it
    # (work-conserving: caps lag demand by a tick, a large message leaves its slice in debt, the
    # heartbeat may be away); only while little is booked beyond it (the paces are not using
    # the slots), so paced bookings, which reach ahead, are never crowded out.
    idle = earliest_fit(entries, earliest_ms, recipients, capacity, held)
    committed = sum(n for t, n in entries if idle is not None and t > idle)
    if (
        idle is not None
        and idle <= slot_start(earliest_ms) + SLOT_MS
        and (at is None or at > idle)
        and (committed == 0 or committed + recipients <= capacity * BORROW_HORIZON_S)
    ):
        at, borrowed = idle, True
    if at is None:  # no cap this tick and no idle room now: ask again at the next tick
        until = ledger.caps_fresh(now) if cap <= 0 else None
        return Booking(
            False, wait_ms=max(50, (to_ms(until) if until is not None else now_ms + 1000) - now_ms + 1)
        )
    if at - now_ms > max_wait_ms:
        return Booking(False, wait_ms=at - now_ms)
    # A message larger than the cap is charged like any other: it moves the pace further, so it
    # is scheduled (never refused) and the slice's average stays at its cap.
    charges: dict[str, int] = (
        {} if borrowed or charged is None else {charged: math.ceil(recipients * 1000 / paces[charged][1])}
    )
    mean = ledger.number("mean", slice_name)
    new_mean = recipients if mean is None else mean + MEAN_WEIGHT * (recipients - mean)
    pruned_to = max(now_ms - window - SKEW_MS, horizon if horizon is not None else 0)
    log = _merge(entries, [(at, recipients)], pruned_to)
    own = _merge(sorted(ledger.booked(slice_name)), [(at, recipients)], log[0][0])
    updates: dict[str, Any] = {
        "log": {"S": encode_log(log)},
        attr("booked", slice_name): {"S": encode_log(own)},
        attr("mean", slice_name): number_value(round(new_mean, 3)),
    }
    for name, charge in charges.items():
        # A pace measures what the slice *booked*, from when it asked, not where the booking landed:
        # a message that a busy account pushes seconds ahead must not drag the slice's pace along
        # (its small messages could then use no earlier room). Up to TAU_MS of an idle pace is kept.
        before = paces[name][0]
        updates[name] = number_value(
            max(before if before is not None else earliest_ms, earliest_ms - TAU_MS) + charge
        )
        updates[attr("pace_cap", slice_name)] = number_value(paces[name][1])
    return Booking(True, at_ms=at, wait_ms=at - now_ms, charges=charges, updates=updates)


def _shares(
    ledger: Ledger, slice_name: str, capacity: float, per_second: float, now: float, *, open_until: int
) -> Shares | None:
    """What the other slices hold of each slot beyond ``open_until`` (see :class:`Shares`)."""
    shares = ledger.shares(capacity, per_second, now)
    others = {name: share for name, share in shares.items() if name != slice_name}
    if not others:
        return None
    own = {name: _per_slot(ledger.booked(name)) for name in others}
    paced_from = {
        name: int(tat) - TAU_MS for name in others if (tat := ledger.number("tat", name)) is not None
    }
    return Shares(others, own, open_until, paced_from)


def _pace(
    ledger: Ledger, slice_name: str, name: str, *, rate_name: str, rate: float, now_ms: int
) -> tuple[float | None, float]:
    """A pace's theoretical arrival time (epoch ms) at ``rate``, and the rate. What it still owes
    was counted in time at the rate it was charged at: a new rate (the next tick) rescales it."""
    tat, charged_at = ledger.number(name, slice_name), ledger.number(rate_name, slice_name)
    if tat is not None and charged_at and rate > 0 and tat > now_ms and charged_at != rate:
        tat = now_ms + (tat - now_ms) * charged_at / rate
    return tat, rate


def book_many(
    ledger: Ledger,
    slice_name: str,
    sizes: Sequence[int],
    *,
    now_ms: int,
    earliest_ms: int,
    max_wait_ms: int,
    rate_per_second: float,
    default_capacity: float,
) -> tuple[list[Booking], dict[str, Any]]:
    """:func:`book` for a sender's messages in order (they are sent at once, each at its slot); a
    refusal does not stop the rest. Returns the
    bookings and the attributes to SET for all of them: one conditional write books a whole SQS
    batch, so senders contend for the item a batch at a time, not a message at a time."""
    bookings: list[Booking] = []
    updates: dict[str, Any] = {}
    current = ledger
    for recipients in sizes:
        booking = book(
            current, slice_name, recipients, now_ms=now_ms, earliest_ms=earliest_ms, max_wait_ms=max_wait_ms,
            rate_per_second=rate_per_second, default_capacity=default_capacity,
        )  # fmt: skip
        bookings.append(booking)
        if not booking.granted or booking.updates is None:
            continue  # the rest may still fit: one large message must not hold back the batch
        updates |= booking.updates
        current = Ledger({**current.item, **booking.updates})
    return bookings, updates


def give_back(
    ledger: Ledger, slice_name: str, *, charges: Mapping[str, int], now_ms: int, backoff_ms: int = 0
) -> dict[str, Any]:
    """The attributes to SET when a booked send was not accepted by SES (429, 5xx, connect
    timeout): the paces it moved give their time back, so the slice does not pay for a send that
    did not happen. The booking itself stays in the log: the attempt did reach (or may have
    reached) SES in that window, and a window SES saw must never look emptier than it was.
    ``backoff_ms`` > 0 (after a 429: something outside the ledger used the account) keeps the
    slice from booking anything before then (``held_until:<slice>``, epoch ms)."""
    updates: dict[str, Any] = {}
    for name, charge in charges.items():
        before = ledger.number(name)
        updates[name] = number_value(max((before if before is not None else now_ms) - charge, now_ms))
    if backoff_ms > 0:
        updates[attr("held_until", slice_name)] = number_value(now_ms + backoff_ms)
    return updates


def unbook(
    ledger: Ledger, returned: Sequence[tuple[Entry, Mapping[str, int]]], *, now_ms: int,
    slice_name: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The attributes to SET to take back bookings whose sends never left (the slot passed before
    the sender could send: nothing reached SES): each ``((at_ms, recipients), charges)`` leaves
    the log, and the paces it moved give their time back. Unlike :func:`give_back` (SES may have
    seen that attempt) the room is freed too: a late slot must not cost its window's capacity."""
    if not returned:
        return {}
    entries = sorted(ledger.log)
    horizon = entries[0][0] if entries and entries[0][1] == 0 else 0
    merged = dict(entries)
    own = _per_slot(ledger.booked(slice_name)) if slice_name is not None else {}
    refunds: dict[str, int] = {}
    for (at, recipients), charges in returned:
        if at in merged and at > horizon:
            merged[at] = merged[at] - recipients
        if at in own:
            own[at] = own[at] - recipients
        for name, charge in charges.items():
            refunds[name] = refunds.get(name, 0) + charge
    updates: dict[str, Any] = {"log": {"S": encode_log(_merge(list(merged.items()), [], horizon))}}
    if slice_name is not None:
        updates[attr("booked", slice_name)] = {"S": encode_log(_merge(list(own.items()), [], horizon))}
    for name, charge in refunds.items():
        before = ledger.number(name)
        updates[name] = number_value(max((before if before is not None else now_ms) - charge, now_ms))
    return updates


def _merge(entries: Sequence[Entry], booked: Sequence[Entry], horizon: int) -> tuple[Entry, ...]:
    merged: dict[int, int] = {}
    for t, n in [*entries, *booked]:
        if n > 0 and t > horizon:
            merged[t] = merged.get(t, 0) + n
    return ((horizon, 0), *sorted(merged.items()))


def write_ledger(
    client: LedgerClient, table: str, ledger: Ledger, updates: Mapping[str, Any], *, now: float,
    ttl_seconds: int = LEDGER_TTL_SECONDS,
) -> tuple[bool, Ledger]:  # fmt: skip
    """Write the item as ``ledger`` with ``updates`` SET, if nobody wrote since it was read
    (optimistic concurrency on ``version``). Returns whether it was written and the item as it is
    now: the new one, or the winner's to decide again on. Both come without another read, so a
    sender that keeps the last item it saw books with one round trip.

    The whole item is put, not updated: every writer of the item bumps ``version`` (the heartbeat
    and a pause too), so nothing written since the read can be overwritten, and a PutItem costs
    the table no update expression to evaluate (on moto, the wire benchmark's stand-in, 7 ms
    against 18 ms for this item)."""
    version = ledger.version
    item = {
        **ledger.item,
        **updates,
        "pk": {"S": LEDGER_PK},
        "version": number_value((version or 0) + 1),
        "expires_at": number_value(math.ceil(now) + ttl_seconds),
    }
    if version is None:
        condition, values = "attribute_not_exists(#version)", None
    else:
        condition, values = "#version = :old", {":old": number_value(version)}
    try:
        client.put_item(
            TableName=table,
            Item=item,
            ConditionExpression=condition,
            ExpressionAttributeNames={"#version": "version"},
            **({"ExpressionAttributeValues": values} if values else {}),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except Exception as exc:
        current = conditional_check_item(exc)
        if current is None:
            raise
        return False, Ledger(current)
    return True, Ledger(item)


def write_caps(
    client: LedgerUpdater, table: str, caps: Mapping[str, float], *, capacity: float, until: float,
    quota: float | None = None, rates: Mapping[str, float] | None = None,
) -> None:  # fmt: skip
    """The heartbeat's tick: each slice's cap, the account capacity (recipients/s), until when the
    caps hold, and the SES quota (how full one slot may be; see :meth:`Ledger.slot_capacity`).
    It bumps ``version``: a sender puts the whole item it read (:func:`write_ledger`), and must
    not put back the caps of the tick before."""
    names = {"#capacity": "capacity", "#until": "caps_until"}
    values = {":capacity": number_value(capacity), ":until": number_value(until)}
    sets = ["#capacity = :capacity", "#until = :until"]
    if quota is not None:  # the SES quota itself: how full one slot may be (Ledger.slot_capacity)
        names["#quota"], values[":quota"] = "quota", number_value(quota)
        sets.append("#quota = :quota")
    for i, (slice_name, cap) in enumerate(sorted(caps.items())):
        names[f"#c{i}"] = attr("cap", slice_name)
        values[f":c{i}"] = number_value(cap)
        sets.append(f"#c{i} = :c{i}")
    for i, (slice_name, rate) in enumerate(sorted((rates or {}).items())):
        # each slice's guaranteed rate: what its share is at least once the caps are stale
        names[f"#r{i}"] = attr("rate", slice_name)
        values[f":r{i}"] = number_value(rate)
        sets.append(f"#r{i} = :r{i}")
    names["#version"], values[":one"] = "version", {"N": "1"}
    client.update_item(
        TableName=table,
        Key={"pk": {"S": LEDGER_PK}},
        UpdateExpression="SET " + ", ".join(sets) + " ADD #version :one",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def write_pause(
    client: LedgerUpdater, table: str, slice_name: str, *, until: float, reason: str,
    ttl_seconds: int = LEDGER_TTL_SECONDS,
) -> bool:  # fmt: skip
    """Pause the slice unless a pause at least as long is set; True if written. The write bumps
    ``version``, so a sender whose reservation read the ledger before the pause loses its write
    race, reads the pause and refuses. Used by the senders (SendingPaused) and the breaker."""
    try:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": LEDGER_PK}},
            UpdateExpression="SET #until = :until, #reason = :reason, #expires_at = :ttl ADD #version :one",
            ConditionExpression="attribute_not_exists(#until) OR #until < :until",
            ExpressionAttributeNames={
                "#until": attr("paused_until", slice_name),
                "#reason": attr("paused_reason", slice_name),
                "#expires_at": "expires_at",
                "#version": "version",
            },
            ExpressionAttributeValues={
                ":until": number_value(until),
                ":reason": {"S": reason},
                ":ttl": number_value(math.ceil(until) + ttl_seconds),
                ":one": {"N": "1"},
            },
        )
    except Exception as exc:
        if conditional_check_item(exc) is None:
            raise
        return False  # a pause at least as long is in force already
    return True

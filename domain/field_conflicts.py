"""Conflict rules of the field sync: pure, deterministic functions over plain values.

No I/O here (no database, clock, network or settings): the push use case loads what a
rule needs, calls it, and stores what it returns. Every rule is written so that the
final state of the database depends only on the *set* of records pushed, never on the
order in which devices pushed them: a read's flags are a function of the read, its
predecessor on the register and the other reads in its billing cycle, and the push
recomputes them for every read whose predecessor or cycle mates changed.

docs/sync-protocol.md ("Conflict rules") lists each rule, who wins and why.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.vee import register_advance

CLOCK_SKEW_LIMIT_S = 300
"""Reads are flagged ``clock_skew`` when the device clock was off by more than this."""

FUTURE_TOLERANCE_S = 300
"""A corrected capture time later than the server's receive time by more than this is refused."""

CUMULATIVE_UNITS = frozenset({"kWh", "kvarh", "kVAh"})
"""Registers that only count up (until they roll over). Demand registers (kW, kVA) are not."""


class Rule(StrEnum):
    """Stored in ``sync_items.rule`` and in reads' ``quality_flags``: never rename a member."""

    SAME_CYCLE = "same_cycle_second_read"
    SUPERSEDED = "superseded_in_cycle"
    EDIT_BILLED = "edit_of_billed_read"
    EDIT_STAFF = "edit_after_staff_edit"
    OLDER_THAN_BILLED = "older_than_billed_read"
    ROLLOVER = "rollover"
    BACKWARDS = "lower_than_previous"
    METER_MOVED = "meter_moved"
    CLOCK_SKEW = "clock_skew"


RULE_PRIORITY = (
    Rule.OLDER_THAN_BILLED,
    Rule.BACKWARDS,
    Rule.ROLLOVER,
    Rule.SAME_CYCLE,
    Rule.SUPERSEDED,
    Rule.METER_MOVED,
    Rule.CLOCK_SKEW,
)
"""When several rules apply to one pushed read, the item reports the first of these."""


# --- clock skew ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClockCorrection:
    offset_s: int
    """Server receive time minus the device's clock at push, in whole seconds."""
    skewed: bool
    """True when ``abs(offset_s)`` exceeds :data:`CLOCK_SKEW_LIMIT_S`."""

    def correct(self, device_time: datetime) -> datetime:
        """A device-clock time shifted onto the server's clock."""
        return device_time + timedelta(seconds=self.offset_s)


def clock_correction(received_at: datetime, device_clock_at: datetime) -> ClockCorrection:
    """How far the device clock was off when it pushed (both times timezone-aware)."""
    offset = round((received_at - device_clock_at).total_seconds())
    return ClockCorrection(offset_s=offset, skewed=abs(offset) > CLOCK_SKEW_LIMIT_S)


def in_future(corrected: datetime, received_at: datetime) -> bool:
    """A capture time after the push reached the server cannot be right."""
    return corrected > received_at + timedelta(seconds=FUTURE_TOLERANCE_S)


# --- billing cycles -----------------------------------------------------------------------


def _read_date(year: int, month: int, read_day: int) -> date:
    return date(year, month, min(read_day, calendar.monthrange(year, month)[1]))


def cycle_of(day: date, read_day: int) -> tuple[int, int]:
    """The (year, month) of the cycle a read on ``day`` (utility zone) belongs to.

    A cycle is named by the month of its read date (``read_day`` of that month); a read
    belongs to the cycle whose read date is nearest, a tie going to the later cycle.
    """
    best: tuple[int, tuple[int, int]] | None = None
    for shift in (-1, 0, 1):
        month_index = day.year * 12 + day.month - 1 + shift
        year, month = divmod(month_index, 12)
        distance = abs((_read_date(year, month + 1, read_day) - day).days)
        key = (year, month + 1)
        if best is None or distance < best[0] or (distance == best[0] and key > best[1]):
            best = (distance, key)
    assert best is not None
    return best[1]


# --- reads and their neighbours -----------------------------------------------------------


@dataclass(frozen=True)
class ReadPoint:
    """What the neighbour rules need to know about one stored read of a register."""

    uuid: str
    read_at: datetime
    value_milli: int
    cycle: tuple[int, int]
    field: bool
    """Captured in the field (manual or probe), the reads the same-cycle rule compares."""

    @property
    def key(self) -> tuple[datetime, str]:
        """The total order of reads on a register: capture time, then UUID."""
        return (self.read_at, self.uuid)


@dataclass(frozen=True)
class RegisterFacts:
    unit: str
    digits: int
    max_load_w: int | None
    """Sanctioned load (or contract demand) in W: the most the register can advance per hour."""

    @property
    def span_milli(self) -> int:
        """The register's range in thousandths of its unit: it shows 0 … 10^digits − 1."""
        return int(10**self.digits) * 1000

    @property
    def cumulative(self) -> bool:
        return self.unit in CUMULATIVE_UNITS


class Drop(StrEnum):
    ROLLOVER = "rollover"
    ERROR = "error"


def classify_drop(
    facts: RegisterFacts, previous: ReadPoint, read: ReadPoint
) -> tuple[Drop, int] | None:
    """A read lower than the previous one: a rollover past 10^digits, or an error.

    Returns ``None`` when the read is not lower (or the register is not cumulative),
    else the verdict and the usage it implies if it rolled over (thousandths).
    The meter-data rule decides first (``domain.vee.register_advance``: a rollover goes
    from the top to the bottom margin of the register's range); then, when the account's
    sanctioned load is known, the usage must also be physically possible: at most that
    load running flat out for the time between the two reads.
    """
    if not facts.cumulative or read.value_milli >= previous.value_milli:
        return None
    wrapped = facts.span_milli - previous.value_milli + read.value_milli
    if register_advance(previous.value_milli, read.value_milli, facts.digits).milli is None:
        return (Drop.ERROR, wrapped)
    hours = max((read.read_at - previous.read_at).total_seconds(), 0) / 3600
    if facts.max_load_w and wrapped > facts.max_load_w * hours:  # Wh == thousandths of kWh
        return (Drop.ERROR, wrapped)
    return (Drop.ROLLOVER, wrapped)


DROP_FLAGS = frozenset({Rule.ROLLOVER, Rule.BACKWARDS})
CYCLE_FLAGS = frozenset({Rule.SAME_CYCLE, Rule.SUPERSEDED})


def drop_flags(facts: RegisterFacts, previous: ReadPoint | None, read: ReadPoint) -> frozenset[str]:
    """``lower_than_previous`` or ``rollover`` against the read's predecessor, if either."""
    if previous is None:
        return frozenset()
    drop = classify_drop(facts, previous, read)
    if drop is None:
        return frozenset()
    return frozenset({Rule.ROLLOVER if drop[0] is Drop.ROLLOVER else Rule.BACKWARDS})


def cycle_flags(mates: Iterable[ReadPoint]) -> dict[str, frozenset[str]]:
    """Flags of the reads of one register in one cycle (non-field reads are ignored).

    When two or more field reads share a cycle, all are kept (each is a true measurement
    at its own time) and all get ``same_cycle_second_read``, and all but the latest by
    (capture time, UUID), the one billing uses, get ``superseded_in_cycle``.
    """
    field = sorted((r for r in mates if r.field), key=lambda r: r.key)
    out: dict[str, frozenset[str]] = {r.uuid: frozenset() for r in mates}
    if len(field) > 1:
        for r in field[:-1]:
            out[r.uuid] = frozenset({Rule.SAME_CYCLE, Rule.SUPERSEDED})
        out[field[-1].uuid] = frozenset({Rule.SAME_CYCLE})
    return out


def replace_flags(
    existing: Iterable[str], category: frozenset[str], new: Iterable[str]
) -> list[str]:
    """A read's stored flags with those of one category recomputed, sorted."""
    kept = {f for f in existing if f not in category}
    return sorted(kept | set(new))


def reported_rule(flags: Iterable[str]) -> Rule | None:
    """The rule a pushed read's result names, when any applied."""
    present = set(flags)
    for rule in RULE_PRIORITY:
        if rule in present:
            return rule
    return None


def cycle_winner(reads: Iterable[ReadPoint]) -> ReadPoint:
    """Of several field reads of a register in one cycle, the one billing uses: the latest."""
    return max(reads, key=lambda r: r.key)


def older_than_billed(read_at: datetime, last_billed_at: datetime | None) -> bool:
    """A read captured before the register's last billed read cannot change that bill."""
    return last_billed_at is not None and read_at < last_billed_at


# --- edits --------------------------------------------------------------------------------


class EditVerdict(StrEnum):
    APPLY = "apply"
    SERVER_WINS = "server_wins"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class StoredRead:
    revision: int
    value_milli: int
    billed: bool
    staff_edited: bool
    """Changed on the server by anyone but the device since it was captured."""


def decide_edit(
    stored: StoredRead, base_revision: int, new_value_milli: int
) -> tuple[EditVerdict, Rule | None]:
    """Whether a device's edit of a read it captured earlier may replace the stored value.

    Billed reads are final (a correction is the office's job, through a rebill), and an
    edit made on the server after the version the device edited wins over the device:
    staff saw more than the handset did.
    """
    if stored.billed:
        if new_value_milli == stored.value_milli:
            return (EditVerdict.UNCHANGED, None)
        return (EditVerdict.SERVER_WINS, Rule.EDIT_BILLED)
    if stored.staff_edited or base_revision < stored.revision:
        if new_value_milli == stored.value_milli:
            return (EditVerdict.UNCHANGED, None)
        return (EditVerdict.SERVER_WINS, Rule.EDIT_STAFF)
    if new_value_milli == stored.value_milli:
        return (EditVerdict.UNCHANGED, None)
    return (EditVerdict.APPLY, None)


# --- what the reader sees next --------------------------------------------------------------


def expected_range(
    facts: RegisterFacts,
    last: tuple[datetime, int] | None,
    earlier: tuple[datetime, int] | None,
    on: datetime,
) -> tuple[int, int] | None:
    """The range the next read taken at ``on`` should fall in, from the last two actual reads.

    Average daily usage between the two, projected to ``on``: half to twice that usage
    (at least ±1 unit), wrapped past the register's span. Without two reads, ``None``.
    """
    if last is None or earlier is None or not facts.cumulative:
        return None
    (last_at, last_value), (earlier_at, earlier_value) = last, earlier
    days_between = (last_at - earlier_at).total_seconds() / 86400
    if days_between <= 0:
        return None
    used = (last_value - earlier_value) % facts.span_milli
    ahead = max((on - last_at).total_seconds() / 86400, 0)
    projected = used / days_between * ahead
    low = last_value + int(projected * 0.5)
    high = last_value + max(int(projected * 2), 1000)
    return (low % facts.span_milli, high % facts.span_milli)

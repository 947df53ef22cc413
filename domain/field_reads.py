"""Which outcome a read pushed from the field gets, and the flags it leaves on its neighbours.

Pure: the push use case (``services/field/pushed_reads.py``) loads the register's facts
and the reads around the new one into a :class:`Window`, asks :func:`decide_read`, writes
what the decision says and then :meth:`Window.admit` s it, so that the next read of the
same batch is decided against it exactly as if the first had been stored alone.
The neighbour rules themselves (drops, cycles, clock skew) are ``domain/field_conflicts.py``.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain import field_conflicts as conflicts
from domain.enums import ReadSource, SyncItemResult
from domain.field_conflicts import ClockCorrection, ReadPoint, RegisterFacts, Rule

FIELD_SOURCES = frozenset({ReadSource.MANUAL.value, ReadSource.PROBE.value})
"""Reads captured in the field: the ones the same-cycle rule compares."""
NEIGHBOUR_WINDOW = timedelta(days=45)
"""Reads this far before a new read are loaded with it: its predecessor and cycle mates."""


@dataclass(frozen=True)
class FieldRegister:
    """What the rules need to know about the register a read is pushed for."""

    id: int
    meter_id: int
    facts: RegisterFacts
    read_day: int
    """The read day of the billing cycle of the account the meter bills (1 if none)."""
    zone: ZoneInfo
    """The utility's time zone, in which a read's date (and so its cycle) is taken."""

    def point(self, uuid: str, read_at: datetime, value_milli: int, source: str) -> ReadPoint:
        """A read of this register as the neighbour rules see it."""
        return ReadPoint(
            uuid=uuid,
            read_at=read_at,
            value_milli=value_milli,
            cycle=conflicts.cycle_of(read_at.astimezone(self.zone).date(), self.read_day),
            field=str(source) in FIELD_SOURCES,
        )


@dataclass
class Window:
    """A register's reads around the new ones, and their flags as they stand so far."""

    points: list[ReadPoint]
    """Sorted by :attr:`ReadPoint.key`."""
    flags: dict[str, list[str]]
    changed: set[str] = field(default_factory=set)
    """Reads whose flags differ from what is stored: the caller writes these."""

    def set(self, read_uuid: str, category: frozenset[str], new: frozenset[str]) -> None:
        flags = conflicts.replace_flags(self.flags.get(read_uuid, []), category, new)
        if flags != self.flags.get(read_uuid):
            self.flags[read_uuid] = flags
            self.changed.add(read_uuid)

    def admit(self, decision: ReadDecision) -> None:
        """Take a stored read into the window: its flags, and its neighbours' new flags."""
        if decision.point is None:
            return
        for read_uuid, category, new in decision.retags:
            self.set(read_uuid, category, new)
        bisect.insort(self.points, decision.point, key=lambda p: p.key)
        self.flags[decision.point.uuid] = list(decision.flags)


@dataclass(frozen=True)
class Refusal:
    """Why a read (or edit, or skip) is not stored: a code and a sentence for the reader."""

    code: str
    message: str


@dataclass(frozen=True)
class ReadDecision:
    """The outcome of one pushed read.

    ``point`` is set when the read is to be stored (accepted, or stored under a conflict
    rule); then ``flags`` are its ``quality_flags`` and ``retags`` the flags of older reads
    it changes, as (read uuid, category, that category's new flags).
    """

    result: SyncItemResult
    refusal: Refusal | None = None
    point: ReadPoint | None = None
    flags: tuple[str, ...] = ()
    rule: Rule | None = None
    """The rule the item reports (the first of ``RULE_PRIORITY`` among its flags)."""
    retags: tuple[tuple[str, frozenset[str], frozenset[str]], ...] = ()
    previous: ReadPoint | None = None
    """The read before it on the register, if any is known."""
    cycle_winner: ReadPoint | None = None
    """Of the field reads of its cycle (itself included), the one billing uses."""

    @property
    def stored(self) -> bool:
        return self.point is not None


def decide_read(
    *,
    uuid: str,
    register_id: int,
    value_milli: int,
    read_at: datetime,
    stored_register_id: int | None,
    register: FieldRegister | None,
    window: Window | None,
    received_at: datetime,
    correction: ClockCorrection,
    on_my_routes: bool,
    last_billed_at: datetime | None,
) -> ReadDecision:
    """Decide one pushed read; changes nothing (the caller admits it into ``window``).

    ``read_at`` is the capture time already corrected onto the server's clock;
    ``stored_register_id`` the register of a read already stored under this ``uuid``;
    ``window`` the register's reads from :data:`NEIGHBOUR_WINDOW` before ``read_at`` on,
    plus the last one before that (as other reads of the batch left them).
    """
    if stored_register_id is not None:
        if stored_register_id != register_id:
            return _refused("uuid_in_use", "this UUID belongs to another read: generate a new one")
        return ReadDecision(SyncItemResult.DUPLICATE)
    if register is None or window is None:
        return _refused("unknown_register", f"register {register_id} does not exist: pull again")
    if value_milli >= register.facts.span_milli:
        return _refused(
            "too_many_digits",
            f"the register shows at most {register.facts.digits} digits: check the value",
        )
    if conflicts.in_future(read_at, received_at):
        return _refused(
            "capture_in_future", "the capture time is in the future: check the handset's clock"
        )
    static: set[str] = set()
    if correction.skewed:
        static.add(Rule.CLOCK_SKEW)
    if not on_my_routes:
        static.add(Rule.METER_MOVED)
    if conflicts.older_than_billed(read_at, last_billed_at):
        static.add(Rule.OLDER_THAN_BILLED)
    point = register.point(uuid, read_at, value_milli, ReadSource.MANUAL)  # a field read
    before = [r for r in window.points if r.key < point.key]
    after = [r for r in window.points if r.key > point.key]
    previous = before[-1] if before else None
    flags = set(conflicts.drop_flags(register.facts, previous, point))
    retags: list[tuple[str, frozenset[str], frozenset[str]]] = []
    if after:
        retags.append(
            (
                after[0].uuid,
                conflicts.DROP_FLAGS,
                conflicts.drop_flags(register.facts, point, after[0]),
            )
        )
    mates = [r for r in window.points if r.cycle == point.cycle] + [point]
    by_cycle = conflicts.cycle_flags(mates)
    flags |= by_cycle[point.uuid]
    retags.extend(
        (mate.uuid, conflicts.CYCLE_FLAGS, by_cycle[mate.uuid])
        for mate in mates
        if mate.uuid != point.uuid
    )
    all_flags = static | flags
    rule = conflicts.reported_rule(all_flags)
    return ReadDecision(
        SyncItemResult.ACCEPTED if rule is None else SyncItemResult.CONFLICT_RESOLVED,
        point=point,
        flags=tuple(sorted(all_flags)),
        rule=rule,
        retags=tuple(retags),
        previous=previous,
        cycle_winner=conflicts.cycle_winner(r for r in mates if r.field),
    )


def _refused(code: str, message: str) -> ReadDecision:
    return ReadDecision(SyncItemResult.REJECTED, Refusal(code, message))

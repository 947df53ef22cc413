"""Validation of meter data (the V of VEE): rules over plain values, each returning flags.

Every rule is a function of the values it judges and of a :class:`VeeConfig`, which a
utility tunes (``GRIDBILL_VEE_CONFIG``, see ``docs/meter-data.md``). A rule that fires
returns a :class:`Flag` with its :class:`Rule` code and a detail for the person who
reviews it. Most rules make a value *suspect*: it waits in the exceptions queue and no
bill uses it until staff accept it. A few only *inform* (a register rolling over past
its last digit is normal): the value stays valid and the flag is kept with it.

Energy is integer Wh (register values in thousandths of the register's unit, which is
Wh for a kWh register); ratios and averages are Decimal; times are aware and passed in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Final

from domain.enums import ExceptionStatus, ReadQuality
from domain.tou import (
    DAY_TYPES,
    WEEKDAY_NAMES,
    Calendar,
    CalendarError,
    DayType,
    from_rules,
    parse_hours,
)
from domain.tou import Rule as TouRule

DAY = timedelta(days=1)
SECONDS_PER_DAY: Final = Decimal(86_400)


class Rule(StrEnum):
    """VEE rule codes, stored in ``validation_exceptions.rule`` and ``quality_flags``."""

    REGISTER_BACKWARDS = "register_backwards"
    REGISTER_ROLLOVER = "register_rollover"
    HIGH_CONSUMPTION = "high_consumption"
    LOW_CONSUMPTION = "low_consumption"
    ZERO_CONSUMPTION = "zero_consumption"
    FUTURE_READ = "future_read"
    BEFORE_LAST_BILLED = "before_last_billed"
    BEFORE_INSTALL = "before_install"
    AFTER_REMOVAL = "after_removal"
    INTERVAL_JUMP = "interval_jump"
    INTERVAL_GAP = "interval_gap"
    INTERVAL_OVERLAP = "interval_overlap"
    INTERVAL_DUPLICATE = "interval_duplicate"
    HEAD_END_SUSPECT = "head_end_suspect"


INFORMATIONAL: Final = frozenset({Rule.REGISTER_ROLLOVER})
"""Rules that are recorded but leave the value valid (no exception for staff)."""


@dataclass(frozen=True)
class Flag:
    rule: Rule
    detail: Mapping[str, str] = field(default_factory=dict)

    @property
    def suspect(self) -> bool:
        return self.rule not in INFORMATIONAL


def is_suspect(flags: Sequence[Flag]) -> bool:
    return any(flag.suspect for flag in flags)


# --- configuration ---------------------------------------------------------------------


def default_usage_calendar() -> Calendar:
    """Time-of-day split of the usage aggregates: peak 18–22 h, off-peak 22–06 h, normal."""
    all_days = frozenset(DAY_TYPES)
    months = frozenset(range(1, 13))
    rules = [
        TouRule("peak", months, all_days, parse_hours("18-22")),
        TouRule("off_peak", months, all_days, parse_hours("22-06")),
    ]
    return from_rules(
        "usage", ("peak", "normal", "off_peak"), rules, "normal", frozenset({5, 6}), "weekend"
    )


@dataclass(frozen=True)
class VeeConfig:
    """A utility's VEE thresholds. The defaults are documented in docs/meter-data.md."""

    high_factor: Decimal = Decimal(3)
    """k: use above k × the average daily use is high."""
    low_factor: Decimal = Decimal(3)
    """use below the average daily use ÷ k is low (zero is the zero rule's)."""
    history_days: int = 30
    """the average daily use is taken over this many days before the value judged."""
    min_history_days: int = 7
    """with less history than this, high and low are not judged."""
    zero_min_days: int = 1
    """a register unchanged over at least this many days on an active account is suspect."""
    future_tolerance: timedelta = timedelta(minutes=10)
    """clock skew allowed before a read counts as dated in the future."""
    future_margin: timedelta = timedelta(hours=24)
    """a delivered value dated after now + this is refused, not stored (an environment
    setting, GRIDBILL_INGEST_FUTURE_MARGIN_HOURS, not a key of the VEE file)."""
    jump_factor: Decimal = Decimal(10)
    jump_min_wh: int = 500
    """an interval more than jump_factor × the one before and at least jump_min_wh above it."""
    short_gap_intervals: int = 4
    """gaps up to this many intervals are filled by linear interpolation."""
    profile_weeks: int = 4
    """longer gaps: the average of the same weekday/weekend slot over this many weeks."""
    max_fill_days: int = 31
    """gaps longer than this are flagged but not filled."""
    rollover_margin: Decimal = Decimal("0.1")
    """a fall counts as a rollover when it goes from the top to the bottom margin of the range."""
    intervals_include_multiplier: bool = False
    """true when the head-end already multiplies interval energy by the CT/PT ratio."""
    usage_calendar: Calendar = field(default_factory=default_usage_calendar)
    """TOU periods of the usage aggregates (and weekend days for profile estimation)."""


DEFAULT_CONFIG: Final = VeeConfig()


class ConfigError(ValueError):
    """A VEE configuration document that cannot be used; the message names the key."""


_DECIMALS = ("high_factor", "low_factor", "jump_factor", "rollover_margin")
_INTS = (
    "history_days",
    "min_history_days",
    "zero_min_days",
    "jump_min_wh",
    "short_gap_intervals",
    "profile_weeks",
    "max_fill_days",
)
_KEYS = frozenset(
    {*_DECIMALS, *_INTS, "future_tolerance_minutes", "intervals_include_multiplier"}
    | {"usage_calendar"}
)


def parse_config(document: Mapping[str, object]) -> VeeConfig:
    """A :class:`VeeConfig` from a JSON object: every key optional, unknown keys refused."""
    unknown = sorted(set(document) - _KEYS)
    if unknown:
        raise ConfigError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
    values: dict[str, object] = {}
    for key in _DECIMALS:
        if key in document:
            values[key] = _positive_decimal(document[key], key)
    for key in _INTS:
        if key in document:
            values[key] = _whole(document[key], key)
    if "future_tolerance_minutes" in document:
        minutes = _whole(document["future_tolerance_minutes"], "future_tolerance_minutes")
        values["future_tolerance"] = timedelta(minutes=minutes)
    if "intervals_include_multiplier" in document:
        flag = document["intervals_include_multiplier"]
        if not isinstance(flag, bool):
            raise ConfigError("intervals_include_multiplier must be true or false")
        values["intervals_include_multiplier"] = flag
    if "usage_calendar" in document:
        values["usage_calendar"] = _calendar(document["usage_calendar"])
    config = VeeConfig(**values)  # type: ignore[arg-type]
    if config.rollover_margin >= Decimal("0.5"):
        raise ConfigError("rollover_margin must be below 0.5")
    if config.min_history_days > config.history_days:
        raise ConfigError("min_history_days must not exceed history_days")
    return config


def _positive_decimal(value: object, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ConfigError(f'{key} must be a number written as a string, e.g. "3"')
    try:
        number = Decimal(value)
    except ArithmeticError:
        raise ConfigError(f"{key}={value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ConfigError(f"{key} must be above zero")
    return number


def _whole(value: object, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{key} must be a whole number, 0 or more")
    return value


def _calendar(value: object) -> Calendar:
    """``{"periods": [...], "default_period": "normal", "weekend": [...], "rules": [...]}``."""
    if not isinstance(value, Mapping):
        raise ConfigError("usage_calendar must be an object")
    periods = value.get("periods")
    if not isinstance(periods, list) or not periods or not all(isinstance(p, str) for p in periods):
        raise ConfigError("usage_calendar.periods must be a list of period names")
    default = value.get("default_period")
    if default is not None and default not in periods:
        raise ConfigError("usage_calendar.default_period must be one of its periods")
    weekend_names = value.get("weekend", ["saturday", "sunday"])
    if not isinstance(weekend_names, list) or any(d not in WEEKDAY_NAMES for d in weekend_names):
        raise ConfigError("usage_calendar.weekend must list day names like 'sunday'")
    raw_rules = value.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ConfigError("usage_calendar.rules must be a list")
    rules = [
        _tou_rule(raw, f"usage_calendar.rules[{i}]", periods) for i, raw in enumerate(raw_rules)
    ]
    try:
        return from_rules(
            "usage",
            tuple(periods),
            rules,
            None if default is None else str(default),
            frozenset(WEEKDAY_NAMES.index(d) for d in weekend_names),
            "weekend",
        )
    except CalendarError as exc:
        raise ConfigError(f"usage_calendar: {exc}") from None


def _tou_rule(raw: object, path: str, periods: Sequence[str]) -> TouRule:
    if not isinstance(raw, Mapping) or raw.get("period") not in periods:
        raise ConfigError(f"{path} needs a period of the calendar")
    hours: set[int] = set()
    months: set[int] = set()
    days: set[DayType] = set()
    try:
        for text in raw.get("hours", ["00-24"]):
            hours |= parse_hours(str(text))
    except CalendarError as exc:
        raise ConfigError(f"{path}.hours: {exc}") from None
    for month in raw.get("months", range(1, 13)):
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise ConfigError(f"{path}.months must be month numbers 1-12")
        months.add(month)
    for day in raw.get("days", DAY_TYPES):
        if day not in DAY_TYPES:
            raise ConfigError(f"{path}.days must be among {', '.join(DAY_TYPES)}")
        days.add(day)
    return TouRule(str(raw["period"]), frozenset(months), frozenset(days), frozenset(hours))


# --- the meter multiplier ----------------------------------------------------------------


def multiplier(ct_primary: int, ct_secondary: int, pt_primary: int, pt_secondary: int) -> Fraction:
    """The billing multiplier of a CT/PT-operated meter: the product of the two ratios."""
    if min(ct_primary, ct_secondary, pt_primary, pt_secondary) <= 0:
        raise ValueError("transformer ratings must be positive")
    return Fraction(ct_primary, ct_secondary) * Fraction(pt_primary, pt_secondary)


def apply_multiplier(wh: int, factor: Fraction) -> int:
    """Secondary-side energy as the meter counted it → primary-side energy, to the Wh."""
    if factor == 1:
        return wh
    exact = Decimal(wh) * factor.numerator / factor.denominator
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


# --- register reads ----------------------------------------------------------------------


def register_range_milli(digits: int) -> int:
    """Where a register with ``digits`` whole digits passes back to zero, in thousandths."""
    return int(10**digits) * 1000


@dataclass(frozen=True)
class Advance:
    """What a register advanced by between two reads, and how the rule judged the move."""

    milli: int | None  # None: the register went backwards (an error, not a rollover)
    flags: tuple[Flag, ...]


def register_advance(
    previous: int, current: int, digits: int, config: VeeConfig = DEFAULT_CONFIG
) -> Advance:
    """How far the register moved from ``previous`` to ``current`` (thousandths).

    A fall is a rollover when the previous value was in the top ``rollover_margin`` of
    the register's range and the new one is in the bottom margin (999 990 → 000 012 on a
    6-digit register); any other fall is an error.
    """
    if current >= previous:
        return Advance(current - previous, ())
    top = register_range_milli(digits)
    margin = Decimal(top) * config.rollover_margin
    if previous >= top - margin and current <= margin:
        advance = top - previous + current
        return Advance(advance, (Flag(Rule.REGISTER_ROLLOVER, {"range": _kwh(top)}),))
    detail = {"previous": _kwh(previous), "current": _kwh(current), "digits": str(digits)}
    return Advance(None, (Flag(Rule.REGISTER_BACKWARDS, detail),))


def average_daily_use(
    reads: Sequence[tuple[datetime, int]], digits: int, factor: Fraction = Fraction(1)
) -> tuple[Decimal, Decimal] | None:
    """(Wh a day, days of history) from consecutive reads in time order, or None.

    Pairs that went backwards (not a rollover) are left out. Wh are primary-side: the
    register's advance times the multiplier.
    """
    total = 0
    seconds = 0
    for (t0, v0), (t1, v1) in pairwise(reads):
        advance = register_advance(v0, v1, digits).milli
        if advance is None or t1 <= t0:
            continue
        total += apply_multiplier(advance, factor)
        seconds += int((t1 - t0).total_seconds())
    if seconds <= 0:
        return None
    days = Decimal(seconds) / SECONDS_PER_DAY
    return Decimal(total) / days, days


def check_usage(
    used_wh: Decimal,
    days: Decimal,
    average: Decimal | None,
    history_days: Decimal,
    *,
    active: bool,
    config: VeeConfig = DEFAULT_CONFIG,
) -> list[Flag]:
    """High, low and zero consumption of ``used_wh`` over ``days`` against the history.

    ``average`` is the average daily use over ``history_days`` before (None: no history).
    Zero use is suspect on an active account once ``days`` reaches ``zero_min_days``
    (an empty house on a disconnected account is no surprise). High and low need at
    least ``min_history_days`` of history with some use in it.
    """
    if days <= 0:
        return []
    if used_wh == 0:
        if active and days >= config.zero_min_days:
            return [Flag(Rule.ZERO_CONSUMPTION, {"days": _days(days)})]
        return []
    if average is None or average <= 0 or history_days < config.min_history_days:
        return []
    rate = used_wh / days
    detail = {
        "kwh_per_day": _kwh_decimal(rate),
        "average_kwh_per_day": _kwh_decimal(average),
        "days": _days(days),
    }
    if rate > average * config.high_factor:
        return [Flag(Rule.HIGH_CONSUMPTION, {**detail, "factor": str(config.high_factor)})]
    if rate * config.low_factor < average:
        return [Flag(Rule.LOW_CONSUMPTION, {**detail, "factor": str(config.low_factor)})]
    return []


# --- timing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Installation:
    """When a meter was on the service point: ``removed_at`` is None while it still is."""

    installed_at: datetime
    removed_at: datetime | None = None


def check_timing(
    at: datetime,
    *,
    now: datetime,
    installations: Sequence[Installation],
    last_billed_at: datetime | None,
    end: datetime | None = None,
    config: VeeConfig = DEFAULT_CONFIG,
) -> list[Flag]:
    """Rules on when a value was measured: future, before install, after removal, billed.

    ``at`` is a register read's time or an interval's start, ``end`` an interval's end
    (a 15-minute interval is complete only at its end, so that is what must not be in the
    future). A value at or before the last billed read would change a bill already issued.
    """
    flags: list[Flag] = []
    if (end or at) > now + config.future_tolerance:
        flags.append(Flag(Rule.FUTURE_READ, {"at": _iso(end or at), "now": _iso(now)}))
    if not any(
        i.installed_at <= at and (i.removed_at is None or at < i.removed_at) for i in installations
    ):
        first = min((i.installed_at for i in installations), default=None)
        if first is None:
            flags.append(Flag(Rule.BEFORE_INSTALL, {"installed_at": "never installed"}))
        elif at < first:
            flags.append(Flag(Rule.BEFORE_INSTALL, {"installed_at": _iso(first)}))
        else:
            removed = max((i.removed_at for i in installations if i.removed_at), default=None)
            flags.append(Flag(Rule.AFTER_REMOVAL, {"removed_at": _iso(removed) if removed else ""}))
    if last_billed_at is not None and at <= last_billed_at:
        flags.append(Flag(Rule.BEFORE_LAST_BILLED, {"last_billed_at": _iso(last_billed_at)}))
    return flags


# --- interval series ---------------------------------------------------------------------


def check_jump(previous_wh: int, wh: int, config: VeeConfig = DEFAULT_CONFIG) -> Flag | None:
    """An implausible rise from one interval to the next (a spike, or a register glitch)."""
    if wh - previous_wh >= config.jump_min_wh and wh > previous_wh * config.jump_factor:
        return Flag(
            Rule.INTERVAL_JUMP,
            {"previous_kwh": _kwh(previous_wh), "kwh": _kwh(wh), "factor": str(config.jump_factor)},
        )
    return None


@dataclass(frozen=True)
class Gap:
    """Intervals missing between two that are there, kept as bounds and a count.

    A gap can span years (a stray far-future value, a meter silent since installation):
    nothing here grows with its length. :meth:`starts` lists the missing starts, for the
    caller to ask only once it knows the gap is short enough to fill.
    """

    after: datetime  # start of the interval before the gap
    before: datetime  # start of the interval after it
    first: datetime  # the first missing start (the end of the interval before)
    step: timedelta  # the length of the intervals the gap is counted in
    count: int  # how many intervals are missing

    @property
    def last(self) -> datetime:
        return self.first + self.step * (self.count - 1)

    def starts(self) -> tuple[datetime, ...]:
        """Every missing start: as many as :attr:`count`, so bound it before asking."""
        return tuple(self.first + self.step * i for i in range(self.count))

    @property
    def flag(self) -> Flag:
        return Flag(
            Rule.INTERVAL_GAP,
            {"from": _iso(self.first), "to": _iso(self.last), "missing": str(self.count)},
        )

    def __len__(self) -> int:
        return self.count


@dataclass(frozen=True)
class Overlap:
    """An interval that starts before the one before it has ended (different lengths)."""

    start: datetime
    previous_end: datetime

    @property
    def flag(self) -> Flag:
        return Flag(
            Rule.INTERVAL_OVERLAP,
            {"start": _iso(self.start), "previous_end": _iso(self.previous_end)},
        )


def series_break(
    previous_start: datetime, previous_length_s: int, start: datetime, length_s: int
) -> Gap | Overlap | None:
    """What lies between two consecutive intervals of a channel: nothing, a gap or an overlap."""
    previous_end = previous_start + timedelta(seconds=previous_length_s)
    if start == previous_end:
        return None
    if start < previous_end:
        return Overlap(start, previous_end)
    step = timedelta(seconds=length_s)
    count = -(-(start - previous_end) // step)  # starts previous_end, + step, … before start
    return Gap(previous_start, start, previous_end, step, count)


def check_interval_duplicate(previous_wh: int, wh: int) -> Flag | None:
    """The same interval twice in one delivery with different values."""
    if previous_wh == wh:
        return None
    return Flag(Rule.INTERVAL_DUPLICATE, {"first_kwh": _kwh(previous_wh), "kwh": _kwh(wh)})


def check_day(
    total_wh: int,
    history_wh: Sequence[int],
    *,
    active: bool,
    config: VeeConfig = DEFAULT_CONFIG,
) -> list[Flag]:
    """A whole day of interval data against the days before it (with some use in them)."""
    used = [Decimal(v) for v in history_wh if v > 0]
    average = sum(used, Decimal(0)) / len(used) if used else None
    return check_usage(
        Decimal(total_wh), Decimal(1), average, Decimal(len(used)), active=active, config=config
    )


# --- formatting of details ---------------------------------------------------------------


def _kwh(milli: int) -> str:
    return str(Decimal(milli) / 1000)


def _kwh_decimal(wh: Decimal) -> str:
    return str((wh / 1000).quantize(Decimal("0.001")))


def _days(days: Decimal) -> str:
    return str(days.quantize(Decimal("0.01")))


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def review_outcome(
    decision: ExceptionStatus, current: int, replacement: int | None
) -> tuple[ReadQuality, int]:
    """The quality and value a read or interval takes when staff decide on its exception:
    accepted stands as valid, rejected is kept but never used, replaced takes staff's value."""
    if decision is ExceptionStatus.ACCEPTED:
        return ReadQuality.VALID, current
    if decision is ExceptionStatus.REJECTED:
        return ReadQuality.REJECTED, current
    if decision is ExceptionStatus.REPLACED and replacement is not None:
        return ReadQuality.EDITED, replacement
    raise ValueError(f"no outcome for {decision} with replacement {replacement!r}")

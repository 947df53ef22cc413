"""An account's usage history, per day or month, with the same period a year earlier.

Where usage comes from, in order of preference:

1. ``usage_daily``/``usage_monthly``, when the meter-data pipeline has filled them;
2. smart meters' interval data, summed per local day by the database;
3. register reads of every meter the account's service point had, spread over the days
   between reads (``domain.usage_history``).

Only the dates the viewer may see are answered (a customer never sees the previous
occupant's usage); the caller passes those spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from tortoise.connection import get_connection

from domain import usage_history as rules
from domain.enums import ReadQuality
from domain.usage_aggregates import IMPORT_OBIS
from services.errors import Refused
from services.viewer import Holding
from store.models import (
    Account,
    IntervalReading,
    MeterInstallation,
    MultiplierChange,
    Register,
    RegisterRead,
    UsageDaily,
    UsageMonthly,
)

MAX_DAYS = 400
MAX_MONTHS = 37
UNUSABLE = (ReadQuality.REJECTED, ReadQuality.SUSPECT)


@dataclass(frozen=True)
class History:
    start: date
    end: date  # exclusive
    points: list[rules.Point]
    total_wh: int
    source: str  # "usage_tables", "intervals", "reads", "none"


def check_range(start: date, end: date, *, monthly: bool) -> None:
    if end <= start:
        raise Refused("INVALID_INPUT", "`to` must be after `from`", field="to")
    days = (end - start).days
    if monthly and days > MAX_MONTHS * 31:
        raise Refused("INVALID_INPUT", f"ask for at most {MAX_MONTHS} months at a time", field="to")
    if not monthly and days > MAX_DAYS:
        raise Refused("INVALID_INPUT", f"ask for at most {MAX_DAYS} days at a time", field="to")


def _visible(
    days: dict[date, rules.DayEnergy], spans: list[Holding]
) -> dict[date, rules.DayEnergy]:
    def seen(day: date) -> bool:
        return any(
            h.move_in_on <= day and (h.move_out_on is None or day <= h.move_out_on) for h in spans
        )

    return {day: energy for day, energy in days.items() if seen(day)}


async def history(
    account: Account, *, start: date, end: date, monthly: bool, spans: list[Holding], zone: ZoneInfo
) -> History:
    """Usage of ``account`` over [start, end), limited to ``spans``."""
    check_range(start, end, monthly=monthly)
    days, source = await _days(account, start, end, zone, monthly=monthly)
    days = _visible(days, spans)
    points = rules.points(days, start=start, end=end, monthly=monthly)
    return History(start, end, points, sum(p.wh for p in points), source if points else "none")


@dataclass(frozen=True)
class Comparison:
    """A period's usage beside the same period a year earlier."""

    current: History
    last_year: History
    change: Fraction | None
    """(current − last year) ÷ last year, or None when last year has no data."""


async def compare_with_last_year(
    account: Account, *, start: date, end: date, monthly: bool, spans: list[Holding], zone: ZoneInfo
) -> Comparison:
    """What the customer app's usage screen shows: this period, last year's, the change."""
    current = await history(account, start=start, end=end, monthly=monthly, spans=spans, zone=zone)
    last_start, last_end = rules.same_period_last_year(start, end)
    previous = await history(
        account, start=last_start, end=last_end, monthly=monthly, spans=spans, zone=zone
    )
    change = rules.change_percent(current.total_wh, previous.total_wh) if previous.points else None
    return Comparison(current, previous, change)


async def _days(
    account: Account, start: date, end: date, zone: ZoneInfo, *, monthly: bool
) -> tuple[dict[date, rules.DayEnergy], str]:
    tables = await _from_usage_tables(account.id, start, end, monthly=monthly)
    if tables:
        return tables, "usage_tables"
    installations = await MeterInstallation.filter(
        service_point_id=account.service_point_id,  # type: ignore[attr-defined]
        installed_at__lt=_utc(end, zone),
    ).values("id", "meter_id", "installed_at", "removed_at")
    installations = [
        i for i in installations if i["removed_at"] is None or i["removed_at"] > _utc(start, zone)
    ]
    if not installations:
        return {}, "none"
    registers = await Register.filter(
        meter_id__in=[i["meter_id"] for i in installations], obis_code=IMPORT_OBIS
    ).values("id", "meter_id", "digits")
    if not registers:
        return {}, "none"
    measured = await _interval_days(registers, start, end, zone)
    read_days = await _read_days(registers, installations, start, end, zone)
    combined = rules.combine([rules.measured_days(measured), read_days])
    return combined, "intervals" if measured else "reads"


async def _from_usage_tables(
    account_id: int, start: date, end: date, *, monthly: bool
) -> dict[date, rules.DayEnergy]:
    if monthly:
        rows = await UsageMonthly.filter(
            account_id=account_id,
            tou_period="",
            month__gte=rules.first_of_month(start),
            month__lt=end,
        ).values("month", "import_wh")
        # A month's total is attributed to its first day; points() adds it to that month.
        return {
            r["month"]: rules.DayEnergy(r["month"], Fraction(r["import_wh"]), False) for r in rows
        }
    rows = await UsageDaily.filter(
        account_id=account_id, tou_period="", day__gte=start, day__lt=end
    ).values("day", "import_wh", "estimated_wh")
    return {
        r["day"]: rules.DayEnergy(r["day"], Fraction(r["import_wh"]), r["estimated_wh"] > 0)
        for r in rows
    }


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone).astimezone(UTC)


def _constant_offset(start: date, end: date, zone: ZoneInfo) -> timedelta | None:
    """The zone's UTC offset when it is the same on every day of the range (no DST)."""
    first = _utc(start, zone).astimezone(zone).utcoffset()
    day = start
    while day <= end:
        if datetime.combine(day, time(12), zone).utcoffset() != first:
            return None
        day += timedelta(days=28)
    last = datetime.combine(end, time(12), zone).utcoffset()
    return first if last == first else None


async def _interval_days(
    registers: list[dict[str, object]], start: date, end: date, zone: ZoneInfo
) -> dict[date, int]:
    """Interval energy per local day, summed by the database where it can do so exactly."""
    ids = [int(str(r["id"])) for r in registers]
    lo, hi = _utc(start, zone), _utc(end, zone)
    connection = get_connection("default")
    postgres = connection.capabilities.dialect == "postgres"
    marks = ", ".join(f"${i + 4}" if postgres else "?" for i in range(len(ids)))
    # Only placeholders and a whole number of minutes are put into the SQL text.
    where = f"interval_start >= {'$2' if postgres else '?'} AND interval_start < {'$3' if postgres else '?'}"
    where += f" AND register_id IN ({marks})"
    if postgres:
        sql = "SELECT (interval_start AT TIME ZONE $1)::date AS day, SUM(value_wh) AS wh FROM interval_readings "
        sql += f"WHERE {where} GROUP BY 1"
        rows = await connection.execute_query_dict(sql, [zone.key, lo, hi, *ids])
        return {r["day"]: int(r["wh"]) for r in rows}
    offset = _constant_offset(start, end, zone)
    if offset is None:  # a zone with daylight saving: sum in Python, exactly
        totals: dict[date, int] = {}
        async for row in _interval_rows(ids, lo, hi):
            day = row[0].astimezone(zone).date()
            totals[day] = totals.get(day, 0) + row[1]
        return totals
    minutes = int(offset.total_seconds() // 60)
    sql = f"SELECT date(interval_start, '{minutes:+d} minutes') AS day, SUM(value_wh) AS wh "
    sql += f"FROM interval_readings WHERE {where} GROUP BY 1"
    rows = await connection.execute_query_dict(sql, [_sqlite_time(lo), _sqlite_time(hi), *ids])
    return {date.fromisoformat(r["day"]): int(r["wh"]) for r in rows if r["day"]}


def _sqlite_time(at: datetime) -> str:
    """How Tortoise stores an aware datetime in SQLite, so text comparison is time order."""
    return at.astimezone(UTC).isoformat(sep=" ")


async def _interval_rows(ids: list[int], lo: datetime, hi: datetime):  # type: ignore[no-untyped-def]
    rows = await IntervalReading.filter(
        register_id__in=ids, interval_start__gte=lo, interval_start__lt=hi
    ).values_list("interval_start", "value_wh")
    for row in rows:
        yield row


async def _read_days(
    registers: list[dict[str, object]],
    installations: list[dict[str, object]],
    start: date,
    end: date,
    zone: ZoneInfo,
) -> list[rules.DayEnergy]:
    """Register reads of each meter, from the last read before ``start`` to the first after."""
    out: list[rules.DayEnergy] = []
    multipliers = await _multipliers([int(str(i["id"])) for i in installations])
    by_meter = {int(str(i["meter_id"])): int(str(i["id"])) for i in installations}
    lo, hi = _utc(start, zone), _utc(end, zone)
    for register in registers:
        register_id = int(str(register["id"]))
        usable = RegisterRead.filter(register_id=register_id).exclude(quality__in=UNUSABLE)
        before = (
            await usable.filter(read_at__lt=lo)
            .order_by("-read_at")
            .limit(1)
            .values("read_at", "value_milli")
        )
        inside = (
            await usable.filter(read_at__gte=lo, read_at__lt=hi)
            .order_by("read_at")
            .values("read_at", "value_milli")
        )
        after = (
            await usable.filter(read_at__gte=hi)
            .order_by("read_at")
            .limit(1)
            .values("read_at", "value_milli")
        )
        rows = [*before, *inside, *after]
        reads = [rules.Read(r["read_at"], r["value_milli"]) for r in rows]
        multiplier = multipliers.get(by_meter.get(int(str(register["meter_id"])), -1), Fraction(1))
        days = rules.spread_reads(
            reads, digits=int(str(register["digits"])), multiplier=multiplier, zone=zone
        )
        out += [d for d in days if start <= d.day < end]
    return out


async def _multipliers(installation_ids: list[int]) -> dict[int, Fraction]:
    """The latest CT×PT ratio of each installation (exact)."""
    rows = await MultiplierChange.filter(installation_id__in=installation_ids).order_by(
        "effective_from"
    )
    out: dict[int, Fraction] = {}
    for row in rows:
        out[row.installation_id] = Fraction(row.ct_primary_a, row.ct_secondary_a) * Fraction(  # type: ignore[attr-defined]
            row.pt_primary_v, row.pt_secondary_v
        )
    return out

"""VEE series rules, run over stored intervals after a delivery.

:func:`check_series` runs after a delivery (``services.meter_data.ingest``) over the
interval series it touched, where a rule needs neighbours rather than one row: gaps
(filled by estimation and flagged), overlaps, implausible jumps, and each complete day's
high, low or zero use against the account's history. It reads only the touched spans
(plus one neighbour either side) and is idempotent: a second run finds the gaps filled
and the exceptions open. What it changes moves the usage aggregates
(``services.meter_data.aggregates``): estimates are added, days made suspect are
recomputed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from domain.enums import ExceptionStatus, ReadQuality, ReadSource
from domain.interval_estimation import fill_gap
from domain.usage_aggregates import COUNTED, UsageTotals, counts, demand_w, first_of_month
from domain.vee import (
    Flag,
    Gap,
    Overlap,
    Rule,
    VeeConfig,
    check_day,
    check_jump,
    series_break,
)
from services.meter_data import aggregates
from services.meter_data.aggregates import day_bounds
from services.meter_data.registers import RegisterCatalog, RegisterInfo
from store.sql import Sql, as_date, as_dt

DAY_RULES = (Rule.HIGH_CONSUMPTION.value, Rule.LOW_CONSUMPTION.value, Rule.ZERO_CONSUMPTION.value)
REGISTERS_PER_PASS = 500


@dataclass
class SeriesOutcome:
    estimated: int = 0
    exceptions: int = 0
    suspect: int = 0


async def check_series(
    catalog: RegisterCatalog,
    touched: dict[int, Any],
    *,
    config: VeeConfig,
    zone: ZoneInfo,
    result: Any = None,
) -> SeriesOutcome:
    """Gaps, overlaps, jumps and daily use over the touched spans of each register."""
    outcome = SeriesOutcome()
    ids = sorted(touched)
    for start in range(0, len(ids), REGISTERS_PER_PASS):
        part = {i: touched[i] for i in ids[start : start + REGISTERS_PER_PASS]}
        async with in_transaction() as client:
            await _Series(Sql(client), catalog, part, config, zone, outcome).run()
    if result is not None:
        result.estimated += outcome.estimated
        result.exceptions += outcome.exceptions
        result.suspect += outcome.suspect
    return outcome


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: int
    start: datetime
    length_s: int
    value_wh: int
    quality: str


class _Series:
    def __init__(
        self,
        sql: Sql,
        catalog: RegisterCatalog,
        touched: dict[int, Any],
        config: VeeConfig,
        zone: ZoneInfo,
        outcome: SeriesOutcome,
    ) -> None:
        self.sql = sql
        self.catalog = catalog
        self.touched = touched
        self.config = config
        self.zone = zone
        self.outcome = outcome
        self.now = datetime.now(UTC)
        self.recompute: set[tuple[int, date]] = set()
        self.flagged_ids: set[int] = set()
        self._pending: list[tuple[int, Neighbour, Flag]] = []

    async def run(self) -> None:
        await self.catalog.load_ids(self.touched)
        before = await self._neighbours(before=True)
        after = await self._neighbours(before=False)
        rows = await self._window()
        firsts: dict[int, Neighbour] = {}
        lasts: dict[int, Neighbour] = {}
        gaps: list[tuple[int, Gap, int, int]] = []
        for r in rows:
            register_id = int(r["register_id"])
            here = Neighbour(int(r["id"]), as_dt(r["interval_start"]), int(r["length_s"]),
                             int(r["value_wh"]), str(r["quality"]))  # fmt: skip
            if r["prev_start"] is None:
                firsts[register_id] = here
            if r["next_start"] is None:
                lasts[register_id] = here
            if r["prev_start"] is not None:
                previous = Neighbour(0, as_dt(r["prev_start"]), int(r["prev_length"]),
                                     int(r["prev_value"]), "")  # fmt: skip
                self._pair(register_id, previous, here, gaps)
        # The window runs from the earliest to the latest touched start of all these
        # registers, so it may hold a register's neighbour already (its span is narrower):
        # that pair was judged in the window, and pairing it again with itself or an
        # earlier row would see an overlap that is not there.
        for register_id, neighbour in before.items():
            if register_id in firsts and neighbour.start < firsts[register_id].start:
                self._pair(register_id, neighbour, firsts[register_id], gaps)
        for register_id, neighbour in after.items():
            if register_id in lasts and neighbour.start > lasts[register_id].start:
                self._pair(register_id, lasts[register_id], neighbour, gaps, jump=False)
        await self._flag_rows()
        for register_id, gap, before_wh, after_wh in gaps:
            await self._fill(register_id, gap, before_wh, after_wh)
        await self._days(before, after)
        await aggregates.recompute_days(
            self.sql, self.recompute, self.zone, self.config.usage_calendar
        )

    # --- reading the series -------------------------------------------------------------

    async def _neighbours(self, *, before: bool) -> dict[int, Neighbour]:
        """The stored interval just before (after) each register's touched span."""
        sql = self.sql
        found: dict[int, Neighbour] = {}
        op, order = ("<", "DESC") if before else (">", "ASC")
        columns = "id, interval_start, length_s, value_wh, quality"
        # A value stored past the window (before deliveries were refused there) is no
        # neighbour: it would make every delivery open a years-long gap.
        horizon = sql.ts(self.now + self.config.future_margin)
        if sql.postgres:
            ids = list(self.touched)
            moments = [self.touched[i].first if before else self.touched[i].last for i in ids]
            rows = await sql.rows(
                f"SELECT t.rid AS register_id, n.* FROM unnest(?::int[], ?::timestamptz[]) "  # noqa: S608
                f"AS t(rid, at) CROSS JOIN LATERAL (SELECT {columns} FROM interval_readings "
                f"WHERE register_id = t.rid AND interval_start {op} t.at "
                f"AND interval_start <= ? ORDER BY interval_start {order} LIMIT 1) AS n",
                [ids, moments, horizon],
            )
        else:
            rows = []
            for register_id, span in self.touched.items():
                moment = span.first if before else span.last
                for r in await sql.rows(
                    f"SELECT ? AS register_id, {columns} FROM interval_readings "  # noqa: S608
                    f"WHERE register_id = ? AND interval_start {op} ? AND interval_start <= ? "
                    f"ORDER BY interval_start {order} LIMIT 1",
                    [register_id, register_id, sql.ts(moment), horizon],
                ):
                    rows.append(r)
        for r in rows:
            found[int(r["register_id"])] = Neighbour(
                int(r["id"]), as_dt(r["interval_start"]), int(r["length_s"]),
                int(r["value_wh"]), str(r["quality"]),
            )  # fmt: skip
        return found

    async def _window(self) -> list[dict[str, Any]]:
        """Rows of the touched spans that end a series, break it or jump from the last."""
        sql = self.sql
        ids = list(self.touched)
        lo = min(span.first for span in self.touched.values())
        hi = max(span.last for span in self.touched.values())
        params: list[Any]
        if sql.postgres:
            where_ids, params = "register_id = ANY(?::int[])", [ids]
            apart = "interval_start <> prev_start + prev_length * INTERVAL '1 second'"
        else:
            where_ids, params = f"register_id IN ({Sql.marks(len(ids))})", list(ids)
            apart = (
                "CAST(strftime('%s', interval_start) AS INTEGER) "
                "<> CAST(strftime('%s', prev_start) AS INTEGER) + prev_length"
            )
        return await sql.rows(
            "SELECT * FROM (SELECT register_id, id, interval_start, length_s, value_wh, "  # noqa: S608
            "quality, LAG(interval_start) OVER w AS prev_start, LAG(length_s) OVER w AS prev_length, "
            "LAG(value_wh) OVER w AS prev_value, LEAD(interval_start) OVER w AS next_start "
            f"FROM interval_readings WHERE {where_ids} AND interval_start >= ? "
            "AND interval_start <= ? WINDOW w AS (PARTITION BY register_id ORDER BY interval_start)"
            ") AS t WHERE prev_start IS NULL OR next_start IS NULL "
            f"OR {apart} OR value_wh - prev_value >= ?",
            [*params, sql.ts(lo), sql.ts(hi), self.config.jump_min_wh],
        )

    def _pair(
        self,
        register_id: int,
        previous: Neighbour,
        here: Neighbour,
        gaps: list[tuple[int, Gap, int, int]],
        *,
        jump: bool = True,
    ) -> None:
        found = series_break(previous.start, previous.length_s, here.start, here.length_s)
        if isinstance(found, Gap):
            gaps.append((register_id, found, previous.value_wh, here.value_wh))
        elif isinstance(found, Overlap) and here.id:
            self._pending.append((register_id, here, found.flag))
        if jump and found is None and here.id:
            flag = check_jump(previous.value_wh, here.value_wh, self.config)
            if flag is not None:
                self._pending.append((register_id, here, flag))

    # --- flagging single intervals ------------------------------------------------------

    async def _flag_rows(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        sql = self.sql
        ids = sorted({n.id for _, n, _ in pending})
        existing = {
            (int(r["interval_reading_id"]), str(r["rule"]))
            for r in await sql.rows(
                "SELECT interval_reading_id, rule FROM validation_exceptions "  # noqa: S608
                f"WHERE interval_reading_id IN ({Sql.marks(len(ids))})",
                ids,
            )
        }
        records: list[tuple[Any, ...]] = []
        stamp = sql.ts(self.now)
        for register_id, neighbour, flag in pending:
            if (neighbour.id, flag.rule.value) in existing:
                continue
            existing.add((neighbour.id, flag.rule.value))
            info = self.catalog.by_id[register_id]
            records.append(
                (flag.rule.value, ExceptionStatus.OPEN.value, neighbour.id, info.meter_id,
                 Sql.json(dict(flag.detail)), "", stamp, stamp)
            )  # fmt: skip
            if counts(neighbour.quality) and neighbour.id not in self.flagged_ids:
                self.flagged_ids.add(neighbour.id)
                await self._make_suspect([neighbour.id])
                account = info.account_at(neighbour.start, self.zone)
                if account is not None and info.direction != "-":
                    self.recompute.add(
                        (account.account_id, neighbour.start.astimezone(self.zone).date())
                    )
        await self._exceptions(records, ("interval_reading_id",))

    async def _make_suspect(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        changed = await self.sql.execute(
            f"UPDATE interval_readings SET quality = ? WHERE id IN ({Sql.marks(len(ids))}) "  # noqa: S608
            "AND quality = ?",
            [ReadQuality.SUSPECT.value, *ids, ReadQuality.VALID.value],
        )
        self.outcome.suspect += changed

    async def _exceptions(self, records: list[tuple[Any, ...]], link: tuple[str, ...]) -> None:
        if not records:
            return
        await self.sql.insert(
            "validation_exceptions",
            ("rule", "status", *link, "meter_id", "detail", "resolution_reason", "created_at",
             "updated_at"),
            records,
        )  # fmt: skip
        self.outcome.exceptions += len(records)

    # --- filling gaps -------------------------------------------------------------------

    async def _fill(self, register_id: int, gap: Gap, before_wh: int, after_wh: int) -> None:
        sql = self.sql
        info = self.catalog.by_id[register_id]
        step_s = int(gap.step.total_seconds()) if len(gap) > 1 else None
        length_s = step_s or int((gap.before - gap.first).total_seconds())
        too_long = len(gap) * length_s > self.config.max_fill_days * 86_400
        detail = dict(gap.flag.detail) | {"register_id": str(register_id)}
        if await self._known_gap(info.meter_id, detail):
            return
        if too_long:
            detail["method"] = "none: longer than max_fill_days"
            await self._exceptions(
                [(Rule.INTERVAL_GAP.value, ExceptionStatus.OPEN.value, info.meter_id,
                  Sql.json(detail), "", sql.ts(self.now), sql.ts(self.now))], (),
            )  # fmt: skip
            return
        history: list[tuple[datetime, int]] = []
        if len(gap) > self.config.short_gap_intervals:
            since = gap.after - timedelta(weeks=self.config.profile_weeks)
            history = [
                (as_dt(r["interval_start"]), int(r["value_wh"]))
                for r in await sql.rows(
                    "SELECT interval_start, value_wh FROM interval_readings WHERE register_id = ? "  # noqa: S608
                    f"AND interval_start >= ? AND interval_start <= ? "
                    f"AND quality IN ({Sql.marks(len(COUNTED))})",
                    [register_id, sql.ts(since), sql.ts(gap.after), *COUNTED],
                )
            ]
        estimates = fill_gap(gap.starts(), before_wh, after_wh, history, self.zone, self.config)
        stamp = sql.ts(self.now)
        rows = [
            (register_id, sql.ts(e.start), length_s, e.wh, ReadQuality.ESTIMATED.value,
             e.method.value, ReadSource.ESTIMATED.value, 1, stamp)
            for e in estimates
        ]  # fmt: skip
        returned = await sql.insert(
            "interval_readings",
            ("register_id", "interval_start", "length_s", "value_wh", "quality",
             "estimation_method", "source", "revision", "received_at"),
            rows,
            suffix="ON CONFLICT (register_id, interval_start) DO NOTHING",
            returning="interval_start, value_wh",
        )  # fmt: skip
        self.outcome.estimated += len(returned)
        totals = UsageTotals()
        for r in returned:
            start = as_dt(r["interval_start"])
            account = info.account_at(start, self.zone)
            if account is None:
                continue
            local = start.astimezone(self.zone)
            wh = int(r["value_wh"])
            totals.add(
                account.account_id, sql.day(local.date()), sql.day(first_of_month(local.date())),
                self.config.usage_calendar.period_at(local), direction=info.direction,
                quality=ReadQuality.ESTIMATED.value, wh=wh, demand=demand_w(wh, length_s),
            )  # fmt: skip
        await aggregates.add_totals(sql, totals, self.now)
        detail["method"] = estimates[0].method.value if estimates else ""
        await self._exceptions(
            [(Rule.INTERVAL_GAP.value, ExceptionStatus.OPEN.value, info.meter_id,
              Sql.json(detail), "", stamp, stamp)], (),
        )  # fmt: skip

    async def _known_gap(self, meter_id: int, detail: dict[str, str]) -> bool:
        for r in await self.sql.rows(
            "SELECT detail FROM validation_exceptions WHERE meter_id = ? AND rule = ?",
            [meter_id, Rule.INTERVAL_GAP.value],
        ):
            old = _json(r["detail"])
            if (
                old.get("from") == detail["from"]
                and old.get("register_id") == detail["register_id"]
            ):
                return True
        return False

    # --- whole days ---------------------------------------------------------------------

    async def _days(self, before: dict[int, Neighbour], after: dict[int, Neighbour]) -> None:
        """High, low and zero use of each complete day the delivery touched."""
        sql = self.sql
        wanted: dict[tuple[int, date], tuple[RegisterInfo, bool]] = {}
        for register_id, span in self.touched.items():
            info = self.catalog.by_id.get(register_id)
            if info is None or info.direction != "i":
                continue
            covered_from = before[register_id].start if register_id in before else span.first
            following = after.get(register_id)
            covered_to = (
                following.start + timedelta(seconds=following.length_s)
                if following is not None
                else span.last + timedelta(seconds=span.length_s)
            )
            for day in sorted(span.days):  # the days with data, never the calendar between
                lo, hi = day_bounds(day, self.zone)
                account = info.account_at(lo, self.zone) or info.account_at(
                    hi - timedelta(seconds=1), self.zone
                )
                if account is not None and covered_from <= lo and hi <= covered_to:
                    wanted[account.account_id, day] = (info, account.active)
        if not wanted:
            return
        accounts = sorted({a for a, _ in wanted})
        first = min(d for _, d in wanted) - timedelta(days=self.config.history_days)
        last = max(d for _, d in wanted)
        use: dict[int, dict[date, int]] = defaultdict(dict)
        for r in await sql.rows(
            "SELECT account_id, day, import_wh FROM usage_daily "  # noqa: S608
            f"WHERE account_id IN ({Sql.marks(len(accounts))}) AND tou_period = '' "
            "AND day >= ? AND day <= ?",
            [*accounts, sql.day(first), sql.day(last)],
        ):
            use[int(r["account_id"])][as_date(r["day"])] = int(r["import_wh"])
        judged = await self._judged_days({info.meter_id for info, _ in wanted.values()})
        records: list[tuple[Any, ...]] = []
        stamp = sql.ts(self.now)
        for (account_id, day), (info, active) in sorted(wanted.items(), key=lambda kv: kv[0]):
            if (info.meter_id, day.isoformat()) in judged:
                continue
            days = use[account_id]
            history = [
                days[d]
                for offset in range(1, self.config.history_days + 1)
                if (d := day - timedelta(days=offset)) in days
            ]
            flags = check_day(days.get(day, 0), history, active=active, config=self.config)
            for flag in flags:
                detail = dict(flag.detail) | {"day": day.isoformat(), "register_id": str(info.id)}
                records.append(
                    (flag.rule.value, ExceptionStatus.OPEN.value, info.meter_id,
                     Sql.json(detail), "", stamp, stamp)
                )  # fmt: skip
                lo, hi = day_bounds(day, self.zone)
                self.outcome.suspect += await sql.execute(
                    "UPDATE interval_readings SET quality = ? WHERE register_id = ? "
                    "AND interval_start >= ? AND interval_start < ? AND quality = ?",
                    [ReadQuality.SUSPECT.value, info.id, sql.ts(lo), sql.ts(hi),
                     ReadQuality.VALID.value],
                )  # fmt: skip
                self.recompute.add((account_id, day))
        await self._exceptions(records, ())

    async def _judged_days(self, meter_ids: Iterable[int]) -> set[tuple[int, str]]:
        """(meter, day) pairs that already have a daily verdict, whatever its status."""
        ids = sorted(meter_ids)
        judged: set[tuple[int, str]] = set()
        for start in range(0, len(ids), 5000):
            part = ids[start : start + 5000]
            for r in await self.sql.rows(
                "SELECT meter_id, detail FROM validation_exceptions "  # noqa: S608
                f"WHERE meter_id IN ({Sql.marks(len(part))}) AND rule IN ({Sql.marks(len(DAY_RULES))})",
                [*part, *DAY_RULES],
            ):
                judged.add((int(r["meter_id"]), str(_json(r["detail"]).get("day", ""))))
        return judged


def _json(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    loaded = json.loads(value) if value else {}
    return loaded if isinstance(loaded, dict) else {}

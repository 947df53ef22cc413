"""The PostgreSQL fast path for fresh CSV deliveries: parsed and loaded by the database.

On the Python path (:mod:`services.meter_data.row_shaping`) every row costs about 8 µs of
the one interpreter (parse, shape, sum), as long as PostgreSQL's own work on the row; a
plain ``COPY`` of the file is many times faster (docs/meter-data.md#performance). So for
a CSV delivery on PostgreSQL each chunk of lines is first offered to the database:

* the chunk's bytes go by ``COPY … (FORMAT csv)`` into a temporary table of text
  columns (no Python per row: the lines are joined, never split into fields);
* one ``INSERT … SELECT`` casts and checks them into ingestion's staging table
  (``services.meter_data.intervals.STAGE``), matching serial and OBIS code to the
  registers the run's catalog knows, with the account, day, month, TOU period and demand
  row shaping would have given;
* the chunk counts as **plainly clean** only if every line came through: each field in
  the plain form the Python parser reads the same way (``12.345``, ``…T00:15:00Z`` or
  ``+05:30``, no quotes, no backslash), the register known and its meter installed with
  one installation, one account and a multiplier of 1 over the row's whole interval, no
  timing rule able to fire (the span ``RegisterInfo.prepare`` works out), the head-end
  quality ``valid`` or ``estimated``;
* then the staged rows go into ``interval_readings`` (register order) and the usage
  aggregates move set-based (:func:`services.meter_data.aggregates.add_fresh_staged`). A stored
  row with the same key, or the same interval twice in the chunk, trips the unique key.

Anything else (a cast that fails, a line the ``COPY`` refuses, fewer rows through than
lines sent, a stored row) rolls the whole chunk back and it goes the Python way, which
then gives every message, flag, revision and exception exactly as before. What the
series rules see afterwards (``vee_series.check_series`` over the touched spans) is the
same either way: the spans are read back from the staged rows.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from domain.readings_format import DEFAULT_MINUTES, DEFAULT_OBIS, FIELDS, MAX_SERIAL, CsvLayout
from domain.tou import Calendar, DayType
from domain.vee import VeeConfig
from services.meter_data import aggregates
from services.meter_data.intervals import INSERT_COLUMNS, PG_STAGE, STAGE, STAGE_COLUMNS
from services.meter_data.registers import MAX_TIME, RegisterCatalog, RegisterInfo
from services.meter_data.row_shaping import (
    ESTIMATED,
    HEAD_END,
    LONGEST_INTERVAL,
    SMART,
    VALID,
    Touched,
)
from store.sql import Sql

RAW = "gb_ingest_raw"
_RAW_COLUMNS = [f"c{i}" for i in range(len(FIELDS))]
_PG_RAW = (
    f"CREATE TEMP TABLE IF NOT EXISTS {RAW} (ord bigint GENERATED ALWAYS AS IDENTITY, "
    + ", ".join(f"{c} text" for c in _RAW_COLUMNS)
    + ") ON COMMIT DELETE ROWS"
)
_PLANNER = "SET LOCAL enable_nestloop = off;\nSET LOCAL lock_timeout = '200ms'"
"""The raw table has no statistics and ``unnest`` guesses 100 rows, so the planner would
match each line against every register in a loop (measured 2.4 s a chunk): hash them.

A fresh chunk never needs to wait for a lock while loading: a wait means another
transaction holds one of its intervals (the chunk ahead in flight, waiting in turn for
this one to come out, or another delivery), so after the timeout the chunk is not
plainly clean and goes the Python way in its turn. The usage upserts wait as usual."""
UNSAFE_BYTES = (b'"', b"\\", b"\r", b"\x00")
"""Bytes after which the ``COPY`` and the Python reader might read a line differently
(quoted fields, ``\\.``, carriage returns, NUL): such a chunk goes the Python way."""

# Field texts the Python parser reads exactly as these SQL casts do (anything else: the
# chunk is not plainly clean). Timestamps: ISO 8601 with Z or an offset, on a whole
# minute, hours 00–23 (PostgreSQL would take 24:00); kwh: digits, up to 3 decimals, at
# most 999,999,999.999; minutes: a divisor of a day without leading zeros.
_TIMESTAMP = (
    r"^(19[0-9][1-9]|19[1-9]0|[2-8][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3]):[0-5][0-9](:00)?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])$"
)
_KWH = r"^[0-9]{1,9}(\.[0-9]{1,3})?$"
_MINUTES = r"^[1-9][0-9]{0,3}$"


@dataclass(frozen=True)
class Loaded:
    """A chunk stored by the fast path: its rows, and each register's span in it."""

    rows: int
    spans: list[Any]


class NotClean(Exception):
    """The chunk is not plainly clean: roll it back and take the Python path."""


@dataclass(frozen=True)
class _Plain:
    """A register's plain span as array columns (one entry per register)."""

    serial: list[str]
    obis: list[str]
    register_id: list[int]
    meter_id: list[int]
    account_id: list[int]
    direction: list[str]
    plain_from: list[datetime]
    plain_until: list[datetime | None]
    since_day: list[Any]
    until_day: list[Any]


def plain_register(info: RegisterInfo, config: VeeConfig) -> bool:
    """Whether the fast path may take rows of this register at all.

    Its serial and OBIS code must be texts the Python parser keeps as they are (so an
    exact match in SQL is the parser's match), and inside its plain span the multiplier
    must leave values unchanged and an account must hold the service point.
    """
    serial = info.serial
    return (
        bool(serial)
        and serial[0] != " "
        and serial[-1] != " "
        and len(serial) <= MAX_SERIAL
        and serial.isprintable()
        and _canonical_obis(info.obis)
        and info.plain_account is not None
        and info.plain_from < MAX_TIME
        and (info.plain_factor == 1 or config.intervals_include_multiplier)
    )


def _canonical_obis(code: str) -> bool:
    parts = code.split(".")
    return 2 <= len(parts) <= 3 and all(p.isascii() and p.isdigit() for p in parts)


def tou_table(calendar: Calendar) -> list[str]:
    """The usage calendar's period per (month, ISO weekday, hour), flattened for SQL.

    ``Calendar.period_at`` (as row shaping calls it, without holidays) depends on the
    month, whether the weekday is a weekend day and the hour only.
    """
    periods: list[str] = []
    for month in range(1, 13):
        for weekday in range(7):
            kind: DayType = "weekend" if weekday in calendar.weekend else "weekday"
            periods.extend(calendar.table[(month, kind)])
    return periods


class StagedCsv:
    """Offers each chunk of one CSV delivery to PostgreSQL; see the module docstring."""

    def __init__(
        self,
        *,
        layout: CsvLayout,
        catalog: RegisterCatalog,
        config: VeeConfig,
        zone: ZoneInfo,
        received_at: datetime,
        touched: dict[int, Touched],
    ) -> None:
        self.layout = layout
        self.catalog = catalog
        self.config = config
        self.zone = zone
        self.received_at = received_at
        self.touched = touched
        self.tou = tou_table(config.usage_calendar)
        self._insert = self._staging_sql()
        self._loading = asyncio.Lock()

    @staticmethod
    def offered(payload: bytes) -> bool:
        """Whether a chunk's bytes may be read by ``COPY`` as the Python reader reads them."""
        return not any(b in payload for b in UNSAFE_BYTES)

    def _field(self, name: str) -> str:
        position = self.layout.positions[FIELDS.index(name)]
        return "NULL::text" if position is None else f"r.c{position}"

    def _staging_sql(self) -> str:
        """The one statement that casts, checks and shapes the raw lines into staging."""
        meter, obis, stamp = self._field("meter"), self._field("obis"), self._field("timestamp")
        kwh, reading, minutes = self._field("kwh"), self._field("reading"), self._field("minutes")
        quality, client_uuid = self._field("quality"), self._field("uuid")
        length = (
            f"(CASE WHEN coalesce({minutes}, '') = '' THEN {DEFAULT_MINUTES * 60} "
            f"ELSE {minutes}::int * 60 END)"
        )
        columns = ", ".join(STAGE_COLUMNS)
        return f"""
WITH moments AS MATERIALIZED (
    SELECT s.stamp, s.at, s.wall::date AS day, date_trunc('month', s.wall)::date AS month,
           ($15::text[])[((extract(month FROM s.wall)::int - 1) * 7
                          + extract(isodow FROM s.wall)::int - 1) * 24
                         + extract(hour FROM s.wall)::int + 1] AS tou
    FROM (SELECT d.stamp, d.stamp::timestamptz AS at, d.stamp::timestamptz AT TIME ZONE $12 AS wall
          FROM (SELECT DISTINCT {stamp} AS stamp FROM {RAW} AS r OFFSET 0) AS d
          WHERE d.stamp ~ '{_TIMESTAMP}') AS s
), amounts AS MATERIALIZED (
    SELECT d.kwh, (d.kwh::numeric * 1000)::bigint AS value_wh
    FROM (SELECT DISTINCT {kwh} AS kwh FROM {RAW} AS r OFFSET 0) AS d WHERE d.kwh ~ '{_KWH}'
), typed AS (
    SELECT p.*, (r.ord - $17)::int + $1::int AS row_no, m.at, m.day, m.month, m.tou,
           a.value_wh, {length} AS length_s, coalesce({quality}, '') AS q
    FROM {RAW} AS r
    JOIN unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::text[],
                $8::timestamptz[], $9::timestamptz[], $10::date[], $11::date[])
         AS p(serial, obis, register_id, meter_id, account_id, direction,
              plain_from, plain_until, since_day, until_day)
      ON p.serial = {meter} AND p.obis = coalesce(nullif({obis}, ''), '{DEFAULT_OBIS}')
    JOIN moments AS m ON m.stamp = {stamp}
    JOIN amounts AS a ON a.kwh = {kwh}
    WHERE (coalesce({minutes}, '') = '' OR ({minutes} ~ '{_MINUTES}'
           AND 1440 % {minutes}::int = 0))
      AND coalesce({reading}, '') = '' AND coalesce({client_uuid}, '') = ''
      AND coalesce({quality}, '') IN ('', 'valid', 'estimated')
      AND m.at >= p.plain_from AND m.at <= $13::timestamptz
), ended AS (
    SELECT t.*, t.at + t.length_s * INTERVAL '1 second' AS ends FROM typed AS t
)
INSERT INTO {STAGE} ({columns})
SELECT register_id, at, length_s, value_wh,
       CASE WHEN q = 'estimated' THEN '{ESTIMATED}' ELSE '{VALID}' END,
       CASE WHEN q = 'estimated' THEN '{HEAD_END}' ELSE '' END,
       '{SMART}', 1, $14::timestamptz, row_no, meter_id, account_id, day, month, tou,
       direction, value_wh * 3600 / length_s, false
FROM ended
WHERE ends <= $16::timestamptz AND (plain_until IS NULL OR ends <= plain_until)
  AND since_day <= day AND (until_day IS NULL OR day <= until_day)
"""  # noqa: S608 - the columns are our own constants

    def _plain(self) -> _Plain:
        infos = [info for info in self.catalog.by_key.values() if plain_register(info, self.config)]
        accounts = [info.plain_account for info in infos]
        return _Plain(
            serial=[i.serial for i in infos],
            obis=[i.obis for i in infos],
            register_id=[i.id for i in infos],
            meter_id=[i.meter_id for i in infos],
            account_id=[a.account_id for a in accounts if a is not None],
            direction=[i.direction for i in infos],
            plain_from=[i.plain_from for i in infos],
            plain_until=[None if i.plain_until == MAX_TIME else i.plain_until for i in infos],
            since_day=[i.plain_since_day for i in infos],
            until_day=[None if i.plain_until_day.year == 9999 else i.plain_until_day
                       for i in infos],
        )  # fmt: skip

    async def write(
        self, sql: Sql, first: int, payload: bytes, before: Awaitable[Loaded | None] | None
    ) -> Loaded:
        """Load one chunk (inside the caller's transaction) and move the usage.

        The intervals go in first; then, when ``before`` (the chunk ahead of this one,
        loading at the same time on another connection) has come out, the usage moves
        (so two chunks never wait on each other's usage rows). Raises :class:`NotClean`
        (the caller rolls back) when the chunk is not plainly clean or the chunk ahead
        went the Python way; nothing it wrote stays then.
        """
        now = datetime.now(UTC)
        async with sql.client.acquire_connection() as connection:
            try:
                await connection.execute(f"{PG_STAGE};\n{_PG_RAW};\n{_PLANNER}")
                await connection.copy_to_table(
                    RAW, source=io.BytesIO(payload), columns=_RAW_COLUMNS[: self.layout.width],
                    format="csv",
                )  # fmt: skip
                lines, lowest, serials = await connection.fetchrow(
                    f"SELECT count(*), min(ord), array_agg(DISTINCT c{self._meter}) FROM {RAW}"  # noqa: S608
                )
            except asyncpg.PostgresError as exc:  # a line COPY refuses
                raise NotClean(str(exc)) from None
        async with self._loading:  # the chunk behind must not see half a load
            # on this transaction's connection: two chunks in flight need two, not three
            await self.catalog.load((s for s in serials if s is not None), sql)
        async with sql.client.acquire_connection() as connection:
            try:
                plain = self._plain()
                horizon = now + self.config.future_tolerance
                latest = now + self.config.future_margin
                status = await connection.execute(
                    self._insert, first, plain.serial, plain.obis, plain.register_id,
                    plain.meter_id, plain.account_id, plain.direction, plain.plain_from,
                    plain.plain_until, plain.since_day, plain.until_day, self.zone.key,
                    latest - LONGEST_INTERVAL, self.received_at, self.tou,
                    min(horizon, latest), lowest,
                )  # fmt: skip
                if int(status.split()[-1]) != lines:
                    raise NotClean(f"{lines - int(status.split()[-1])} lines not plain")
                await connection.execute(
                    f"INSERT INTO interval_readings ({', '.join(INSERT_COLUMNS)}) "  # noqa: S608
                    f"SELECT {', '.join(INSERT_COLUMNS)} FROM {STAGE} "
                    "ORDER BY register_id, interval_start"
                )
                spans = await connection.fetch(
                    "SELECT register_id, min(interval_start) AS first, "  # noqa: S608
                    "max(interval_start) AS last, "
                    "(array_agg(length_s ORDER BY row_no))[1] AS length_s, "
                    f"array_agg(DISTINCT day) AS days FROM {STAGE} GROUP BY register_id"
                )
            except asyncpg.PostgresError as exc:  # a cast, a refused line, a stored row
                raise NotClean(str(exc)) from None
        await sql.execute("SET LOCAL lock_timeout = 0")
        if before is not None and await before is None:
            raise NotClean("the chunk ahead went the Python way: this one follows it")
        await aggregates.add_fresh_staged(sql, STAGE, now)
        return Loaded(int(lines), spans)

    @property
    def _meter(self) -> int:
        position = self.layout.positions[FIELDS.index("meter")]
        assert position is not None  # CsvLayout.from_header requires the column
        return position

    def touch(self, spans: list[Any]) -> None:
        """Widen the delivery's touched spans as row shaping does (the series rules' input)."""
        for span in spans:
            register_id = int(span["register_id"])
            touched = self.touched.get(register_id)
            if touched is None:
                touched = self.touched[register_id] = Touched(
                    span["first"], span["last"], int(span["length_s"])
                )
            touched.first = min(touched.first, span["first"])
            touched.last = max(touched.last, span["last"])
            touched.days.update(span["days"])


def chunk_payload(lines: list[bytes]) -> bytes:
    """A chunk's lines as the bytes ``COPY`` reads (each ends with a line feed)."""
    return b"\n".join(lines) + b"\n"

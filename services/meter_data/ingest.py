"""Bulk ingestion of meter readings: head-end deliveries and files, streamed, idempotent.

``POST /ingest/readings`` (api/ingest_route.py) and ``gridbill import-readings`` both call
:func:`ingest` with the delivery as a stream of bytes. Nothing holds the whole delivery:

* bytes are cut into lines and lines into chunks of ``chunk_rows`` (20,000) rows;
* each row is parsed (``domain.readings_format``), its meter and register looked up (a
  run-long cache, :mod:`services.meter_data.registers`), the timing VEE rules applied
  (``domain.vee``) and the CT/PT multiplier applied to interval energy; a bad row is
  rejected with its line number and reason, and the rest carry on;
* each chunk is written in **one transaction** (:mod:`services.meter_data.intervals`,
  :mod:`services.meter_data.reads`): it is all there or not at all, so a crash leaves whole
  chunks behind and sending the delivery again completes it (the rows already stored
  are duplicates, a no-op);
* parsing the next chunk overlaps with writing the previous one (a producer task and a
  bounded queue), so the Python side and the database work at the same time;
* when every chunk is in, the series rules run over the intervals the delivery touched
  (gaps filled by estimation, jumps, daily high/low/zero use: :mod:`services.meter_data.vee`).

The result counts rows accepted, duplicate (the same value again), revised (a changed
value: the old one kept as a revision with its source) and rejected (with row numbers,
the first 1,000 listed).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from domain.enums import ReadQuality, ReadSource
from domain.interval_estimation import Method
from domain.readings_format import (
    CsvLayout,
    FormatError,
    Kind,
    ReadingRow,
    RowError,
    SourceQuality,
    parse_ndjson_line,
)
from domain.vee import (
    Flag,
    Rule,
    VeeConfig,
    apply_multiplier,
    check_timing,
    is_suspect,
    register_range_milli,
)
from gridbill.errors import UserError
from services import audit
from services.meter_data import intervals as ingest_intervals
from services.meter_data import reads as ingest_reads
from services.meter_data import vee
from services.meter_data.intervals import ROW_NO, ConcurrentChange, Usage
from services.meter_data.registers import RegisterCatalog, RegisterInfo
from store.sql import Sql

CHUNK_ROWS = 20_000
MAX_REJECTIONS = 1_000
MAX_LINE_BYTES = 1 << 20
LONGEST_INTERVAL = timedelta(days=1)  # minutes must divide a day
MAX_INTERVAL_WH = 10**15  # after the multiplier: demand (× 3600 / 60 s) still fits BIGINT
RETRIES = 3
BOM = b"\xef\xbb\xbf"
VALID = ReadQuality.VALID.value
ESTIMATED = ReadQuality.ESTIMATED.value
SUSPECT = ReadQuality.SUSPECT.value
HEAD_END = Method.HEAD_END.value
SMART = ReadSource.SMART.value


class Format(StrEnum):
    NDJSON = "ndjson"
    CSV = "csv"


class IngestError(UserError):
    """The delivery as a whole cannot be read (a CSV header without a needed column…).

    ``result`` counts what was written before the problem was found (whole chunks).
    """

    result: IngestResult | None = None


@dataclass(frozen=True)
class Rejection:
    row: int
    reason: str


@dataclass
class IngestResult:
    rows: int = 0
    accepted: int = 0
    duplicate: int = 0
    revised: int = 0
    rejected_count: int = 0
    suspect: int = 0
    estimated: int = 0
    exceptions: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def reject(self, row: int, reason: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_REJECTIONS:
            self.rejected.append(Rejection(row, reason))

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "revised": self.revised,
            "rejected_count": self.rejected_count,
            "rejected": [{"row": r.row, "reason": r.reason} for r in self.rejected],
            "rejected_truncated": self.rejected_count > len(self.rejected),
            "suspect": self.suspect,
            "estimated": self.estimated,
            "exceptions": self.exceptions,
        }


@dataclass
class Batch:
    """One chunk, prepared by the producer: staged intervals, register reads, its counts."""

    intervals: list[tuple[Any, ...]] = field(default_factory=list)
    flags: dict[int, list[Flag]] = field(default_factory=dict)
    reads: list[tuple[ReadingRow, RegisterInfo]] = field(default_factory=list)
    usage: Usage = field(default_factory=lambda: Usage([], []))
    copy_lines: list[str] = field(default_factory=list)
    copy_payload: bytes = b""
    rows: int = 0
    duplicate: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, row: int, reason: str) -> None:
        self.rejections.append((row, reason))


@dataclass
class _Failed:
    error: BaseException


@dataclass
class Touched:
    """The span of interval starts a delivery touched for one register, and the local
    days it has data on (the series rules judge those days, never the calendar between
    ``first`` and ``last``, which may be years apart)."""

    first: datetime
    last: datetime
    length_s: int
    days: set[date] = field(default_factory=set)


async def ingest(
    source: AsyncIterable[bytes],
    *,
    fmt: Format,
    config: VeeConfig,
    zone: ZoneInfo,
    label: str,
    chunk_rows: int = CHUNK_ROWS,
    series_checks: bool = True,
) -> IngestResult:
    """Ingest a delivery; raises :class:`IngestError` only when it cannot be read at all."""
    run = _Run(config=config, zone=zone, label=label, chunk_rows=chunk_rows)
    try:
        await run.run(source, fmt)
    except IngestError as exc:
        exc.result = run.result
        raise
    if series_checks:
        await vee.check_series(
            run.catalog, run.touched, config=config, zone=zone, result=run.result
        )
    await audit.record(
        action="readings.ingested",
        entity="ingest",
        entity_id=run.run_id,
        actor_label=label[:100],
        after={k: v for k, v in run.result.as_dict().items() if k != "rejected"},
    )
    return run.result


class _Run:
    def __init__(self, *, config: VeeConfig, zone: ZoneInfo, label: str, chunk_rows: int) -> None:
        self.config = config
        self.zone = zone
        self.label = label
        self.chunk_rows = chunk_rows
        self.run_id = uuid.uuid4().hex
        self.received_at = datetime.now(UTC)  # unique per run: marks this run's rows
        self.result = IngestResult()
        self.catalog = RegisterCatalog(Sql(get_connection("default")))
        self.postgres = self.catalog.sql.postgres
        # Only the producer (parsing, in a worker thread) touches what follows.
        self.touched: dict[int, Touched] = {}
        self.carry: list[tuple[tuple[Any, ...], list[Flag] | None]] = []
        self._local: dict[datetime, tuple[Any, Any, Any, str, date, str]] = {}
        self._lengths: dict[int, timedelta] = {}
        self._layout: CsvLayout | None = None
        self._flagged = True if self.postgres else 1
        self._plain = False if self.postgres else 0
        self._received = self.catalog.sql.ts(self.received_at)
        self._copy_tail = f"{SMART}\t1\t{self.received_at.isoformat()}\n"
        self.fast = True  # try the fast path until a chunk meets stored rows

    # --- the pipeline -----------------------------------------------------------------

    async def run(self, source: AsyncIterable[bytes], fmt: Format) -> None:
        """Parse in a worker thread while the event loop writes the previous chunk."""
        queue: asyncio.Queue[Batch | _Failed | None] = asyncio.Queue(maxsize=2)
        producer = asyncio.create_task(self._produce(source, fmt, queue))
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                if isinstance(item, _Failed):
                    raise item.error
                await self._write(item)
        finally:
            if not producer.done():
                producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await producer

    async def _produce(
        self,
        source: AsyncIterable[bytes],
        fmt: Format,
        queue: asyncio.Queue[Batch | _Failed | None],
    ) -> None:
        try:
            async for first, lines in _line_batches(source, self.chunk_rows):
                batch = Batch()
                rows = await asyncio.to_thread(self._parse, first, lines, fmt, batch)
                await self.catalog.load({row.serial for row in rows})
                await queue.put(await asyncio.to_thread(self._prepare, rows, batch))
            while self.carry:  # changed repeats of one interval, one version per chunk
                batch = self._take_carry(Batch())
                batch.usage = self._usage(batch.intervals)
                batch.copy_payload = "".join(batch.copy_lines).encode()
                await queue.put(batch)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await queue.put(_Failed(exc))
            return
        await queue.put(None)

    # --- parsing and per-row rules (worker thread) --------------------------------------

    def _prepare(self, rows: list[ReadingRow], batch: Batch) -> Batch:
        self._take_carry(batch)
        seen = {(record[0], record[-1]): i for i, record in enumerate(batch.intervals)}
        now = datetime.now(UTC)
        horizon = now + self.config.future_tolerance
        latest = now + self.config.future_margin
        latest_start = latest - LONGEST_INTERVAL  # an interval starting by then ends by latest
        get = self.catalog.get
        for row in rows:
            info = get(row.serial, row.obis)
            if info is None:
                if self.catalog.has_meter(row.serial):
                    batch.reject(row.row, f"meter {row.serial} has no register {row.obis}")
                else:
                    batch.reject(row.row, f"unknown meter {row.serial}")
                continue
            first = info.first_installed_at
            if first is None or not first <= row.at <= latest_start or row.kind is Kind.REGISTER:
                refusal = self._outside(row, info, latest)  # the usual row skips this call
                if refusal is not None:
                    batch.reject(row.row, refusal)
                    continue
            if row.kind is Kind.REGISTER:
                batch.reads.append((row, info))
                continue
            self._interval(row, info, batch, seen, now, horizon)
        batch.usage = self._usage(batch.intervals)
        batch.copy_payload = "".join(batch.copy_lines).encode()
        batch.copy_lines = []
        return batch

    def _outside(self, row: ReadingRow, info: RegisterInfo, latest: datetime) -> str | None:
        """Why a row falls outside what can be a reading of this register, or None.

        Refused, not stored: a value dated after now + the margin (its end, for an
        interval) or before the meter was first installed, and a register reading past
        the register's last digit. Stored, such a value would poison every later delivery.
        """
        end = row.at + timedelta(seconds=row.length_s)
        if end > latest:
            hours = int(self.config.future_margin.total_seconds() // 3600)
            return (
                f"timestamp {row.at.isoformat()} is in the future (more than {hours} h "
                "after now, GRIDBILL_INGEST_FUTURE_MARGIN_HOURS): check the head-end's clock"
            )
        installed = info.first_installed_at
        if installed is None:
            return f"meter {row.serial} has never been installed: install it first"
        if row.at < installed:
            return (
                f"timestamp {row.at.isoformat()} is before meter {row.serial} "
                f"was installed ({installed.isoformat()})"
            )
        if row.kind is Kind.REGISTER and row.value >= register_range_milli(info.digits):
            return f"reading is past the last digit of register {row.obis} ({info.digits} digits)"
        return None

    def _usage(self, records: list[tuple[Any, ...]]) -> Usage:
        """The chunk's billable energy per account, day (month) and TOU period."""
        groups: dict[tuple[Any, Any, Any, str], list[int]] = {}
        for r in records:
            account, direction, quality = r[11], r[15], r[4]
            if account is None or direction == "-" or quality == SUSPECT:
                continue
            key = (account, r[12], r[13], r[14])
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [0, 0, 0, 0]
            if direction == "i":
                sums[0] += r[3]
                if quality == ESTIMATED:
                    sums[2] += r[3]
                if r[16] > sums[3]:
                    sums[3] = r[16]
            else:
                sums[1] += r[3]
        daily: dict[tuple[Any, Any, str], list[int]] = {}
        monthly: dict[tuple[Any, Any, str], list[int]] = {}
        for (account, day, month, tou), sums in groups.items():
            for target, target_key in (
                (daily, (account, day, tou)),
                (daily, (account, day, "")),
                (monthly, (account, month, tou)),
                (monthly, (account, month, "")),
            ):
                found = target.get(target_key)
                if found is None:
                    target[target_key] = list(sums)
                else:
                    found[0] += sums[0]
                    found[1] += sums[1]
                    found[2] += sums[2]
                    found[3] = max(found[3], sums[3])
        return Usage(
            [(*key, *sums) for key, sums in daily.items()],
            [(*key, *sums) for key, sums in monthly.items()],
        )

    def _parse(self, first: int, lines: list[bytes], fmt: Format, batch: Batch) -> list[ReadingRow]:
        rows: list[ReadingRow] = []
        append = rows.append
        csv_format = fmt is Format.CSV
        for offset, raw in enumerate(lines):
            number = first + offset
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if number == 1 and raw.startswith(BOM):
                raw = raw[3:]
            if not raw or raw.isspace():
                continue
            try:
                text = raw.decode()
            except UnicodeDecodeError:
                if csv_format and self._layout is None:
                    raise IngestError("the CSV header is not UTF-8 text") from None
                batch.rows += 1
                batch.reject(number, "not UTF-8 text")
                continue
            if csv_format and self._layout is None:
                try:
                    self._layout = CsvLayout.from_header(next(csv.reader([text])))
                except FormatError as exc:
                    raise IngestError(str(exc)) from None
                except csv.Error as exc:
                    raise IngestError(f"the CSV header cannot be read: {exc}") from None
                continue
            batch.rows += 1
            try:
                if csv_format:
                    assert self._layout is not None
                    record = text.split(",") if '"' not in text else next(csv.reader([text]))
                    append(self._layout.parse(record, number))
                else:
                    append(parse_ndjson_line(text, number))
            except RowError as exc:
                batch.reject(number, str(exc))
            except csv.Error as exc:  # a field over csv's limit, a NUL byte…
                batch.reject(number, f"not a CSV record: {exc}")
        return rows

    def _localize(self, at: datetime) -> tuple[Any, Any, Any, str, date, str]:
        """Per distinct moment (shared by every meter): its value forms, day, TOU period."""
        local = at.astimezone(self.zone)
        day = local.date()
        month = day.replace(day=1)
        tou = self.config.usage_calendar.period_at(local)
        if len(self._local) > 50_000:
            self._local.clear()
        value: tuple[Any, Any, Any, str, date, str]
        if self.postgres:
            value = (at, day, month, tou, day, at.isoformat())
        else:
            value = (at.isoformat(" "), day.isoformat(), month.isoformat(), tou, day, "")
        self._local[at] = value
        return value

    def _interval(
        self,
        row: ReadingRow,
        info: RegisterInfo,
        batch: Batch,
        seen: dict[tuple[int, datetime], int],
        now: datetime,
        horizon: datetime,
    ) -> None:
        at = row.at
        length_s = row.length_s
        length = self._lengths.get(length_s)
        if length is None:
            length = self._lengths[length_s] = timedelta(seconds=length_s)
        end = at + length
        ts, day_value, month_value, tou, day, text = self._local.get(at) or self._localize(at)
        flags: list[Flag] | None = None
        if (
            info.plain_from <= at
            and end <= info.plain_until
            and end <= horizon
            and info.plain_since_day <= day <= info.plain_until_day
        ):
            # Inside the span where no timing rule can fire (see RegisterInfo.prepare).
            factor = info.plain_factor
            account = info.plain_account
        else:
            flags = (
                check_timing(
                    at,
                    now=now,
                    installations=info.windows,
                    last_billed_at=info.last_billed_at,
                    end=end,
                    config=self.config,
                )
                or None
            )
            factor = info.factor_at(at)
            account = info.account_at(at, self.zone)
        value = row.value
        if factor != 1 and not self.config.intervals_include_multiplier:
            value = apply_multiplier(value, factor)
            if value > MAX_INTERVAL_WH:
                batch.reject(
                    row.row, f"kwh times the CT/PT multiplier {factor} is implausibly large"
                )
                return
        quality = VALID
        method = ""
        if row.quality is not SourceQuality.VALID:
            if row.quality is SourceQuality.ESTIMATED:
                quality = ESTIMATED
                method = HEAD_END
            else:
                flags = [*(flags or ()), Flag(Rule.HEAD_END_SUSPECT, {"quality": "suspect"})]
        if flags and is_suspect(flags):
            quality = SUSPECT
        touched = self.touched.get(info.id)
        if touched is None:
            touched = self.touched[info.id] = Touched(at, at, length_s)
        elif at > touched.last:
            touched.last = at
        elif at < touched.first:
            touched.first = at
        touched.days.add(day)
        record = (  # see services.meter_data.intervals.STAGE_COLUMNS
            info.id, ts, length_s, value, quality, method, SMART, 1, self._received,
            row.row, info.meter_id, account.account_id if account is not None else None,
            day_value, month_value, tou, info.direction, value * 3600 // length_s,
            self._flagged if flags else self._plain,
            at,  # not staged: the key for duplicates within a chunk
        )  # fmt: skip
        key = (info.id, at)
        index = seen.get(key)
        if index is not None:
            if batch.intervals[index][3] == value:
                batch.duplicate += 1
            else:  # the same interval again, changed: it becomes a revision in the next chunk
                self.carry.append((record, flags))
            return
        seen[key] = len(batch.intervals)
        batch.intervals.append(record)
        if self.postgres:  # the fast path's COPY line (text format), built here, off the loop
            batch.copy_lines.append(
                f"{info.id}\t{text}\t{length_s}\t{value}\t{quality}\t{method}\t{self._copy_tail}"
            )
        if flags:
            batch.flags[row.row] = flags

    def _take_carry(self, batch: Batch) -> Batch:
        carried, self.carry = self.carry, []
        seen: set[tuple[int, datetime]] = set()
        for record, flags in carried:
            key = (record[0], record[-1])
            if key in seen:  # a third version of the same interval waits one more chunk
                self.carry.append((record, flags))
                continue
            seen.add(key)
            batch.intervals.append(record)
            if self.postgres:
                batch.copy_lines.append(
                    f"{record[0]}\t{record[-1].isoformat()}\t{record[2]}\t{record[3]}\t"
                    f"{record[4]}\t{record[5]}\t{self._copy_tail}"
                )
            if flags:
                batch.flags[record[ROW_NO]] = flags
        return batch

    # --- writing (event loop) -----------------------------------------------------------

    async def _write(self, batch: Batch) -> None:
        records = batch.intervals
        reason = f"re-sent by {self.label}"[:200]
        for attempt in range(RETRIES):
            try:
                async with in_transaction() as client:
                    sql = Sql(client)
                    interval_outcome = None
                    if records:
                        interval_outcome = await ingest_intervals.write(
                            sql,
                            records,
                            copy_payload=batch.copy_payload,
                            usage=batch.usage,
                            flags=batch.flags,
                            reason=reason,
                            zone=self.zone,
                            calendar=self.config.usage_calendar,
                            try_fast=self.fast,
                        )
                    read_outcome = None
                    if batch.reads:
                        read_outcome = await ingest_reads.write(
                            sql,
                            batch.reads,
                            config=self.config,
                            zone=self.zone,
                            received_at=self.received_at,
                            reason=reason,
                        )
                break
            except ConcurrentChange:
                if attempt == RETRIES - 1:
                    raise
        if interval_outcome is not None:  # stay on the slow path while rows keep existing
            self.fast = interval_outcome.fast or not (
                interval_outcome.duplicate or interval_outcome.revised
            )
        result = self.result
        result.rows += batch.rows
        result.duplicate += batch.duplicate
        for row, reason_text in batch.rejections:
            result.reject(row, reason_text)
        for outcome in (interval_outcome, read_outcome):
            if outcome is None:
                continue
            result.accepted += outcome.accepted
            result.duplicate += outcome.duplicate
            result.revised += outcome.revised
            result.exceptions += outcome.exceptions
            result.suspect += outcome.suspect
        for rejected in (interval_outcome, read_outcome):
            for row, why in rejected.rejected if rejected is not None else ():
                result.reject(row, why)


async def _line_batches(
    source: AsyncIterable[bytes], size: int
) -> AsyncIterator[tuple[int, list[bytes]]]:
    """Lines of the byte stream in lists of ``size``, with the number of the first line."""
    pending = b""
    lines: list[bytes] = []
    first = 1
    async for chunk in source:
        if not chunk:
            continue
        data = pending + chunk if pending else chunk
        parts = data.split(b"\n")
        pending = parts.pop()
        if len(pending) > MAX_LINE_BYTES:
            raise IngestError(f"line {first + len(lines) + len(parts)} is longer than 1 MiB")
        lines.extend(parts)
        while len(lines) >= size:
            yield first, lines[:size]
            del lines[:size]
            first += size
    if pending:
        lines.append(pending)
    if lines:
        yield first, lines


async def iterate_file(path: Any, block: int = 1 << 16) -> AsyncIterator[bytes]:
    """A file's bytes in blocks, for :func:`ingest` (reads are small and local)."""
    with open(path, "rb") as handle:  # noqa: ASYNC230 - local file, small blocks
        while chunk := handle.read(block):
            yield chunk

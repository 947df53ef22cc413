"""Bulk ingestion of meter readings, the pipeline: streamed, in chunks, idempotent.

``POST /ingest/readings`` (api/ingest_route.py) and ``gridbill import-readings`` both call
:func:`ingest` with the delivery as a stream of bytes. Nothing holds the whole delivery:

* bytes are cut into lines and lines into chunks of ``chunk_rows`` (20,000) rows;
* on PostgreSQL a CSV delivery's chunk is first offered to the database itself
  (:mod:`services.meter_data.staged_csv`: ``COPY`` of the lines into a text table, cast,
  checked and shaped in SQL): a plainly clean chunk of fresh readings is stored with no
  Python per row; any other chunk, and every chunk once stored rows were met, goes on:
* each chunk of lines is shaped into plain records in a worker thread
  (:mod:`services.meter_data.row_shaping`: rows parsed by ``domain.readings_format``,
  meters and registers looked up, the timing VEE rules and the CT/PT multiplier
  applied); a bad row is rejected with its line number and reason, and the rest carry on;
* each chunk is written in **one transaction** (:mod:`services.meter_data.intervals`,
  :mod:`services.meter_data.reads`): it is all there or not at all, so a crash leaves whole
  chunks behind and sending the delivery again completes it (the rows already stored
  are duplicates, a no-op);
* parsing the next chunk overlaps with writing the previous one (a producer task and a
  bounded queue), so the Python side and the database work at the same time;
* when every chunk is in, the series rules run over the intervals the delivery touched
  (gaps filled by estimation, jumps, daily high/low/zero use:
  :mod:`services.meter_data.vee_series`).

The result counts rows accepted, duplicate (the same value again), revised (a changed
value: the old one kept as a revision with its source) and rejected (with row numbers,
the first 1,000 listed).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.connection import get_connection
from tortoise.transactions import in_transaction

from domain.readings_format import FormatError
from domain.vee import VeeConfig
from gridbill.errors import UserError
from services import audit
from services.meter_data import intervals as ingest_intervals
from services.meter_data import reads as ingest_reads
from services.meter_data.intervals import ConcurrentChange
from services.meter_data.registers import RegisterCatalog
from services.meter_data.row_shaping import Batch, RowShaper
from services.meter_data.staged_csv import Loaded, NotClean, StagedCsv, chunk_payload
from services.meter_data.vee_series import check_series
from store.sql import Sql

CHUNK_ROWS = 20_000
MAX_REJECTIONS = 1_000
MAX_LINE_BYTES = 1 << 20
RETRIES = 3
IN_FLIGHT = 2  # chunks loading at once on the SQL fast path (one per core)


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
    staged_chunks: int = 0
    """Chunks stored by the SQL fast path (not part of the summary: the bench and the
    tests read it to know which way the rows went)."""

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
class _Failed:
    error: BaseException


async def ingest(
    source: AsyncIterable[bytes],
    *,
    fmt: Format,
    config: VeeConfig,
    zone: ZoneInfo,
    label: str,
    chunk_rows: int = CHUNK_ROWS,
    series_checks: bool = True,
    staged_csv: bool = True,
) -> IngestResult:
    """Ingest a delivery; raises :class:`IngestError` only when it cannot be read at all.

    ``staged_csv=False`` keeps a CSV delivery on PostgreSQL off the SQL fast path (the
    bench and the equivalence tests compare the two ways).
    """
    run = _Run(fmt=fmt, config=config, zone=zone, label=label, chunk_rows=chunk_rows)
    run.staged_csv = staged_csv and fmt is Format.CSV and run.catalog.sql.postgres
    try:
        await run.run(source)
    except IngestError as exc:
        exc.result = run.result
        raise
    if series_checks:
        await check_series(
            run.catalog, run.shaper.touched, config=config, zone=zone, result=run.result
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
    """One delivery going through: the producer shapes chunks, the event loop writes them."""

    def __init__(
        self, *, fmt: Format, config: VeeConfig, zone: ZoneInfo, label: str, chunk_rows: int
    ) -> None:
        self.config = config
        self.zone = zone
        self.label = label
        self.chunk_rows = chunk_rows
        self.run_id = uuid.uuid4().hex
        self.received_at = datetime.now(UTC)  # unique per run: marks this run's rows
        self.result = IngestResult()
        self.catalog = RegisterCatalog(Sql(get_connection("default")))
        self.shaper = RowShaper(
            catalog=self.catalog, config=config, zone=zone, received_at=self.received_at,
            csv_format=fmt is Format.CSV,
        )  # fmt: skip
        self.fast = True  # try the fast path until a chunk meets stored rows
        self.staged_csv = False
        self._staged: StagedCsv | None = None

    async def run(self, source: AsyncIterable[bytes]) -> None:
        """Offer chunks to the SQL fast path while they are fresh, then the pipeline."""
        batches = _line_batches(source, self.chunk_rows)
        if self.staged_csv:
            await self._staged_run(batches)
        await self._pipeline(batches)

    async def _staged_run(self, batches: AsyncIterator[tuple[int, list[bytes]]]) -> None:
        """Chunks by the SQL fast path, :data:`IN_FLIGHT` at a time, settled in order.

        Each chunk loads in a transaction of its own, on a connection of its own, while
        the one ahead of it loads too (PostgreSQL then works on two cores); it moves the
        usage and commits only after the one ahead came out. A chunk that is not plainly
        clean takes the Python path once every chunk behind it has rolled back, and
        those are offered again after it: the rows land as if one chunk after the other.
        Once a chunk met stored rows, the rest goes to the pipeline as before.
        """
        flight: deque[tuple[int, list[bytes], asyncio.Task[Loaded | None]]] = deque()
        redo: deque[tuple[int, list[bytes]]] = deque()
        exhausted = False
        try:
            while True:
                if not (self.fast or flight or redo):
                    return  # stored rows met: the rest as before, parsed while written
                item = redo.popleft() if redo else None
                if item is None and not exhausted:
                    item = await anext(batches, None)
                    exhausted = item is None
                if item is None:  # the delivery is in: settle what is in flight
                    if not flight:
                        return
                    await self._settle(flight, redo)
                    continue
                first, lines = item
                left = self._past_header(first, lines)
                if left is None:
                    continue
                first, lines = left
                payload = chunk_payload(lines)
                if (
                    self.shaper.carry
                    or not self.fast
                    or self.shaper.lines.layout is None  # no header yet (blank first lines)
                    or not StagedCsv.offered(payload)
                ):
                    if flight:  # the chunks ahead of it settle first, then decide again
                        redo.appendleft(left)
                        await self._settle(flight, redo)
                        continue
                    await self._write(await self._shape(first, lines))
                    continue
                before = flight[-1][2] if flight else None
                task = asyncio.create_task(self._load(first, payload, before))
                flight.append((first, lines, task))
                if len(flight) >= IN_FLIGHT:
                    await self._settle(flight, redo)
        finally:
            for _, _, task in flight:
                task.cancel()
            for _, _, task in flight:
                with contextlib.suppress(asyncio.CancelledError, NotClean):
                    await task

    def _past_header(self, first: int, lines: list[bytes]) -> tuple[int, list[bytes]] | None:
        """The chunk without the CSV header (read by the Python reader, as always)."""
        reader = self.shaper.lines
        if reader.layout is not None or first != 1 or not lines[0].strip():
            return first, lines
        try:
            reader.read(1, lines[:1], _no_rejection)
        except FormatError as exc:
            raise IngestError(str(exc)) from None
        return (2, lines[1:]) if len(lines) > 1 else None

    async def _load(
        self, first: int, payload: bytes, before: asyncio.Task[Loaded | None] | None
    ) -> Loaded | None:
        """One chunk by the SQL fast path; None (rolled back) if it is not plainly clean."""
        layout = self.shaper.lines.layout
        assert layout is not None
        if self._staged is None:
            self._staged = StagedCsv(
                layout=layout, catalog=self.catalog, config=self.config, zone=self.zone,
                received_at=self.received_at, touched=self.shaper.touched,
            )  # fmt: skip
        try:
            async with in_transaction() as client:
                return await self._staged.write(Sql(client), first, payload, before)
        except NotClean:
            return None

    async def _settle(
        self,
        flight: deque[tuple[int, list[bytes], asyncio.Task[Loaded | None]]],
        redo: deque[tuple[int, list[bytes]]],
    ) -> None:
        """The oldest chunk in flight: counted if stored, else the Python way (see above)."""
        first, lines, task = flight.popleft()
        loaded = await task
        if loaded is not None:
            assert self._staged is not None
            self._staged.touch(loaded.spans)
            self.result.rows += loaded.rows
            self.result.accepted += loaded.rows
            self.result.staged_chunks += 1
            return
        behind = list(flight)
        flight.clear()
        for _, _, later in behind:  # each rolls back, its chunk ahead having failed
            await later
        redo.extendleft((f, ls) for f, ls, _ in reversed(behind))
        await self._write(await self._shape(first, lines))

    async def _shape(self, first: int, lines: list[bytes]) -> Batch:
        """A chunk of lines parsed and shaped in worker threads (the Python path)."""
        batch = Batch()
        try:
            rows = await asyncio.to_thread(self.shaper.parse, first, lines, batch)
        except FormatError as exc:
            raise IngestError(str(exc)) from None
        await self.catalog.load({row.serial for row in rows})
        return await asyncio.to_thread(self.shaper.prepare, rows, batch)

    async def _pipeline(self, batches: AsyncIterator[tuple[int, list[bytes]]]) -> None:
        """Parse in a worker thread while the event loop writes the previous chunk."""
        queue: asyncio.Queue[Batch | _Failed | None] = asyncio.Queue(maxsize=2)
        producer = asyncio.create_task(self._produce(batches, queue))
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
        batches: AsyncIterator[tuple[int, list[bytes]]],
        queue: asyncio.Queue[Batch | _Failed | None],
    ) -> None:
        shaper = self.shaper
        try:
            async for first, lines in batches:
                await queue.put(await self._shape(first, lines))
            while shaper.carry:  # changed repeats of one interval, one version per chunk
                await queue.put(shaper.finish(shaper.take_carry(Batch())))
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            await queue.put(_Failed(exc))
            return
        await queue.put(None)

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


def _no_rejection(row: int, reason: str) -> None:
    """A header line is never rejected (it is read or the delivery is unreadable)."""


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

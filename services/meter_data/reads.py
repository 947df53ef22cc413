"""Writing a chunk of register readings, with their VEE verdicts, in the chunk's transaction.

A register reading is idempotent by its capture UUID (given in the delivery, or derived
from meter, register and time, so that a resend without one is still recognised). The
same value again is a duplicate; a changed value keeps the old one in
``register_read_revisions`` with its source and bumps ``revision``. A read that has
already been billed is never changed by a delivery: the row is rejected and staff
correct the bill.

Register readings are few next to intervals (one a register a day from a smart meter,
one a month from a walked one), so each is judged in Python against the register's
history: backwards or rolled over, high, low or zero consumption against the average
daily use, future-dated, before the install or the last billed read.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.enums import ExceptionStatus, ReadQuality, ReadSource, ReadType
from domain.interval_estimation import Method
from domain.readings_format import Kind, ReadingRow, SourceQuality
from domain.usage_aggregates import COUNTED
from domain.vee import (
    SECONDS_PER_DAY,
    Flag,
    Rule,
    VeeConfig,
    apply_multiplier,
    average_daily_use,
    check_timing,
    check_usage,
    is_suspect,
    register_advance,
)
from services.meter_data.intervals import ConcurrentChange
from services.meter_data.registers import RegisterInfo
from store.models import RegisterRead, RegisterReadRevision
from store.sql import Sql, as_dt

READ_COLUMNS = (
    "client_uuid", "register_id", "value_milli", "read_at", "read_type", "source", "quality",
    "quality_flags", "estimation_method", "received_at", "notes", "revision", "billed",
    "created_at", "updated_at",
)  # fmt: skip


@dataclass
class ReadsOutcome:
    accepted: int = 0
    duplicate: int = 0
    revised: int = 0
    exceptions: int = 0
    suspect: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Point:
    at: datetime
    value: int


@dataclass
class Verdict:
    quality: str
    flags: list[Flag]
    method: str


async def keep_revision(
    read: RegisterRead, *, changed_by_id: int | None, reason: str, using_db: Any = None
) -> None:
    """Keep a read's current value in ``register_read_revisions`` before it changes.

    Every change of a stored read (a delivery's new value, a device's edit, a reviewer's
    verdict) goes through here or, for the bulk writes of a delivery and of a push's
    edits, through the same row in :func:`write` and ``services.field.pushed_edits``:
    the read's history is never lost.
    """
    await RegisterReadRevision.create(
        using_db=using_db,
        read_id=read.id,
        revision=read.revision,
        value_milli=read.value_milli,
        read_at=read.read_at,
        source=read.source,
        quality=read.quality,
        changed_by_id=changed_by_id,
        reason=reason,
    )


def _uuid_value(sql: Sql, value: uuid.UUID) -> Any:
    return value if sql.postgres else str(value)


async def write(
    sql: Sql,
    rows: Sequence[tuple[ReadingRow, RegisterInfo]],
    *,
    config: VeeConfig,
    zone: ZoneInfo,
    received_at: datetime,
    reason: str,
) -> ReadsOutcome:
    outcome = ReadsOutcome()
    remaining = list(rows)
    while remaining:  # a UUID twice in one chunk: the second is handled after the first
        seen: set[uuid.UUID] = set()
        now_rows: list[tuple[ReadingRow, RegisterInfo]] = []
        later: list[tuple[ReadingRow, RegisterInfo]] = []
        for item in remaining:
            key = item[0].derived_uuid()
            (later if key in seen else now_rows).append(item)
            seen.add(key)
        await _write_once(sql, now_rows, outcome, config, zone, received_at, reason)
        remaining = later
    return outcome


async def _write_once(
    sql: Sql,
    rows: list[tuple[ReadingRow, RegisterInfo]],
    outcome: ReadsOutcome,
    config: VeeConfig,
    zone: ZoneInfo,
    received_at: datetime,
    reason: str,
) -> None:
    uuids = [row.derived_uuid() for row, _ in rows]
    existing: dict[str, dict[str, Any]] = {}
    for start in range(0, len(uuids), 5000):
        part = uuids[start : start + 5000]
        for r in await sql.rows(
            "SELECT id, client_uuid, register_id, value_milli, read_at, quality, source, "  # noqa: S608
            f"revision, billed FROM register_reads WHERE client_uuid IN ({Sql.marks(len(part))})",
            [_uuid_value(sql, u) for u in part],
        ):
            existing[str(r["client_uuid"])] = r
    new: list[tuple[ReadingRow, RegisterInfo]] = []
    revised: list[tuple[ReadingRow, RegisterInfo, dict[str, Any]]] = []
    for (row, info), key in zip(rows, uuids, strict=True):
        old = existing.get(str(key))
        if old is None:
            new.append((row, info))
        elif int(old["register_id"]) != info.id:
            outcome.rejected.append(
                (row.row, f"uuid {key} already names a read of another register")
            )
        elif int(old["value_milli"]) == row.value and as_dt(old["read_at"]) == row.at:
            outcome.duplicate += 1
        elif old["billed"]:
            outcome.rejected.append(
                (
                    row.row,
                    "that read is already billed and cannot change: ask staff to cancel and rebill the bill",
                )
            )
        else:
            revised.append((row, info, old))
    if not new and not revised:
        return
    verdicts = await _judge(
        sql, [(row, info) for row, info in new] + [(r, i) for r, i, _ in revised],
        {int(old["id"]) for _, _, old in revised}, config, zone,
    )  # fmt: skip
    stamp = sql.ts(received_at)
    ids: dict[int, int] = {}  # row number → read id
    records: list[tuple[Any, ...]] = []
    if new:
        for row, info in new:
            verdict = verdicts[row.row]
            records.append(
                (_uuid_value(sql, row.derived_uuid()), info.id, row.value, sql.ts(row.at),
                 ReadType.REGULAR.value, ReadSource.SMART.value, verdict.quality,
                 Sql.json([f.rule.value for f in verdict.flags]), verdict.method, stamp, "", 1,
                 sql.flag(False), stamp, stamp)
            )  # fmt: skip
        returned = await sql.insert(
            "register_reads", READ_COLUMNS, records,
            suffix="ON CONFLICT (client_uuid) DO NOTHING", returning="id, client_uuid",
        )  # fmt: skip
        if len(returned) != len(new):
            raise ConcurrentChange("another ingest stored some of these reads first")
        by_uuid = {str(r["client_uuid"]): int(r["id"]) for r in returned}
        for row, _ in new:
            ids[row.row] = by_uuid[str(row.derived_uuid())]
        outcome.accepted += len(new)
    for row, _, old in revised:
        verdict = verdicts[row.row]
        read_id = int(old["id"])
        await sql.execute(
            "INSERT INTO register_read_revisions (read_id, revision, value_milli, read_at, "
            "source, quality, reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [read_id, int(old["revision"]), int(old["value_milli"]), sql.ts(as_dt(old["read_at"])),
             old["source"], old["quality"], reason, stamp],
        )  # fmt: skip
        changed = await sql.execute(
            "UPDATE register_reads SET value_milli = ?, read_at = ?, quality = ?, "
            "quality_flags = ?, estimation_method = ?, source = ?, revision = revision + 1, "
            "received_at = ?, updated_at = ? WHERE id = ? AND revision = ?",
            [row.value, sql.ts(row.at), verdict.quality,
             Sql.json([f.rule.value for f in verdict.flags]), verdict.method,
             ReadSource.SMART.value, stamp, stamp, read_id, int(old["revision"])],
        )  # fmt: skip
        if changed != 1:
            raise ConcurrentChange("another writer revised this read first")
        ids[row.row] = read_id
        outcome.revised += 1
    if revised:
        read_ids = [int(old["id"]) for _, _, old in revised]
        await sql.execute(
            "UPDATE validation_exceptions SET status = ?, resolution_reason = ?, "  # noqa: S608
            "resolved_at = ?, updated_at = ? WHERE status = ? "
            f"AND register_read_id IN ({Sql.marks(len(read_ids))})",
            [ExceptionStatus.REPLACED.value, "superseded: the value was sent again, changed",
             stamp, stamp, ExceptionStatus.OPEN.value, *read_ids],
        )  # fmt: skip
    records = []
    for row, info in new + [(r, i) for r, i, _ in revised]:
        verdict = verdicts[row.row]
        if verdict.quality == ReadQuality.SUSPECT.value:
            outcome.suspect += 1
        for flag in verdict.flags:
            if flag.suspect:
                records.append(
                    (flag.rule.value, ExceptionStatus.OPEN.value, ids[row.row], info.meter_id,
                     Sql.json({**flag.detail, "row": str(row.row)}), "", stamp, stamp)
                )  # fmt: skip
    if records:
        await sql.insert(
            "validation_exceptions",
            ("rule", "status", "register_read_id", "meter_id", "detail", "resolution_reason",
             "created_at", "updated_at"),
            records,
        )  # fmt: skip
        outcome.exceptions += len(records)


async def _history(
    sql: Sql, rows: Sequence[tuple[ReadingRow, RegisterInfo]], exclude: set[int], config: VeeConfig
) -> dict[int, list[Point]]:
    """Usable stored reads of each register: the window before the chunk's reads, and the
    last one before that window."""
    firsts: dict[int, datetime] = {}
    lasts: dict[int, datetime] = {}
    for row, info in rows:
        firsts[info.id] = min(firsts.get(info.id, row.at), row.at)
        lasts[info.id] = max(lasts.get(info.id, row.at), row.at)
    window = timedelta(days=config.history_days)
    lo = min(firsts.values()) - window
    hi = max(lasts.values())
    ids = sorted(firsts)
    points: dict[int, list[Point]] = defaultdict(list)
    for r in await sql.rows(
        "SELECT id, register_id, read_at, value_milli FROM register_reads "  # noqa: S608
        f"WHERE register_id IN ({Sql.marks(len(ids))}) AND read_at >= ? AND read_at <= ? "
        f"AND quality IN ({Sql.marks(len(COUNTED))}) ORDER BY read_at",
        [*ids, sql.ts(lo), sql.ts(hi), *COUNTED],
    ):
        if int(r["id"]) not in exclude:
            points[int(r["register_id"])].append(Point(as_dt(r["read_at"]), int(r["value_milli"])))
    for register_id in ids:
        before = firsts[register_id] - window
        found = points[register_id]
        if found and found[0].at <= firsts[register_id]:
            continue
        for r in await sql.rows(
            "SELECT id, read_at, value_milli FROM register_reads WHERE register_id = ? "  # noqa: S608
            f"AND read_at < ? AND quality IN ({Sql.marks(len(COUNTED))}) "
            "ORDER BY read_at DESC LIMIT 3",
            [register_id, sql.ts(before), *COUNTED],
        ):
            if int(r["id"]) not in exclude:
                found.insert(0, Point(as_dt(r["read_at"]), int(r["value_milli"])))
                break
    return points


async def _judge(
    sql: Sql,
    rows: Sequence[tuple[ReadingRow, RegisterInfo]],
    exclude: set[int],
    config: VeeConfig,
    zone: ZoneInfo,
) -> dict[int, Verdict]:
    """The VEE verdict of each incoming read, in time order per register."""
    history = await _history(sql, rows, exclude, config)
    now = datetime.now(UTC)
    verdicts: dict[int, Verdict] = {}
    by_register: dict[int, list[tuple[ReadingRow, RegisterInfo]]] = defaultdict(list)
    for row, info in rows:
        by_register[info.id].append((row, info))
    for register_id, items in by_register.items():
        timeline = list(history.get(register_id, []))
        for row, info in sorted(items, key=lambda item: item[0].at):
            verdict = judge_read(row, info, timeline, now=now, config=config, zone=zone)
            verdicts[row.row] = verdict
            if verdict.quality != ReadQuality.SUSPECT.value:
                timeline.append(Point(row.at, row.value))
                timeline.sort(key=lambda p: p.at)
    return verdicts


def judge_read(
    row: ReadingRow,
    info: RegisterInfo,
    timeline: Sequence[Point],
    *,
    now: datetime,
    config: VeeConfig,
    zone: ZoneInfo,
) -> Verdict:
    """Apply the register-read rules of ``domain.vee`` to one read and its history."""
    flags = check_timing(
        row.at, now=now, installations=info.windows, last_billed_at=info.last_billed_at,
        config=config,
    )  # fmt: skip
    before = [p for p in timeline if p.at < row.at]
    if info.cumulative and before:
        previous = before[-1]
        advance = register_advance(previous.value, row.value, info.digits, config)
        flags += advance.flags
        if advance.milli is not None:
            factor = info.factor_at(row.at)
            used = Decimal(apply_multiplier(advance.milli, factor))
            days = Decimal(int((row.at - previous.at).total_seconds())) / SECONDS_PER_DAY
            since = previous.at - timedelta(days=config.history_days)
            window = [(p.at, p.value) for p in before if p.at >= since]
            found = average_daily_use(window, info.digits, factor)
            average, history_days = found if found is not None else (None, Decimal(0))
            account = info.account_at(row.at, zone)
            flags += check_usage(
                used, days, average, history_days,
                active=account is not None and account.active, config=config,
            )  # fmt: skip
    if row.quality is SourceQuality.SUSPECT:
        flags.append(Flag(Rule.HEAD_END_SUSPECT, {"quality": "suspect"}))
    if is_suspect(flags):
        return Verdict(ReadQuality.SUSPECT.value, flags, "")
    if row.quality is SourceQuality.ESTIMATED:
        return Verdict(ReadQuality.ESTIMATED.value, flags, Method.HEAD_END.value)
    return Verdict(ReadQuality.VALID.value, flags, "")


async def judge_single(
    sql: Sql, info: RegisterInfo, at: datetime, value_milli: int, *, config: VeeConfig,
    zone: ZoneInfo,
) -> Verdict:  # fmt: skip
    """The VEE verdict of one read not stored yet (a staff read), against the register's
    stored history: the same rules a delivery's reads are judged by."""
    row = ReadingRow(
        row=0, serial=info.serial, obis=info.obis, at=at, kind=Kind.REGISTER, value=value_milli,
        length_s=0, quality=SourceQuality.VALID, client_uuid=None,
    )  # fmt: skip
    history = await _history(sql, [(row, info)], set(), config)
    timeline = history.get(info.id, [])
    return judge_read(row, info, timeline, now=datetime.now(UTC), config=config, zone=zone)

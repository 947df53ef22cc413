"""Push: apply a device's batch of offline records, item by item, exactly once.

The batch row (unique per device and batch id, with the SHA-256 of its items) is created
first, in its own transaction. Then the items are applied in order, each decided exactly
as if alone, and each committed together with the ``sync_items`` row that records its
result, so an item either happened and is recorded, or neither: a batch cut off mid-way
is resumed by pushing it again, which answers the items already done from ``sync_items``
(marked ``replayed``) and applies the rest.

For speed, runs of up to :data:`CHUNK` reads share one transaction: their registers are
locked in id order (PostgreSQL), the reads around them loaded once, and the new reads,
their item rows and the re-flagged older reads written in bulk. If that transaction
fails at the database (a read UUID taken by a concurrent push of the same records), it
is rolled back and its items are applied one by one, each in its own transaction, so
one bad item never blocks the others. Edits and skips always take one transaction each.
What every item needs (registers, meters, routes, billed reads, known UUIDs) is loaded
once for the whole batch before the first item.
"""

from __future__ import annotations

import bisect
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Max
from tortoise.transactions import in_transaction

from domain import field_conflicts as conflicts
from domain.enums import AccountStatus, ReadQuality, ReadSource, SyncItemResult
from domain.field_conflicts import ReadPoint, RegisterFacts, Rule
from domain.vee import VeeConfig
from services.meter_data.vee_pending import validate_pending_reads
from store.models import (
    Account,
    FieldDevice,
    FieldVisit,
    Meter,
    MeterInstallation,
    Register,
    RegisterRead,
    RegisterReadRevision,
    RouteStop,
    SyncBatch,
    SyncItem,
)
from sync.protocol import (
    NIL_UUID,
    BadItem,
    Batch,
    EditItem,
    Item,
    ReadItem,
    SkipItem,
    sent_uuid,
    without_nul,
)

CHUNK = 250
"""Reads applied together in one transaction (each decided alone, in order)."""
FIELD_SOURCES = frozenset({ReadSource.MANUAL.value, ReadSource.PROBE.value})
NEIGHBOUR_WINDOW = timedelta(days=45)
"""Reads this far before a new read are loaded with it: its predecessor and cycle mates."""

log = logging.getLogger(__name__)


class BatchConflict(Exception):
    """The batch id was pushed before with different items (HTTP 409)."""


@dataclass
class Outcome:
    result: SyncItemResult
    rule: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PushResult:
    batch_uuid: uuid.UUID
    replayed: bool
    clock_offset_s: int
    results: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "protocol": 1,
            "batch_id": str(self.batch_uuid),
            "replayed": self.replayed,
            "clock_offset_s": self.clock_offset_s,
            "results": self.results,
        }


@dataclass
class RegisterInfo:
    id: int
    meter_id: int
    facts: RegisterFacts
    read_day: int
    zone: ZoneInfo


@dataclass
class Context:
    """Everything loaded once per batch."""

    device: FieldDevice
    batch: SyncBatch
    zone: ZoneInfo
    correction: conflicts.ClockCorrection
    received_at: datetime
    postgres: bool
    registers: dict[int, RegisterInfo] = field(default_factory=dict)
    my_meters: set[int] = field(default_factory=set)
    meter_route: dict[int, str] = field(default_factory=dict)
    known_meters: set[int] = field(default_factory=set)
    last_billed: dict[int, tuple[datetime, str, int]] = field(default_factory=dict)
    rejudge: dict[int, datetime] = field(default_factory=dict)
    """Per register, the earliest read this push added, edited or re-flagged: VEE judges
    its reads from there on again."""

    def changed_at(self, register_id: int, moment: datetime) -> None:
        self.rejudge[register_id] = min(moment, self.rejudge.get(register_id, moment))

    existing_reads: dict[uuid.UUID, RegisterRead] = field(default_factory=dict)
    existing_visits: dict[uuid.UUID, FieldVisit] = field(default_factory=dict)
    done_edits: dict[uuid.UUID, Outcome] = field(default_factory=dict)


def echoed_uuid(item: SyncItem) -> str | None:
    """The item's uuid as the device sent it: an invalid one is stored as the nil UUID
    but answered as sent, so the device can match the result to its record."""
    return str(item.client_uuid) if item.client_uuid != NIL_UUID else sent_uuid(item.payload)


def _item_json(item: SyncItem, replayed: bool) -> dict[str, Any]:
    return {
        "position": item.position,
        "uuid": echoed_uuid(item),
        "kind": item.kind,
        "result": SyncItemResult(item.result).value,
        "rule": item.rule,
        "detail": item.detail,
        "replayed": replayed,
    }


async def push(
    device: FieldDevice,
    batch: Batch,
    *,
    zone: ZoneInfo,
    postgres: bool,
    received_at: datetime | None = None,
    vee_config: VeeConfig,
) -> PushResult:
    """Apply ``batch`` from ``device``; raises :class:`BatchConflict`.

    Once the items are committed, the pending reads of the registers the batch names are
    judged by the register-read VEE rules (``services.meter_data.vee_pending``, with ``vee_config``
    the utility's configuration, read by the caller); a failure there is logged, not
    the push's: the periodic task ``validate_pending_reads`` judges them later.
    """
    received_at = received_at or datetime.now(UTC)
    stored, replayed = await _open_batch(device, batch, received_at)
    done = {i.position: i for i in await SyncItem.filter(batch_id=stored.id)}
    results: dict[int, dict[str, Any]] = {p: _item_json(i, True) for p, i in done.items()}
    pending = [(p, item) for p, item in enumerate(batch.items) if p not in done]
    touched = {item.register_id for item in batch.items if isinstance(item, ReadItem)}
    if pending:
        correction = conflicts.ClockCorrection(
            stored.clock_offset_s, abs(stored.clock_offset_s) > conflicts.CLOCK_SKEW_LIMIT_S
        )
        ctx = Context(device, stored, zone, correction, received_at, postgres)
        await _preload(ctx, [item for _, item in pending])
        run: list[tuple[int, Item, Any]] = []
        for position, item in pending:
            raw = batch.raw_items[position]
            if isinstance(item, ReadItem | BadItem):
                run.append((position, item, raw))
                if len(run) >= CHUNK:
                    results.update(await _apply_run(ctx, run))
                    run = []
            else:
                results.update(await _apply_run(ctx, run))
                run = []
                results[position] = await _apply(ctx, position, item, raw)
        results.update(await _apply_run(ctx, run))
        rejudge = ctx.rejudge
    else:
        rejudge = {}
    if stored.completed_at is None or replayed:
        await SyncBatch.filter(id=stored.id).update(
            completed_at=stored.completed_at or datetime.now(UTC),
            item_count=len(batch.items),
        )
    await _validate(touched | set(rejudge), rejudge, zone, vee_config)
    return PushResult(
        batch_uuid=batch.batch_uuid,
        replayed=replayed,
        clock_offset_s=stored.clock_offset_s,
        results=[results[p] for p in range(len(batch.items))],
    )


async def _validate(
    register_ids: set[int],
    rejudge: dict[int, datetime],
    zone: ZoneInfo,
    config: VeeConfig,
) -> None:
    """Judge the pending reads of the registers a push touched; never fail the push."""
    if not register_ids:
        return
    try:
        await validate_pending_reads(register_ids, zone=zone, config=config, rejudge_from=rejudge)
    except Exception:
        log.exception(
            "validating the pushed reads of %d registers failed: the periodic task "
            "validate_pending_reads will judge them",
            len(register_ids),
        )


async def _open_batch(
    device: FieldDevice, batch: Batch, received_at: datetime
) -> tuple[SyncBatch, bool]:
    existing = await SyncBatch.get_or_none(device_id=device.id, batch_uuid=batch.batch_uuid)
    if existing is None:
        correction = conflicts.clock_correction(received_at, batch.device_clock)
        try:
            async with in_transaction():
                created = await SyncBatch.create(
                    device_id=device.id,
                    batch_uuid=batch.batch_uuid,
                    content_sha256=batch.content_sha256,
                    device_clock_at=batch.device_clock,
                    device_time_zone=batch.time_zone,
                    clock_offset_s=correction.offset_s,
                    received_at=received_at,
                    item_count=len(batch.items),
                )
            return created, False
        except IntegrityError:  # the same batch arrived twice at once: the other one won
            existing = await SyncBatch.get(device_id=device.id, batch_uuid=batch.batch_uuid)
    if existing.content_sha256 != batch.content_sha256:
        raise BatchConflict(
            f"batch {batch.batch_uuid} was pushed before with different items: "
            "a new set of records needs a new batch_id"
        )
    await SyncBatch.filter(id=existing.id).update(replay_count=existing.replay_count + 1)
    return existing, True


# --- loading once per batch ---------------------------------------------------------------


async def _preload(ctx: Context, items: list[Item]) -> None:
    reads = [i for i in items if isinstance(i, ReadItem)]
    edits = [i for i in items if isinstance(i, EditItem)]
    skips = [i for i in items if isinstance(i, SkipItem)]
    register_ids = {i.register_id for i in reads}
    rows = (
        await Register.filter(id__in=register_ids).values("id", "meter_id", "unit", "digits")
        if register_ids
        else []
    )
    meter_ids = {r["meter_id"] for r in rows} | {s.meter_id for s in skips}
    if edits:
        for read in await RegisterRead.filter(client_uuid__in=[e.read_uuid for e in edits]):
            ctx.existing_reads[read.client_uuid] = read
        for item in await SyncItem.filter(
            client_uuid__in=[e.uuid for e in edits], kind="edit", batch__device_id=ctx.device.id
        ).exclude(result=SyncItemResult.REJECTED):
            ctx.done_edits[item.client_uuid] = Outcome(
                SyncItemResult(item.result), item.rule, item.detail
            )
    loads, read_days = await _account_facts(meter_ids)
    for r in rows:
        ctx.registers[r["id"]] = RegisterInfo(
            id=r["id"],
            meter_id=r["meter_id"],
            facts=RegisterFacts(
                unit=str(r["unit"]), digits=r["digits"], max_load_w=loads.get(r["meter_id"])
            ),
            read_day=read_days.get(r["meter_id"], 1),
            zone=ctx.zone,
        )
    if meter_ids:
        for stop in await RouteStop.filter(active_meter__in=meter_ids).values(
            "meter_id", "route__code", "route__reader_id"
        ):
            ctx.meter_route[stop["meter_id"]] = stop["route__code"]
            if stop["route__reader_id"] == ctx.device.reader_id:  # type: ignore[attr-defined]
                ctx.my_meters.add(stop["meter_id"])
        ctx.known_meters = set(
            await _values_list_flat(Meter.filter(id__in=meter_ids).values_list("id", flat=True))
        )
    if register_ids:
        billed = await (
            RegisterRead.filter(register_id__in=register_ids, billed=True)
            .group_by("register_id")
            .annotate(last=Max("read_at"))
            .values("register_id", "last")
        )
        last_at = {b["register_id"]: b["last"] for b in billed}
        if last_at:
            for row in await RegisterRead.filter(
                Q(*[Q(register_id=k, read_at=v) for k, v in last_at.items()], join_type="OR"),
                billed=True,
            ).values("register_id", "read_at", "client_uuid", "value_milli"):
                ctx.last_billed[row["register_id"]] = (
                    row["read_at"],
                    str(row["client_uuid"]),
                    row["value_milli"],
                )
        for read in await RegisterRead.filter(client_uuid__in=[i.uuid for i in reads]):
            ctx.existing_reads[read.client_uuid] = read
    if skips:
        for visit in await FieldVisit.filter(client_uuid__in=[s.uuid for s in skips]):
            ctx.existing_visits[visit.client_uuid] = visit


async def _values_list_flat(query: Any) -> list[Any]:
    return list(await query)


async def _account_facts(meter_ids: set[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per meter: the sanctioned load (W) of the account it bills, and its cycle's read day."""
    if not meter_ids:
        return {}, {}
    installed = await MeterInstallation.filter(meter_id__in=meter_ids, removed_at=None).values(
        "meter_id", "service_point_id"
    )
    by_point = {i["service_point_id"]: i["meter_id"] for i in installed}
    loads: dict[int, int] = {}
    read_days: dict[int, int] = {}
    if by_point:
        accounts = (
            await Account.filter(service_point_id__in=list(by_point))
            .order_by("id")
            .values(
                "service_point_id",
                "status",
                "sanctioned_load_w",
                "contract_demand_va",
                "billing_cycle__read_day",
            )
        )
        for a in accounts:
            meter = by_point[a["service_point_id"]]
            if meter in loads and a["status"] != AccountStatus.ACTIVE:
                continue
            loads[meter] = max(a["sanctioned_load_w"] or 0, a["contract_demand_va"] or 0)
            read_days[meter] = a["billing_cycle__read_day"] or 1
    return loads, read_days


# --- applying one item ----------------------------------------------------------------------


async def _apply(
    ctx: Context, position: int, item: Item, raw: Any, *, retry: bool = True
) -> dict[str, Any]:
    """Apply one item and record it, in one transaction."""
    kind = item.kind
    try:
        if isinstance(item, ReadItem | BadItem):
            return (await _apply_chunk(ctx, [(position, item, raw)]))[position]
        async with in_transaction() as conn:
            if isinstance(item, EditItem):
                outcome = await _apply_edit(ctx, item, conn)
            else:
                outcome = await _apply_skip(ctx, item, conn)
            stored = await SyncItem.create(
                using_db=conn,
                batch_id=ctx.batch.id,
                position=position,
                kind=kind,
                client_uuid=item.uuid,
                payload=stored_payload(raw),
                result=outcome.result,
                rule=outcome.rule,
                detail=outcome.detail,
            )
    except IntegrityError:
        # Another request applied this very item (the same batch pushed twice at once), or
        # a UUID was taken meanwhile: answer from what is stored now.
        again = await SyncItem.get_or_none(batch_id=ctx.batch.id, position=position)
        if again is not None:
            return _item_json(again, True)
        if retry:  # reload what the other push stored, then this item is a duplicate
            if isinstance(item, ReadItem):
                found = await RegisterRead.get_or_none(client_uuid=item.uuid)
                if found is not None:
                    ctx.existing_reads[item.uuid] = found
            elif isinstance(item, SkipItem):
                visit = await FieldVisit.get_or_none(client_uuid=item.uuid)
                if visit is not None:
                    ctx.existing_visits[item.uuid] = visit
            return await _apply(ctx, position, item, raw, retry=False)
        stored = await SyncItem.create(
            batch_id=ctx.batch.id,
            position=position,
            kind=kind,
            client_uuid=item.uuid,
            payload=stored_payload(raw),
            result=SyncItemResult.REJECTED,
            detail=_reason("retry", "this record clashed with another push: send it again"),
        )
    return _item_json(stored, False)


def stored_payload(raw: Any) -> Any:
    """An item as sent, for the support view. One that is not an object or a list (a
    string, a number, ``null``) is kept wrapped as ``{"item": …}``: the JSON column would
    read a bare string as JSON text."""
    return without_nul(raw if isinstance(raw, dict | list) else {"item": raw})


def _reason(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


def _read_json(read: RegisterRead | ReadPoint, value: int | None = None) -> dict[str, Any]:
    if isinstance(read, ReadPoint):
        return {
            "read_uuid": read.uuid,
            "value_milli": read.value_milli,
            "read_at": read.read_at.isoformat(),
        }
    return {
        "read_uuid": str(read.client_uuid),
        "value_milli": read.value_milli if value is None else value,
        "read_at": read.read_at.isoformat(),
        "revision": read.revision,
    }


async def _apply_run(ctx: Context, run: list[tuple[int, Item, Any]]) -> dict[int, dict[str, Any]]:
    """Apply a run of reads together; if the group fails, apply them one by one instead."""
    if not run:
        return {}
    try:
        return await _apply_chunk(ctx, run)
    except IntegrityError:
        return {position: await _apply(ctx, position, item, raw) for position, item, raw in run}


@dataclass
class Window:
    """A register's reads around the new ones, and their flags as they stand in this group."""

    points: list[ReadPoint]
    flags: dict[str, list[str]]
    changed: set[str] = field(default_factory=set)

    def set(self, read_uuid: str, category: frozenset[str], new: frozenset[str]) -> None:
        flags = conflicts.replace_flags(self.flags.get(read_uuid, []), category, new)
        if flags != self.flags.get(read_uuid):
            self.flags[read_uuid] = flags
            self.changed.add(read_uuid)


async def _apply_chunk(ctx: Context, run: list[tuple[int, Item, Any]]) -> dict[int, dict[str, Any]]:
    """Apply reads (and malformed items) in one transaction, with their ``sync_items`` rows.

    The registers are locked in id order (PostgreSQL), their reads around the new ones
    loaded once, each item decided in order in memory exactly as if alone, then the
    reads, the item rows and the changed flags of older reads are written in bulk.
    """
    new_reads: dict[UUID, RegisterRead] = {}
    out: dict[int, dict[str, Any]] = {}
    async with in_transaction() as conn:
        starts: dict[int, datetime] = {}
        for _, item, _ in run:
            if isinstance(item, ReadItem) and item.register_id in ctx.registers:
                at = ctx.correction.correct(item.captured_at).astimezone(UTC)
                starts[item.register_id] = min(at, starts.get(item.register_id, at))
        windows = await _load_windows(ctx, starts, conn)
        rows: list[SyncItem] = []
        for position, item, raw in run:
            if isinstance(item, BadItem):
                outcome = Outcome(SyncItemResult.REJECTED, "", _reason(item.code, item.message))
            else:
                assert isinstance(item, ReadItem)
                outcome = _decide_read(ctx, item, windows, new_reads)
            rows.append(
                SyncItem(
                    batch_id=ctx.batch.id,
                    position=position,
                    kind=item.kind,
                    client_uuid=item.uuid,
                    payload=stored_payload(raw),
                    result=outcome.result,
                    rule=outcome.rule,
                    detail=outcome.detail,
                )
            )
        for read in new_reads.values():
            info = ctx.registers[read.register_id]  # type: ignore[attr-defined]
            read.quality_flags = windows[info.id].flags[str(read.client_uuid)]
        if new_reads:
            await RegisterRead.bulk_create(list(new_reads.values()), using_db=conn)
        await SyncItem.bulk_create(rows, using_db=conn)
        for window in windows.values():
            for read_uuid in window.changed:
                if UUID(read_uuid) not in new_reads:
                    await (
                        RegisterRead.filter(client_uuid=read_uuid)
                        .using_db(conn)
                        .update(quality_flags=window.flags[read_uuid])
                    )
        out = {row.position: _item_json(row, False) for row in rows}
    ctx.existing_reads.update(new_reads)
    for read in new_reads.values():
        ctx.changed_at(read.register_id, read.read_at)  # type: ignore[attr-defined]
    for register_id, window in windows.items():
        for point in window.points:
            if point.uuid in window.changed:
                ctx.changed_at(register_id, point.read_at)
    return out


async def _load_windows(ctx: Context, starts: dict[int, datetime], conn: Any) -> dict[int, Window]:
    """For each register, its reads from ``NEIGHBOUR_WINDOW`` before its earliest new read
    on, plus the read before that when none is in the window: every predecessor,
    successor and cycle mate the new reads can have."""
    if not starts:
        return {}
    ids = sorted(starts)
    if ctx.postgres:
        await conn.execute_query(
            "SELECT id FROM registers WHERE id = ANY($1::int[]) ORDER BY id FOR UPDATE", [ids]
        )
    start = min(starts.values()) - NEIGHBOUR_WINDOW
    columns = ("client_uuid", "register_id", "read_at", "value_milli", "source", "quality_flags")
    rows = list(
        await RegisterRead.filter(register_id__in=ids, read_at__gte=start)
        .exclude(quality=ReadQuality.REJECTED)
        .using_db(conn)
        .values(*columns)
    )
    earliest: dict[int, datetime] = {}
    for row in rows:
        rid = row["register_id"]
        earliest[rid] = min(row["read_at"], earliest.get(rid, row["read_at"]))
    missing = [rid for rid in ids if not (rid in earliest and earliest[rid] < starts[rid])]
    if missing:
        lasts = (
            await RegisterRead.filter(register_id__in=missing, read_at__lt=start)
            .exclude(quality=ReadQuality.REJECTED)
            .using_db(conn)
            .group_by("register_id")
            .annotate(last=Max("read_at"))
            .values("register_id", "last")
        )
        if lasts:
            rows += await (
                RegisterRead.filter(
                    Q(
                        *[Q(register_id=x["register_id"], read_at=x["last"]) for x in lasts],
                        join_type="OR",
                    )
                )
                .exclude(quality=ReadQuality.REJECTED)
                .using_db(conn)
                .values(*columns)
            )
    windows = {rid: Window([], {}) for rid in ids}
    for row in rows:
        window = windows[row["register_id"]]
        point = _point(ctx.registers[row["register_id"]], row)
        window.points.append(point)
        window.flags[point.uuid] = sorted(row["quality_flags"] or [])
    for window in windows.values():
        window.points.sort(key=lambda p: p.key)
    return windows


def _decide_read(
    ctx: Context, item: ReadItem, windows: dict[int, Window], new_reads: dict[UUID, RegisterRead]
) -> Outcome:
    existing = ctx.existing_reads.get(item.uuid) or new_reads.get(item.uuid)
    if existing is not None:
        if existing.register_id != item.register_id:  # type: ignore[attr-defined]
            return Outcome(
                SyncItemResult.REJECTED,
                "",
                _reason("uuid_in_use", "this UUID belongs to another read: generate a new one"),
            )
        return Outcome(SyncItemResult.DUPLICATE, "", _read_json(existing))
    info = ctx.registers.get(item.register_id)
    if info is None:
        return Outcome(
            SyncItemResult.REJECTED,
            "",
            _reason("unknown_register", f"register {item.register_id} does not exist: pull again"),
        )
    if item.value_milli >= info.facts.span_milli:
        return Outcome(
            SyncItemResult.REJECTED,
            "",
            _reason(
                "too_many_digits",
                f"the register shows at most {info.facts.digits} digits: check the value",
            ),
        )
    read_at = ctx.correction.correct(item.captured_at).astimezone(UTC)
    if conflicts.in_future(read_at, ctx.received_at):
        return Outcome(
            SyncItemResult.REJECTED,
            "",
            _reason(
                "capture_in_future", "the capture time is in the future: check the handset's clock"
            ),
        )
    static: set[str] = set()
    if ctx.correction.skewed:
        static.add(Rule.CLOCK_SKEW)
    if info.meter_id not in ctx.my_meters:
        static.add(Rule.METER_MOVED)
    billed = ctx.last_billed.get(info.id)
    if conflicts.older_than_billed(read_at, billed[0] if billed else None):
        static.add(Rule.OLDER_THAN_BILLED)
    point = ReadPoint(
        uuid=str(item.uuid),
        read_at=read_at,
        value_milli=item.value_milli,
        cycle=conflicts.cycle_of(read_at.astimezone(ctx.zone).date(), info.read_day),
        field=True,
    )
    window = windows[info.id]
    before = [r for r in window.points if r.key < point.key]
    after = [r for r in window.points if r.key > point.key]
    flags = set(conflicts.drop_flags(info.facts, before[-1] if before else None, point))
    if after:
        window.set(
            after[0].uuid, conflicts.DROP_FLAGS, conflicts.drop_flags(info.facts, point, after[0])
        )
    mates = [r for r in window.points if r.cycle == point.cycle] + [point]
    by_cycle = conflicts.cycle_flags(mates)
    flags |= by_cycle[point.uuid]
    for mate in mates:
        if mate.uuid != point.uuid:
            window.set(mate.uuid, conflicts.CYCLE_FLAGS, by_cycle[mate.uuid])
    all_flags = static | flags
    context = list(window.points)
    bisect.insort(window.points, point, key=lambda p: p.key)
    window.flags[point.uuid] = sorted(all_flags)
    read = RegisterRead(
        client_uuid=item.uuid,
        register_id=info.id,
        value_milli=item.value_milli,
        read_at=read_at,
        source=ReadSource(item.source),
        quality=ReadQuality.PENDING,
        quality_flags=sorted(all_flags),
        captured_by_id=ctx.device.reader_id,  # type: ignore[attr-defined]
        device_id=ctx.device.id,
        device_captured_at=item.captured_at,
        received_at=ctx.received_at,
        latitude=item.latitude,
        longitude=item.longitude,
        raw_telegram=item.raw_telegram,
        photo_uuid=item.photo_uuid,
        notes=item.notes,
        revision=1,
        billed=False,
    )
    new_reads[item.uuid] = read
    rule = conflicts.reported_rule(all_flags)
    detail = _read_json(read)
    detail["flags"] = sorted(all_flags)
    if item.captured_at != read_at:
        detail["device_captured_at"] = item.captured_at.isoformat()
    if rule is None:
        return Outcome(SyncItemResult.ACCEPTED, "", detail)
    detail.update(_explain(ctx, info, rule, point, context, billed))
    return Outcome(SyncItemResult.CONFLICT_RESOLVED, rule.value, detail)


def _explain(
    ctx: Context,
    info: RegisterInfo,
    rule: Rule,
    point: ReadPoint,
    window: list[ReadPoint],
    billed: tuple[datetime, str, int] | None,
) -> dict[str, Any]:
    """The winning value and a sentence for the reader, for the rule a read's item reports."""
    if rule is Rule.OLDER_THAN_BILLED and billed is not None:
        return {
            "winner": {
                "read_uuid": billed[1],
                "value_milli": billed[2],
                "read_at": billed[0].isoformat(),
            },
            "message": "captured before the last billed read: kept for the record, the billed read stands",
        }
    previous = max((r for r in window if r.key < point.key), key=lambda r: r.key, default=None)
    if rule is Rule.BACKWARDS and previous is not None:
        return {
            "winner": _read_json(previous),
            "message": "lower than the previous read and not a rollover: kept as suspect for the office to check, re-read the meter if you can",
        }
    if rule is Rule.ROLLOVER and previous is not None:
        drop = conflicts.classify_drop(info.facts, previous, point)
        return {
            "winner": _read_json(point),
            "usage_milli": drop[1] if drop else None,
            "message": "lower than the previous read: taken as the register rolling over past zero",
        }
    if rule in (Rule.SAME_CYCLE, Rule.SUPERSEDED):
        mates = [r for r in window if r.field and r.cycle == point.cycle] + [point]
        return {
            "winner": _read_json(conflicts.cycle_winner(mates)),
            "message": "the register was read more than once this cycle: all reads are kept, billing uses the latest",
        }
    if rule is Rule.METER_MOVED:
        route = ctx.meter_route.get(info.meter_id)
        return {
            "winner": {"route": route},
            "message": "this meter is no longer on your routes: the read is kept, pull to update your list",
        }
    return {
        "winner": {"clock_offset_s": ctx.correction.offset_s},
        "message": "the handset clock was off by more than 5 minutes: times were corrected, set the clock",
    }


async def _window(info: RegisterInfo, read_at: datetime, conn: Any) -> list[ReadPoint]:
    """The register's reads from ``NEIGHBOUR_WINDOW`` before ``read_at`` on (plus the one
    before that, if none is in the window): the new read's predecessor, its successor and
    every read of its cycle."""
    start = read_at - NEIGHBOUR_WINDOW
    rows = (
        await RegisterRead.filter(register_id=info.id, read_at__gte=start)
        .using_db(conn)
        .values("client_uuid", "read_at", "value_milli", "source", "quality")
    )
    if not any(r["read_at"] < read_at for r in rows):
        rows += (
            await RegisterRead.filter(register_id=info.id, read_at__lt=start)
            .using_db(conn)
            .order_by("-read_at", "-client_uuid")
            .limit(1)
            .values("client_uuid", "read_at", "value_milli", "source", "quality")
        )
    return sorted(
        (_point(info, r) for r in rows if r["quality"] != ReadQuality.REJECTED),
        key=lambda p: p.key,
    )


def _point(info: RegisterInfo, row: dict[str, Any]) -> ReadPoint:
    read_at: datetime = row["read_at"]
    return ReadPoint(
        uuid=str(row["client_uuid"]),
        read_at=read_at,
        value_milli=row["value_milli"],
        cycle=conflicts.cycle_of(read_at.astimezone(info.zone).date(), info.read_day),
        field=str(row["source"]) in FIELD_SOURCES,
    )


async def _update_flags(
    changes: dict[str, tuple[frozenset[str], frozenset[str]]], conn: Any
) -> None:
    if not changes:
        return
    for read in (
        await RegisterRead.filter(client_uuid__in=list(changes))
        .using_db(conn)
        .only("id", "client_uuid", "quality_flags")
    ):
        category, new = changes[str(read.client_uuid)]
        flags = conflicts.replace_flags(read.quality_flags or [], category, new)
        if flags != sorted(read.quality_flags or []):
            await RegisterRead.filter(id=read.id).using_db(conn).update(quality_flags=flags)


async def _apply_edit(ctx: Context, item: EditItem, conn: Any) -> Outcome:
    done = ctx.done_edits.get(item.uuid)
    if done is not None:
        return Outcome(SyncItemResult.DUPLICATE, done.rule, done.detail)
    found = await RegisterRead.filter(client_uuid=item.read_uuid).using_db(conn).first()
    if found is None:
        return Outcome(
            SyncItemResult.REJECTED,
            "",
            _reason("unknown_read", "the read is not on the server: push the read before its edit"),
        )
    if found.device_id != ctx.device.id:  # type: ignore[attr-defined]
        return Outcome(
            SyncItemResult.REJECTED,
            "",
            _reason("not_your_read", "a device may only edit reads it captured itself"),
        )
    if ctx.postgres:  # register before read, as pushes of reads lock them
        await conn.execute_query(
            "SELECT id FROM registers WHERE id = $1 FOR UPDATE",
            [found.register_id],  # type: ignore[attr-defined]
        )
    read = await RegisterRead.filter(id=found.id).using_db(conn).select_for_update().get()
    verdict, rule = conflicts.decide_edit(
        conflicts.StoredRead(
            revision=read.revision,
            value_milli=read.value_milli,
            billed=read.billed,
            staff_edited=read.quality == ReadQuality.EDITED and read.revision > item.base_revision,
        ),
        item.base_revision,
        item.value_milli,
    )
    if verdict is conflicts.EditVerdict.SERVER_WINS:
        assert rule is not None
        detail: dict[str, Any] = {"winner": _read_json(read)}
        detail["message"] = (
            "the read is already billed: ask the office for a correction"
            if rule is Rule.EDIT_BILLED
            else "the office changed this read after you captured it: their value stands"
        )
        result = Outcome(SyncItemResult.CONFLICT_RESOLVED, rule.value, detail)
    elif verdict is conflicts.EditVerdict.UNCHANGED:
        result = Outcome(SyncItemResult.ACCEPTED, "", _read_json(read))
    else:
        info = await _info_for(ctx, read.register_id)  # type: ignore[attr-defined]
        if item.value_milli >= info.facts.span_milli:
            return Outcome(
                SyncItemResult.REJECTED,
                "",
                _reason(
                    "too_many_digits", f"the register shows at most {info.facts.digits} digits"
                ),
            )
        await RegisterReadRevision.create(
            using_db=conn,
            read_id=read.id,
            revision=read.revision,
            value_milli=read.value_milli,
            read_at=read.read_at,
            source=read.source,
            quality=read.quality,
            changed_by_id=ctx.device.reader_id,  # type: ignore[attr-defined]
            reason=f"edited on device {ctx.device.device_uid} (edit {item.uuid})",
        )
        read.value_milli = item.value_milli
        read.revision += 1
        read.quality = ReadQuality.PENDING
        ctx.changed_at(read.register_id, read.read_at)  # type: ignore[attr-defined]
        if item.notes is not None:
            read.notes = item.notes
        window = [
            p for p in await _window(info, read.read_at, conn) if p.uuid != str(read.client_uuid)
        ]
        point = _point(
            info,
            {
                "client_uuid": read.client_uuid,
                "read_at": read.read_at,
                "value_milli": read.value_milli,
                "source": read.source,
            },
        )
        before = [r for r in window if r.key < point.key]
        after = [r for r in window if r.key > point.key]
        read.quality_flags = conflicts.replace_flags(
            read.quality_flags or [],
            conflicts.DROP_FLAGS,
            conflicts.drop_flags(info.facts, before[-1] if before else None, point),
        )
        await read.save(
            using_db=conn,
            update_fields=[
                "value_milli",
                "revision",
                "quality",
                "notes",
                "quality_flags",
                "updated_at",
            ],
        )
        if after:
            await _update_flags(
                {
                    after[0].uuid: (
                        conflicts.DROP_FLAGS,
                        conflicts.drop_flags(info.facts, point, after[0]),
                    )
                },
                conn,
            )
        ctx.existing_reads[read.client_uuid] = read  # a later duplicate reports this value
        result = Outcome(SyncItemResult.ACCEPTED, "", _read_json(read))
    ctx.done_edits[item.uuid] = result
    return result


async def _info_for(ctx: Context, register_id: int) -> RegisterInfo:
    info = ctx.registers.get(register_id)
    if info is None:
        register = await Register.get(id=register_id)
        loads, read_days = await _account_facts({register.meter_id})  # type: ignore[attr-defined]
        info = RegisterInfo(
            id=register.id,
            meter_id=register.meter_id,  # type: ignore[attr-defined]
            facts=RegisterFacts(
                unit=str(register.unit),
                digits=register.digits,
                max_load_w=loads.get(register.meter_id),  # type: ignore[attr-defined]
            ),
            read_day=read_days.get(register.meter_id, 1),  # type: ignore[attr-defined]
            zone=ctx.zone,
        )
        ctx.registers[register_id] = info
    return info


async def _apply_skip(ctx: Context, item: SkipItem, conn: Any) -> Outcome:
    existing = ctx.existing_visits.get(item.uuid)
    if existing is not None:
        return Outcome(SyncItemResult.DUPLICATE, "", {"visit_uuid": str(existing.client_uuid)})
    if item.meter_id not in ctx.known_meters:
        return Outcome(
            SyncItemResult.REJECTED,
            "",
            _reason("unknown_meter", f"meter {item.meter_id} does not exist: pull again"),
        )
    visited_at = ctx.correction.correct(item.visited_at).astimezone(UTC)
    visit = await FieldVisit.create(
        using_db=conn,
        client_uuid=item.uuid,
        meter_id=item.meter_id,
        device_id=ctx.device.id,
        reader_id=ctx.device.reader_id,  # type: ignore[attr-defined]
        visited_at=visited_at,
        skip_code=item.skip_code,
        notes=item.notes,
        latitude=item.latitude,
        longitude=item.longitude,
        photo_uuid=item.photo_uuid,
    )
    ctx.existing_visits[item.uuid] = visit
    detail: dict[str, Any] = {"visit_uuid": str(item.uuid), "visited_at": visited_at.isoformat()}
    if item.meter_id not in ctx.my_meters:
        detail["message"] = "this meter is no longer on your routes: pull to update your list"
        return Outcome(SyncItemResult.CONFLICT_RESOLVED, Rule.METER_MOVED.value, detail)
    return Outcome(SyncItemResult.ACCEPTED, "", detail)


def results_summary(results: Iterable[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in results:
        counts[r["result"]] = counts.get(r["result"], 0) + 1
    return counts

"""Push: apply a device's batch of offline records, item by item, exactly once.

The transport over the field services: the batch is opened (``sync/batches.py``: its row,
and the items already recorded, answered again as ``replayed``), what the records need is
loaded once (``services.field.push_facts``), then the items are applied in order, each by
its service (reads ``services.field.pushed_reads``, edits ``pushed_edits``, skips
``skips``), which writes the item's ``sync_items`` row in its own transaction through the
``record`` callback given here, and the results are put in the wire format
(``sync/answers.py``).

For speed, runs of up to :data:`CHUNK` reads (with the malformed items among them) are
stored together. If such a run fails at the database (a read UUID taken by a concurrent
push of the same records), it is rolled back and its items are applied one by one, each
in its own transaction, so one bad item never blocks the others. Edits and skips always
take one transaction each.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.enums import SyncItemResult
from domain.vee import VeeConfig
from services.field import push_facts, pushed_reads, skips
from services.field.push_facts import FieldPush
from services.field.pushed_edits import EditResult, apply_edit
from services.field.pushed_reads import ReadResult
from services.field.skips import SkipResult
from store.models import FieldDevice, SyncBatch, SyncItem
from sync import answers, batches
from sync.batches import Outcome
from sync.protocol import BadItem, Batch, EditItem, Item, ReadItem, SkipItem

CHUNK = 250
"""Reads applied together in one transaction (each decided alone, in order)."""

Entry = tuple[int, Item, Any]
"""An item to apply: its position in the batch, the item parsed, and as sent."""


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


async def push(
    device: FieldDevice,
    batch: Batch,
    *,
    zone: ZoneInfo,
    postgres: bool,
    received_at: datetime | None = None,
    vee_config: VeeConfig,
) -> PushResult:
    """Apply ``batch`` from ``device``; raises :class:`sync.batches.BatchConflict`.

    Once the items are committed, the pending reads of the registers the batch names are
    judged by the register-read VEE rules (``services.field.pushed_reads.judge``, with
    ``vee_config`` the utility's configuration, read by the caller); a failure there is
    logged, not the push's: the periodic task ``validate_pending_reads`` judges them later.
    """
    received_at = received_at or datetime.now(UTC)
    stored, replayed = await batches.open_batch(device, batch, received_at)
    done = await batches.recorded_items(stored)
    results = {p: batches.item_json(i, True) for p, i in done.items()}
    pending = [(p, item) for p, item in enumerate(batch.items) if p not in done]
    touched = {item.register_id for item in batch.items if isinstance(item, ReadItem)}
    rejudge: dict[int, datetime] = {}
    if pending:
        facts = FieldPush(device, zone, batches.correction_of(stored), received_at, postgres)
        items = [item for _, item in pending]
        edits = [i for i in items if isinstance(i, EditItem)]
        await push_facts.load(
            facts,
            [i for i in items if isinstance(i, ReadItem)],
            edits,
            [i for i in items if isinstance(i, SkipItem)],
        )
        applier = _Applier(
            facts, stored, await batches.applied_edits(device, [e.uuid for e in edits])
        )
        run: list[Entry] = []
        for position, item in pending:
            entry = (position, item, batch.raw_items[position])
            if isinstance(item, ReadItem | BadItem):
                run.append(entry)
                if len(run) >= CHUNK:
                    results.update(await applier.apply_run(run))
                    run = []
            else:
                results.update(await applier.apply_run(run))
                run = []
                results[position] = await applier.apply(entry)
        results.update(await applier.apply_run(run))
        rejudge = facts.rejudge
    await batches.finish(stored, replayed, len(batch.items))
    await pushed_reads.judge(touched | set(rejudge), rejudge, zone=zone, config=vee_config)
    return PushResult(
        batch_uuid=batch.batch_uuid,
        replayed=replayed,
        clock_offset_s=stored.clock_offset_s,
        results=[results[p] for p in range(len(batch.items))],
    )


class _Applier:
    """Applies the pending items of one batch and records each in its transaction."""

    def __init__(
        self, facts: FieldPush, stored: SyncBatch, done_edits: dict[uuid.UUID, Outcome]
    ) -> None:
        self.facts = facts
        self.stored = stored
        self.done_edits = done_edits
        """Edits applied before (in this batch or an earlier one): answered the same again."""

    def _row(self, entry: Entry, outcome: Outcome) -> SyncItem:
        position, item, raw = entry
        return batches.item_row(self.stored, position, item.kind, item.uuid, raw, outcome)

    async def apply_run(self, run: list[Entry]) -> dict[int, dict[str, Any]]:
        """Apply a run of reads together; if the run fails, apply them one by one instead."""
        if not run:
            return {}
        try:
            return await self._store_run(run)
        except IntegrityError:
            return {entry[0]: await self.apply(entry) for entry in run}

    async def _store_run(self, run: list[Entry]) -> dict[int, dict[str, Any]]:
        """Reads (and malformed items) with their ``sync_items`` rows, in one transaction."""
        reads = [(position, item) for position, item, _ in run if isinstance(item, ReadItem)]
        rows: list[SyncItem] = []

        async def record(conn: Any, done: dict[int, ReadResult]) -> None:
            for entry in run:
                position, item, _ = entry
                if isinstance(item, BadItem):
                    outcome = Outcome(
                        SyncItemResult.REJECTED, "", answers.reason(item.code, item.message)
                    )
                else:
                    outcome = answers.read_outcome(self.facts, done[position])
                rows.append(self._row(entry, outcome))
            await SyncItem.bulk_create(rows, using_db=conn)

        await pushed_reads.store_reads(self.facts, reads, record)
        return {row.position: batches.item_json(row, False) for row in rows}

    async def apply(self, entry: Entry, *, retry: bool = True) -> dict[str, Any]:
        """Apply one item and record it, in one transaction."""
        position, item, _ = entry
        try:
            if isinstance(item, ReadItem | BadItem):
                return (await self._store_run([entry]))[position]
            row = await self._apply_one(entry)
        except IntegrityError:
            # Another request applied this very item (the same batch pushed twice at once), or
            # a UUID was taken meanwhile: answer from what is stored now.
            again = await batches.recorded_item(self.stored, position)
            if again is not None:
                return batches.item_json(again, True)
            if retry:  # reload what the other push stored, then this item is a duplicate
                if isinstance(item, ReadItem):
                    await pushed_reads.reload(self.facts, item.uuid)
                elif isinstance(item, SkipItem):
                    await skips.reload(self.facts, item.uuid)
                return await self.apply(entry, retry=False)
            outcome = Outcome(
                SyncItemResult.REJECTED,
                "",
                answers.reason("retry", "this record clashed with another push: send it again"),
            )
            row = self._row(entry, outcome)
            await row.save()
        return batches.item_json(row, False)

    async def _apply_one(self, entry: Entry) -> SyncItem:
        """An edit or a skip, through its service, with its row in the service's transaction."""
        _, item, _ = entry
        rows: list[SyncItem] = []
        if isinstance(item, EditItem):
            done = self.done_edits.get(item.uuid)
            if done is not None:
                rows.append(
                    self._row(entry, Outcome(SyncItemResult.DUPLICATE, done.rule, done.detail))
                )
                async with in_transaction() as conn:
                    await rows[0].save(using_db=conn)
                return rows[0]

            async def record_edit(conn: Any, result: EditResult) -> None:
                outcome = answers.edit_outcome(result)
                if outcome.result is not SyncItemResult.REJECTED:
                    self.done_edits[item.uuid] = outcome
                rows.append(self._row(entry, outcome))
                await rows[0].save(using_db=conn)

            await apply_edit(self.facts, item, record_edit)
        else:
            assert isinstance(item, SkipItem)

            async def record_skip(conn: Any, result: SkipResult) -> None:
                rows.append(self._row(entry, answers.skip_outcome(result)))
                await rows[0].save(using_db=conn)

            await skips.record_skip(self.facts, item, record_skip)
        return rows[0]

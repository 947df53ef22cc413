"""Push: apply a device's batch of offline records, in runs, exactly once.

The transport over the field services: the batch is opened (``sync/batches.py``: its row,
and the items already recorded, answered again as ``replayed``), what the records need is
loaded once (``services.field.push_facts``), then the items are applied in runs of up to
:data:`CHUNK` items of one kind: reads (with the malformed items among them) through
``services.field.pushed_reads``, edits through ``pushed_edits``, skips through ``skips``.
Skips, and edits of reads no later item of the run names, commute with the reads around
them, so they gather in runs of their own (:func:`_runs`): a batch that interleaves them
among its reads is not cut into hundreds of short runs. Each service decides every item
of its run in order, as if it had been applied alone after the ones before it, and
writes the run with multi-row statements in one transaction, in which it calls the
``record`` callback given here to write the items' ``sync_items`` rows (one insert). The
results are put in the wire format (``sync/answers.py``), in item order.

If a run fails at the database (a UUID taken by a concurrent push of the same records),
it is rolled back and its items are applied one by one, each in its own transaction, so
one bad item never blocks the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
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
from services.field.pushed_edits import apply_edits
from store.models import FieldDevice, SyncBatch
from sync import answers, batches
from sync.batches import ItemRow, Outcome
from sync.protocol import BadItem, Batch, EditItem, Item, ReadItem, SkipItem

CHUNK = 1000
"""Items applied together in one transaction (each decided as if alone, in order). The
column-array inserts make a run's statements as cheap at 1,000 items as at 250."""

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
            facts,
            stored,
            await batches.applied_edits(device, [e.uuid for e in edits]),
            nul_free=batch.nul_free,
        )
        entries = [(p, item, batch.raw_items[p]) for p, item in pending]
        for run in _runs(entries, _read_registers(items, facts)):
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


def _kind(item: Item) -> str:
    """Reads and malformed items are stored together; edits and skips each on their own."""
    return (
        "edit" if isinstance(item, EditItem) else "skip" if isinstance(item, SkipItem) else "read"
    )


def _read_registers(items: list[Item], facts: FieldPush) -> dict[uuid.UUID, set[int]]:
    """Per read UUID, the registers it is (stored, or sent in this batch) on: what an edit
    of that read can touch."""
    registers: dict[uuid.UUID, set[int]] = {}
    for item in items:
        if isinstance(item, ReadItem):
            registers.setdefault(item.uuid, set()).add(item.register_id)
    for read_uuid, read in facts.existing_reads.items():
        registers.setdefault(read_uuid, set()).add(read.register_id)  # type: ignore[union-attr]
    return registers


def _runs(entries: list[Entry], read_registers: dict[uuid.UUID, set[int]]) -> Iterator[list[Entry]]:
    """The items cut into runs of one kind of up to :data:`CHUNK` items, applied one run
    after the other, each run in client order, with the same outcome as the items one at
    a time in client order.

    Items that touch nothing in common commute, so a run need not stop at an item of
    another kind. A skip touches only visits: skips gather in runs of their own. An edit
    touches its read and that read's register: edits gather in a run held back while the
    reads after them go on in theirs, until a read of a held edit's register or UUID
    comes; then the reads so far, and the held edits after them, are applied first. An
    edit whose UUID is already held also closes the held run (it is then answered as the
    first)."""
    reads: list[Entry] = []
    edits: list[Entry] = []
    skips: list[Entry] = []
    held: set[tuple[str, object]] = set()
    """What the held edits touch: ("read", UUID) and ("register", id)."""
    edit_uuids: set[uuid.UUID] = set()
    for entry in entries:
        item = entry[1]
        if isinstance(item, SkipItem):
            skips.append(entry)
            if len(skips) >= CHUNK:
                yield skips
                skips = []
            continue
        if isinstance(item, EditItem):
            closes = item.uuid in edit_uuids or len(edits) >= CHUNK
        else:
            closes = isinstance(item, ReadItem) and bool(
                held & {("read", item.uuid), ("register", item.register_id)}
            )
        if closes:  # the reads before the held edits, then the edits
            if reads:
                yield reads
                reads = []
            yield edits
            edits, held, edit_uuids = [], set(), set()
        if isinstance(item, EditItem):
            edits.append(entry)
            edit_uuids.add(item.uuid)
            held.add(("read", item.read_uuid))
            held.update(("register", r) for r in read_registers.get(item.read_uuid, ()))
            continue
        reads.append(entry)
        if len(reads) >= CHUNK:
            yield reads
            reads = []
    for run in (reads, edits, skips):
        if run:
            yield run


class _Applier:
    """Applies the pending items of one batch, a run of them in each transaction."""

    def __init__(
        self,
        facts: FieldPush,
        stored: SyncBatch,
        done_edits: dict[uuid.UUID, Outcome],
        *,
        nul_free: bool,
    ) -> None:
        self.facts = facts
        self.stored = stored
        self.done_edits = done_edits
        """Edits applied before (in this batch or an earlier one): answered the same again."""
        self.nul_free = nul_free

    def _row(self, entry: Entry, outcome: Outcome) -> ItemRow:
        position, item, raw = entry
        return batches.item_row(
            position, item.kind, item.uuid, raw, outcome, nul_free=self.nul_free
        )

    async def apply_run(self, run: list[Entry]) -> dict[int, dict[str, Any]]:
        """Apply a run of items together; if the run fails, apply them one by one instead."""
        try:
            return await self._store_run(run)
        except IntegrityError:
            return {entry[0]: await self.apply(entry) for entry in run}

    async def _store_run(self, run: list[Entry]) -> dict[int, dict[str, Any]]:
        """A run of one kind with its ``sync_items`` rows, in one transaction."""
        rows: list[ItemRow] = []

        def recorder(
            outcome_of: Callable[[Any], Outcome],
        ) -> Callable[[Any, dict[int, Any]], Awaitable[None]]:
            async def record(conn: Any, done: dict[int, Any]) -> None:
                rows.extend(
                    self._row(entry, self._outcome(entry, done, outcome_of)) for entry in run
                )
                await batches.write_items(conn, self.stored, rows)

            return record

        kind = _kind(run[0][1])
        if kind == "read":
            reads = [(p, item) for p, item, _ in run if isinstance(item, ReadItem)]
            await pushed_reads.store_reads(
                self.facts, reads, recorder(lambda r: answers.read_outcome(self.facts, r))
            )
        elif kind == "skip":
            visits = [(p, item) for p, item, _ in run if isinstance(item, SkipItem)]
            await skips.record_skips(self.facts, visits, recorder(answers.skip_outcome))
        else:
            fresh = [
                (p, i)
                for p, i, _ in run
                if isinstance(i, EditItem) and i.uuid not in self.done_edits
            ]
            await apply_edits(self.facts, fresh, recorder(answers.edit_outcome))
            for row in rows:
                if row.result is not SyncItemResult.REJECTED:
                    self.done_edits.setdefault(
                        row.client_uuid, Outcome(row.result, row.rule, row.detail)
                    )
        return {row.position: batches.item_json(row, False) for row in rows}

    def _outcome(
        self, entry: Entry, done: dict[int, Any], outcome_of: Callable[[Any], Outcome]
    ) -> Outcome:
        position, item, _ = entry
        if isinstance(item, BadItem):
            return Outcome(SyncItemResult.REJECTED, "", answers.reason(item.code, item.message))
        if position not in done:  # an edit applied before: answered the same again
            assert isinstance(item, EditItem)
            earlier = self.done_edits[item.uuid]
            return Outcome(SyncItemResult.DUPLICATE, earlier.rule, earlier.detail)
        return outcome_of(done[position])

    async def apply(self, entry: Entry, *, retry: bool = True) -> dict[str, Any]:
        """Apply one item and record it, in one transaction."""
        position, item, _ = entry
        try:
            return (await self._store_run([entry]))[position]
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
            async with in_transaction() as conn:
                await batches.write_items(conn, self.stored, [row])
        return batches.item_json(row, False)

"""A push decided in runs (``sync.push``: up to ``CHUNK`` items of one kind a transaction,
decided in memory and written with multi-row statements; skips, and edits no later read
of the run touches, held in runs of their own while the reads around them go on)
answers and stores exactly what applying the same items one at a time does.

Hypothesis draws a reader's items in any order: new reads (on the reader's routes or not,
before the billed read, lower, near the top of the register, too many digits, several at
one moment), the same read sent again (in the same batch too), edits of reads sent before
or after them, sent twice, followed by reads of the edited read's register and of others,
skips sent twice, unknown meters and malformed items. The runs are cut small
(``CHUNK`` = 3) so a batch spans several, of every kind, or long (``CHUNK`` = 100) so
every edit and skip is held back past the reads after it. Compared with

- the same batch applied in runs of one item (each its own transaction, everything it
  meets read back from the database): the same answers and the same stored state, VEE
  verdicts included;
- each item pushed alone, in a batch of its own: the same answers and the same reads,
  sync flags, revisions, visits and item rows. (VEE verdicts are left out there: the
  register-read rules judge several reads of one register at one moment differently when
  they arrive together or one by one, with the item-by-item push as well.)

Every example starts from the same stored state, on both databases.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_helpers import NOW, World, batch_body, push_body, read_item
from test_sync_order import snapshot

from services.meter_data.vee_pending import VEE_FLAGS
from store.db import open_database
from store.models import (
    FieldVisit,
    RegisterRead,
    RegisterReadRevision,
    SyncBatch,
    SyncItem,
    ValidationException,
)
from sync import push
from sync.protocol import EditItem, ReadItem, SkipItem

HOURS = st.integers(min_value=1, max_value=24 * 75)  # back to before the billed read
VALUES = st.one_of(
    st.integers(min_value=9_900_000, max_value=10_700_000),
    st.just(99_999_000),  # near the top: the next lower read may be a rollover
    st.just(100_000_000),  # six digits on a five-digit register
)


@st.composite
def pushes(draw: Any, world: World) -> list[dict[str, Any]]:
    """A reader's items, some of them sent again, in the order drawn or shuffled."""
    registers = [*world.registers[:2], world.other_register]  # few: reads meet each other
    meters = [m.id for m in (*world.meters, world.other_meter)] + [999_999]
    items: list[dict[str, Any]] = []
    reads: list[str] = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        kind = draw(st.sampled_from(["read", "read", "read", "again", "edit", "skip", "bad"]))
        if kind == "read":
            register = draw(st.sampled_from(registers))
            at = NOW - timedelta(hours=draw(HOURS))
            items.append(read_item(register, draw(VALUES), at))
            reads.append(items[-1]["uuid"])
        elif kind == "again" and items:
            items.append(dict(draw(st.sampled_from(items))))
        elif kind == "edit":  # a few edits in a row, often of neighbouring reads
            for _ in range(draw(st.integers(min_value=1, max_value=3))):
                target = draw(st.sampled_from(reads)) if reads else str(uuid.uuid4())
                items.append(
                    {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": target,
                     "base_revision": draw(st.integers(1, 2)), "value_milli": draw(VALUES),
                     "edited_at": NOW.isoformat()}
                )  # fmt: skip
            for _ in range(draw(st.integers(min_value=0, max_value=2))):  # reads after it
                register = draw(st.sampled_from(registers))
                at = NOW - timedelta(hours=draw(HOURS))
                items.append(read_item(register, draw(VALUES), at))
                reads.append(items[-1]["uuid"])
        elif kind == "skip":
            items.append(
                {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": draw(st.sampled_from(meters)),
                 "visited_at": (NOW - timedelta(hours=draw(HOURS))).isoformat(),
                 "skip_code": "no_access"}
            )  # fmt: skip
        else:
            items.append({"kind": "bogus", "uuid": str(uuid.uuid4())})
    return draw(st.permutations(items)) if draw(st.booleans()) else items


def answers(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(r["uuid"], r["kind"], r["result"], r["rule"], r["detail"]) for r in results]


async def stored_state(*, verdicts: bool = True) -> dict[str, Any]:
    state = await snapshot()
    if not verdicts:
        for read in state["reads"]:
            read["quality_flags"] = [f for f in read["quality_flags"] if f not in VEE_FLAGS]
            del read["quality"]
    state["items"] = sorted(
        (str(i["client_uuid"]), i["kind"], i["result"], i["rule"])
        for i in await SyncItem.all().values("client_uuid", "kind", "result", "rule")
    )
    return state


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What differs between two stored states, read by read (a short failure message)."""
    out: list[tuple[Any, ...]] = []
    for table in a:
        for x, y in zip(a[table], b[table], strict=False):
            if not isinstance(x, dict):
                out += [(table, x, y)] if x != y else []
                continue
            out += [(table, x.get("client_uuid"), k, x[k], y.get(k)) for k in x if x[k] != y.get(k)]
        if len(a[table]) != len(b[table]):
            out.append((table, "rows", len(a[table]), len(b[table])))
    return out


async def reset(baseline: list[dict[str, Any]]) -> None:
    """Back to the world as built: its own reads as they were, nothing pushed."""
    await SyncItem.all().delete()
    await SyncBatch.all().delete()
    await FieldVisit.all().delete()
    await ValidationException.all().delete()
    await RegisterReadRevision.all().delete()
    await RegisterRead.exclude(id__in=[r["id"] for r in baseline]).delete()
    for row in baseline:
        await RegisterRead.filter(id=row["id"]).update(
            **{k: v for k, v in row.items() if k != "id"}
        )


@pytest.fixture
def baseline(seeded: World, database_url: str) -> list[dict[str, Any]]:
    """The world's own reads as built, restored before each example."""

    async def read() -> list[dict[str, Any]]:
        async with open_database(database_url):
            return list(
                await RegisterRead.all().values(
                    "id", "value_milli", "quality", "quality_flags", "revision", "notes"
                )
            )

    return asyncio.run(read())


def assert_runs_equal_one_at_a_time(
    world: World, baseline: list[dict[str, Any]], database_url: str, backend: str,
    monkeypatch: pytest.MonkeyPatch, items: list[dict[str, Any]], chunk: int = 3,
) -> None:  # fmt: skip
    device = world.devices["a"]
    pg = backend == "postgres"

    async def run() -> None:
        async with open_database(database_url):
            monkeypatch.setattr(push, "CHUNK", chunk)
            await reset(baseline)
            together = await push_body(device, batch_body(items), postgres=pg)
            state, sync_state = await stored_state(), await stored_state(verdicts=False)
            await reset(baseline)
            monkeypatch.setattr(push, "CHUNK", 1)
            one_by_one = await push_body(device, batch_body(items), postgres=pg)
            assert answers(together.results) == answers(one_by_one.results)
            assert differences(state, await stored_state()) == []
            await reset(baseline)
            alone = [
                (await push_body(device, batch_body([item]), postgres=pg)).results[0]
                for item in items
            ]
            assert answers(together.results) == answers(alone)
            assert differences(sync_state, await stored_state(verdicts=False)) == []

    asyncio.run(run())


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_batch_in_runs_equals_its_items_pushed_one_at_a_time(
    seeded: World, baseline: list[dict[str, Any]], database_url: str, backend: str,
    monkeypatch: pytest.MonkeyPatch, data: st.DataObject,
) -> None:  # fmt: skip
    items = data.draw(pushes(seeded))
    chunk = data.draw(st.sampled_from([3, 100]))
    assert_runs_equal_one_at_a_time(
        seeded, baseline, database_url, backend, monkeypatch, items, chunk
    )


def test_edits_of_neighbouring_reads_in_one_run(
    seeded: World, baseline: list[dict[str, Any]], database_url: str, backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The second edit meets the first one's value (and the flags it left), as if alone."""
    r0 = seeded.registers[0]
    a = read_item(r0, 10_400_000, NOW - timedelta(hours=3))
    b = read_item(r0, 10_450_000, NOW - timedelta(hours=2))

    def edit(read: dict[str, Any], value: int) -> dict[str, Any]:
        return {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": read["uuid"],
                "base_revision": 1, "value_milli": value, "edited_at": NOW.isoformat()}  # fmt: skip

    items = [a, b, edit(a, 10_500_000), edit(b, 10_460_000), edit(a, 10_440_000)]
    assert_runs_equal_one_at_a_time(seeded, baseline, database_url, backend, monkeypatch, items)


def test_reads_after_an_edit_of_their_register_wait_for_it(
    seeded: World, baseline: list[dict[str, Any]], database_url: str, backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An edit held back past reads of other registers and a skip, then a read of the
    edited read's register: that read meets the edited value, as if one at a time."""
    r0, r1 = seeded.registers[0], seeded.registers[1]
    a = read_item(r0, 10_400_000, NOW - timedelta(hours=5))
    edit = {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": a["uuid"],
            "base_revision": 1, "value_milli": 10_600_000, "edited_at": NOW.isoformat()}  # fmt: skip
    skip = {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": seeded.meters[2].id,
            "visited_at": NOW.isoformat(), "skip_code": "no_access"}  # fmt: skip
    items = [
        a, edit, read_item(r1, 10_300_000, NOW - timedelta(hours=4)), skip,
        read_item(r0, 10_500_000, NOW - timedelta(hours=3)),  # lower than the edited value
    ]  # fmt: skip
    assert_runs_equal_one_at_a_time(
        seeded, baseline, database_url, backend, monkeypatch, items, chunk=100
    )


def _entries(items: list[Any]) -> list[Any]:
    return [(p, item, {}) for p, item in enumerate(items)]


def _positions(runs: Any) -> list[list[int]]:
    return [[p for p, _, _ in run] for run in runs]


def test_skips_and_edits_of_other_registers_do_not_cut_the_reads() -> None:
    """Skips gather on their own; an edit is held until a read of its register or UUID."""
    at = NOW - timedelta(hours=1)

    def read(register: int) -> ReadItem:
        return ReadItem(uuid.uuid4(), register, 1_000, at, "manual", None, None, None, None, "")

    def skip() -> SkipItem:
        return SkipItem(uuid.uuid4(), 7, at, "no_access", "", None, None, None)

    stored = uuid.uuid4()  # a read stored before, on register 2
    edit = EditItem(uuid.uuid4(), stored, 1, 2_000, at, None)
    items = [read(1), skip(), edit, read(3), skip(), read(4), read(2), read(5), skip()]
    runs = push._runs(_entries(items), {stored: {2}})
    assert _positions(runs) == [[0, 3, 5], [2], [6, 7], [1, 4, 8]]
    again = EditItem(edit.uuid, stored, 1, 2_000, at, None)  # the same edit twice: two runs
    runs = push._runs(_entries([edit, read(1), again]), {stored: {2}})
    assert _positions(runs) == [[1], [0], [2]]

"""The handset's SQLite store: WAL, migrations, one transaction per capture, a batch
that stays the same until answered, and reads that survive the process being killed."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from field_pages import stop_page

from field_app.local_store import MIGRATIONS, SCHEMA_VERSION, LocalStore, StoreError

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
WORKER = Path(__file__).resolve().parent / "store_worker.py"


def test_wal_and_current_schema(local: LocalStore) -> None:
    assert local._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert local.schema_version() == SCHEMA_VERSION == 2


def test_an_old_database_is_migrated_and_keeps_its_reads(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.executescript(MIGRATIONS[0][1])
    db.execute(
        "INSERT INTO captures (uuid, kind, meter_id, captured_at, skip_code) "
        "VALUES ('u1', 'skip', 7, '2026-11-20T10:00:00+00:00', 'dog')"
    )
    db.commit()
    db.close()
    store = LocalStore(path)
    assert store.schema_version() == 2
    (capture,) = store.captures()
    assert (capture.uuid, capture.skip_code, capture.recapture_of) == ("u1", "dog", None)


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "x.sqlite3")
    store._db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer app"):
        LocalStore(tmp_path / "x.sqlite3")


def test_route_order_search_and_counts(local: LocalStore) -> None:
    assert [s.stop_id for s in local.stops()] == [1, 2]
    assert [s.stop_id for s in local.stops("m00002")] == [2]
    assert [s.stop_id for s in local.stops("A0001")] == [1]
    assert local.counts() == {"done": 0, "pending": 2, "skipped": 0}
    local.capture_read(register_id=11, value_milli=10_500_000, captured_at=NOW)
    local.capture_skip(meter_id=102, skip_code="no_access", visited_at=NOW)
    assert local.counts() == {"done": 1, "pending": 0, "skipped": 1}


def test_pull_page_twice_and_tombstone(local: LocalStore) -> None:
    local.apply_pull_page(stop_page(1, 11, cursor="c3"))
    assert len(local.stops()) == 2 and local.get("cursor") == "c3"
    local.apply_pull_page(
        {"cursor": "c4", "has_more": False, "stops": [], "tombstones": [{"stop_id": 1}],
         "messages": [{"id": 3, "body": "Gate code 1234", "sent_at": "2026-11-19T09:00:00+00:00"}]}
    )  # fmt: skip
    assert [s.stop_id for s in local.stops()] == [2]
    assert local.registers(1) == []
    assert [m["body"] for m in local.messages()] == ["Gate code 1234"]


def test_captures_are_checked(local: LocalStore) -> None:
    with pytest.raises(StoreError, match="no longer on your route"):
        local.capture_read(register_id=999, value_milli=1, captured_at=NOW)
    with pytest.raises(StoreError, match="at most 6 digits"):
        local.capture_read(register_id=11, value_milli=10**9, captured_at=NOW)
    with pytest.raises(StoreError, match="keeps its telegram"):
        local.capture_read(register_id=11, value_milli=1, captured_at=NOW, source="probe")
    with pytest.raises(StoreError, match="at most 2000 characters"):
        local.capture_read(register_id=11, value_milli=1, captured_at=NOW, notes="x" * 2001)
    with pytest.raises(StoreError, match="unknown skip code"):
        local.capture_skip(meter_id=101, skip_code="bored", visited_at=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        local.capture_skip(meter_id=101, skip_code="dog", visited_at=datetime(2026, 1, 1))  # noqa: DTZ001
    assert local.captures() == []


def test_batch_is_stable_until_answered(local: LocalStore) -> None:
    a = local.capture_read(register_id=11, value_milli=10_500_000, captured_at=NOW, notes="ok")
    s = local.capture_skip(
        meter_id=102, skip_code="dog", visited_at=NOW, latitude=18.5, longitude=73.8
    )
    first = local.outbound_batch(max_items=500, created_at=NOW)
    assert first is not None
    batch_id, items = first
    assert [i["uuid"] for i in items] == [a, s]
    assert items[0] == {
        "kind": "read", "uuid": a, "register_id": 11, "value_milli": 10_500_000,
        "captured_at": NOW.isoformat(), "source": "manual", "notes": "ok",
    }  # fmt: skip
    assert items[1]["latitude"] == 18.5 and items[1]["skip_code"] == "dog"
    local.capture_read(register_id=12, value_milli=10_600_000, captured_at=NOW)
    # Reopened (the app restarted): the same batch, unchanged, not the new read.
    again = LocalStore(local.path).outbound_batch(max_items=500, created_at=NOW)
    assert again == first
    local.apply_results(
        batch_id,
        [
            {"uuid": a, "result": "accepted", "rule": "", "detail": {"revision": 1}},
            {"uuid": s, "result": "rejected", "rule": "",
             "detail": {"code": "unknown_meter", "message": "no such meter"}},
        ],
    )  # fmt: skip
    by_uuid = {c.uuid: c for c in local.captures()}
    assert (by_uuid[a].state, by_uuid[a].revision) == ("done", 1)
    assert (by_uuid[s].state, by_uuid[s].code, by_uuid[s].message) == (
        "failed", "unknown_meter", "no such meter",
    )  # fmt: skip
    nxt = local.outbound_batch(max_items=500, created_at=NOW)
    assert nxt is not None and nxt[0] != batch_id and len(nxt[1]) == 1


def test_edits_are_coalesced_and_carry_the_revision(local: LocalStore) -> None:
    read = local.capture_read(register_id=11, value_milli=10_500_000, captured_at=NOW)
    batch = local.outbound_batch(max_items=500, created_at=NOW)
    assert batch is not None
    local.apply_results(batch[0], [{"uuid": read, "result": "accepted", "detail": {"revision": 1}}])
    e1 = local.capture_edit(read_uuid=read, value_milli=10_500_100, edited_at=NOW)
    e2 = local.capture_edit(read_uuid=read, value_milli=10_500_800, edited_at=NOW, notes="8 not 1")
    assert e1 == e2
    batch = local.outbound_batch(max_items=500, created_at=NOW)
    assert batch is not None
    assert batch[1] == [{
        "kind": "edit", "uuid": e1, "read_uuid": read, "base_revision": 1,
        "value_milli": 10_500_800, "edited_at": NOW.isoformat(), "notes": "8 not 1",
    }]  # fmt: skip
    local.apply_results(batch[0], [{"uuid": e1, "result": "accepted", "detail": {"revision": 2}}])
    local.capture_edit(read_uuid=read, value_milli=10_500_900, edited_at=NOW)
    batch = local.outbound_batch(max_items=500, created_at=NOW)
    assert batch is not None and batch[1][0]["base_revision"] == 2


def test_retry_results_are_queued_again(local: LocalStore) -> None:
    read = local.capture_read(register_id=11, value_milli=10_500_000, captured_at=NOW)
    batch = local.outbound_batch(max_items=500, created_at=NOW)
    assert batch is not None
    local.apply_results(
        batch[0],
        [{"uuid": read, "result": "rejected", "detail": {"code": "retry", "message": "busy"}}],
    )
    again = local.outbound_batch(max_items=500, created_at=NOW)
    assert again is not None and again[0] != batch[0] and again[1] == batch[1]


def test_reads_survive_a_killed_process(local: LocalStore) -> None:
    """SIGKILL while capturing: every read the process reported is there, the file is
    sound, and the last one is either whole or absent."""
    with subprocess.Popen(
        [sys.executable, str(WORKER), str(local.path), "11", "100000"],
        stdout=subprocess.PIPE, text=True,
    ) as worker:  # fmt: skip
        assert worker.stdout is not None
        reported = [worker.stdout.readline().strip() for _ in range(40)]
        worker.send_signal(signal.SIGKILL)
        rest = worker.stdout.read().split()
    reopened = LocalStore(local.path)
    assert reopened._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = [c.uuid for c in reopened.captures()]
    printed = reported + rest
    assert stored[: len(printed)] == printed
    # At most one more: committed, then killed before it was printed.
    assert len(stored) - len(printed) in (0, 1)


def test_batch_built_then_killed_is_resent_unchanged(local: LocalStore) -> None:
    local.capture_read(register_id=11, value_milli=10_500_000, captured_at=NOW)
    with subprocess.Popen(
        [sys.executable, str(WORKER), str(local.path), "--build-batch"],
        stdout=subprocess.PIPE, text=True,
    ) as worker:  # fmt: skip
        assert worker.stdout is not None
        line = worker.stdout.readline().split()
        worker.send_signal(signal.SIGKILL)
    batch = LocalStore(local.path).outbound_batch(max_items=500, created_at=NOW)
    assert batch is not None and batch[0] == line[1]


def test_a_meter_with_two_registers_is_done_when_both_are_read(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "tou.sqlite3")
    page = stop_page(3, 31)
    peak = {**page["stops"][0]["registers"][0], "id": 32, "obis_code": "1.8.1"}
    page["stops"][0]["registers"].append(peak)
    store.apply_pull_page(page)
    assert [r.register_id for r in store.unread_registers(3)] == [31, 32]
    first = store.capture_read(register_id=31, value_milli=10_500_000, captured_at=NOW)
    next_one = store.next_register(3)
    assert next_one is not None and next_one.register_id == 32
    assert store.counts()["pending"] == 1
    store.capture_read(register_id=32, value_milli=10_500_000, captured_at=NOW)
    assert store.unread_registers(3) == [] and store.counts()["done"] == 1
    # A read the server refused does not count: the register is to be read again.
    batch = store.outbound_batch(max_items=500, created_at=NOW)
    assert batch is not None
    store.apply_results(batch[0], [{"uuid": first, "result": "rejected", "detail": {"code": "x"}}])
    assert [r.register_id for r in store.unread_registers(3)] == [31]
    assert store.counts()["pending"] == 1

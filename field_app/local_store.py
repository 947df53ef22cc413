"""The handset's own database: SQLite in WAL mode, in the app's data folder.

It holds the route (stops and registers, from the pull), what the reader captured (reads,
edits, skips, photo paths), the outbound batch, office messages and sync state. It is the
only place a capture lives until the server has answered for it, so:

- every capture is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``) with
  ``synchronous=FULL``: once :meth:`LocalStore.capture_read` returns, a kill or a power
  cut cannot lose it;
- the outbound batch is written (its id and its exact items) before it is sent, and kept
  until a complete answer has been applied, so a resend carries the same batch id and
  the same items;
- a pull page and its cursor are applied in one transaction;
- the schema carries its version (``schema_version``) and :data:`MIGRATIONS` bring an
  older database up to date when the app is updated.

One :class:`LocalStore` per thread (sqlite3 connections stay in the thread that made
them); the sync thread opens its own.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from field_app.hints import RegisterSpec

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE stops (
            stop_id INTEGER PRIMARY KEY,
            route_code TEXT NOT NULL, route_name TEXT NOT NULL, sequence INTEGER NOT NULL,
            meter_id INTEGER NOT NULL, meter_serial TEXT NOT NULL, meter_kind TEXT NOT NULL,
            probe_address TEXT NOT NULL DEFAULT '',
            account_number TEXT, address TEXT, postal_code TEXT,
            latitude REAL, longitude REAL, access_notes TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX stops_order ON stops (route_code, sequence);
        CREATE TABLE registers (
            register_id INTEGER PRIMARY KEY,
            stop_id INTEGER NOT NULL REFERENCES stops (stop_id) ON DELETE CASCADE,
            meter_id INTEGER NOT NULL,
            obis_code TEXT NOT NULL, unit TEXT NOT NULL,
            digits INTEGER NOT NULL, decimals INTEGER NOT NULL,
            last_value_milli INTEGER, last_read_at TEXT,
            low_milli INTEGER, high_milli INTEGER
        );
        CREATE TABLE captures (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            uuid TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL CHECK (kind IN ('read', 'edit', 'skip')),
            meter_id INTEGER, register_id INTEGER, read_uuid TEXT, base_revision INTEGER,
            value_milli INTEGER, captured_at TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'manual', raw_telegram TEXT NOT NULL DEFAULT '',
            skip_code TEXT, notes TEXT NOT NULL DEFAULT '',
            latitude REAL, longitude REAL, photo_uuid TEXT,
            state TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sending', 'done', 'failed')),
            batch_id TEXT, result TEXT, rule TEXT, code TEXT, message TEXT, revision INTEGER
        );
        CREATE INDEX captures_state ON captures (state, seq);
        CREATE TABLE batches (
            batch_id TEXT PRIMARY KEY, items TEXT NOT NULL, created_at TEXT NOT NULL
        );
        CREATE TABLE photos (
            uuid TEXT PRIMARY KEY, path TEXT NOT NULL, size_bytes INTEGER NOT NULL,
            sha256 TEXT NOT NULL, content_type TEXT NOT NULL,
            bytes_sent INTEGER NOT NULL DEFAULT 0, complete INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY, body TEXT NOT NULL, sent_at TEXT NOT NULL,
            read_at TEXT
        );
        """,
    ),
    (
        2,
        # A recapture names the capture it replaces, so the route shows the new one and
        # the sync screen can say "recaptured" beside the refused one.
        "ALTER TABLE captures ADD COLUMN recapture_of TEXT;",
    ),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

SKIP_CODES = (
    "no_access",
    "premises_locked",
    "meter_damaged",
    "meter_not_found",
    "dog",
    "unsafe",
    "customer_refused",
    "other",
)
"""The skip codes of protocol version 1 (docs/sync-protocol.md, ``kind: "skip"``)."""


class StoreError(Exception):
    """A capture the store will not keep; the message says why."""


@dataclass(frozen=True)
class Register:
    register_id: int
    stop_id: int
    meter_id: int
    obis_code: str
    unit: str
    digits: int
    decimals: int
    last_value_milli: int | None
    last_read_at: str | None
    low_milli: int | None
    high_milli: int | None

    def spec(self) -> RegisterSpec:
        return RegisterSpec(self.digits, self.decimals, self.low_milli, self.high_milli)


@dataclass(frozen=True)
class Stop:
    stop_id: int
    route_code: str
    route_name: str
    sequence: int
    meter_id: int
    meter_serial: str
    meter_kind: str
    probe_address: str
    account_number: str | None
    address: str | None
    postal_code: str | None
    latitude: float | None
    longitude: float | None
    access_notes: str
    status: str = "pending"
    """``done`` (every register read), ``skipped`` (the last visit was a skip) or ``pending``."""


@dataclass(frozen=True)
class Capture:
    seq: int
    uuid: str
    kind: str
    meter_id: int | None
    register_id: int | None
    read_uuid: str | None
    value_milli: int | None
    captured_at: str
    source: str
    skip_code: str | None
    notes: str
    photo_uuid: str | None
    state: str
    result: str | None
    rule: str | None
    code: str | None
    message: str | None
    revision: int | None
    recapture_of: str | None


MAX_NOTES = 2000
"""The protocol's limit on ``notes`` (docs/sync-protocol.md, Push)."""


def _check_notes(notes: str) -> None:
    if len(notes) > MAX_NOTES:
        raise StoreError(f"a note is at most {MAX_NOTES} characters")


def _now_iso(now: datetime) -> str:
    if now.tzinfo is None:
        raise ValueError("capture times must be timezone-aware")
    return now.isoformat()


class LocalStore:
    """The handset's database at ``path`` (created and migrated on open)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``IMMEDIATE``) so two threads never
        interleave half-done writes; rolled back whole on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int:
        row = self._db.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='schema_version'"
        ).fetchone()
        if row is None:
            return 0
        version: int = self._db.execute("SELECT version FROM schema_version").fetchone()[0]
        return version

    def migrate(self) -> None:
        """Apply the migrations this database has not had, each in its own transaction
        with the version bump, so an update killed half way resumes cleanly."""
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if db.execute("SELECT count(*) FROM schema_version").fetchone()[0] == 0:
                db.execute("INSERT INTO schema_version VALUES (0)")
        current = self.schema_version()
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"this database was written by a newer app (schema {current}): update the app"
            )
        for version, script in MIGRATIONS:
            if version <= current:
                continue
            with self.transaction() as db:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (version,))

    # -- settings and sync state -------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else str(row[0])

    def put(self, **values: str | None) -> None:
        with self.transaction() as db:
            for key, value in values.items():
                if value is None:
                    db.execute("DELETE FROM meta WHERE key = ?", (key,))
                else:
                    db.execute(
                        "INSERT INTO meta VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        (key, value),
                    )

    # -- the route -----------------------------------------------------------------------

    def apply_pull_page(self, page: dict[str, Any], *, seen: set[int] | None = None) -> None:
        """Upsert the page's stops, drop its tombstoned stops, keep its messages and its
        cursor, all in one transaction (a page applied twice changes nothing)."""
        with self.transaction() as db:
            for stop in page.get("stops") or []:
                self._upsert_stop(db, stop)
                if seen is not None:
                    seen.add(int(stop["stop_id"]))
            for tomb in page.get("tombstones") or []:
                db.execute("DELETE FROM stops WHERE stop_id = ?", (int(tomb["stop_id"]),))
            for msg in page.get("messages") or []:
                db.execute(
                    "INSERT INTO messages (id, body, sent_at, read_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET body = excluded.body, "
                    "sent_at = excluded.sent_at, read_at = excluded.read_at",
                    (int(msg["id"]), str(msg["body"]), str(msg["sent_at"]), msg.get("read_at")),
                )
            db.execute(
                "INSERT INTO meta VALUES ('cursor', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(page["cursor"]),),
            )

    def drop_stops_except(self, keep: set[int]) -> int:
        """After a full download that replaced the route: remove the stops it did not send."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT stop_id FROM stops")]
            gone = [i for i in ids if i not in keep]
            db.executemany("DELETE FROM stops WHERE stop_id = ?", [(i,) for i in gone])
        return len(gone)

    @staticmethod
    def _upsert_stop(db: sqlite3.Connection, stop: dict[str, Any]) -> None:
        stop_id = int(stop["stop_id"])
        route, meter = stop.get("route") or {}, stop.get("meter") or {}
        account, premise = stop.get("account") or {}, stop.get("premise") or {}
        db.execute("DELETE FROM stops WHERE stop_id = ?", (stop_id,))
        db.execute(
            "INSERT INTO stops VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stop_id, str(route.get("code", "")), str(route.get("name", "")),
                int(stop.get("sequence") or 0), int(meter["id"]), str(meter.get("serial", "")),
                str(meter.get("kind", "")), str(meter.get("probe_address") or ""),
                account.get("number"), premise.get("address"), premise.get("postal_code"),
                premise.get("latitude"), premise.get("longitude"),
                str(premise.get("access_notes") or ""),
            ),
        )  # fmt: skip
        for reg in stop.get("registers") or []:
            last, expected = reg.get("last_read") or {}, reg.get("expected") or {}
            db.execute("DELETE FROM registers WHERE register_id = ?", (int(reg["id"]),))
            db.execute(
                "INSERT INTO registers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    int(reg["id"]), stop_id, int(meter["id"]), str(reg.get("obis_code", "")),
                    str(reg.get("unit", "")), int(reg.get("digits") or 6),
                    int(reg.get("decimals") or 0), last.get("value_milli"), last.get("read_at"),
                    expected.get("low_milli"), expected.get("high_milli"),
                ),
            )  # fmt: skip

    def stops(self, search: str = "") -> list[Stop]:
        """The route in walking order (route, then sequence), optionally filtered by a
        search over serial, account, address and route."""
        rows = self._db.execute("SELECT * FROM stops ORDER BY route_code, sequence, stop_id")
        statuses = self._stop_statuses()
        needle = search.strip().lower()
        out = []
        for row in rows:
            stop = Stop(**dict(row), status=statuses.get(row["stop_id"], "pending"))
            haystack = " ".join(
                str(x or "")
                for x in (stop.meter_serial, stop.account_number, stop.address, stop.route_code)
            ).lower()
            if needle and needle not in haystack:
                continue
            out.append(stop)
        return out

    def stop(self, stop_id: int) -> Stop | None:
        return next((s for s in self.stops() if s.stop_id == stop_id), None)

    def registers(self, stop_id: int) -> list[Register]:
        rows = self._db.execute(
            "SELECT * FROM registers WHERE stop_id = ? ORDER BY obis_code, register_id",
            (stop_id,),
        )
        return [Register(**dict(r)) for r in rows]

    def unread_registers(self, stop_id: int) -> list[Register]:
        """The stop's registers without a live read (one the server has not refused)."""
        read = {
            r[0]
            for r in self._db.execute(
                "SELECT register_id FROM captures WHERE kind = 'read' AND state != 'failed'"
            )
        }
        return [r for r in self.registers(stop_id) if r.register_id not in read]

    def next_register(self, stop_id: int) -> Register | None:
        """What "Type the read" opens: the first unread register, else the first."""
        registers = self.unread_registers(stop_id) or self.registers(stop_id)
        return registers[0] if registers else None

    def register(self, register_id: int) -> Register | None:
        row = self._db.execute(
            "SELECT * FROM registers WHERE register_id = ?", (register_id,)
        ).fetchone()
        return None if row is None else Register(**dict(row))

    def counts(self) -> dict[str, int]:
        """How many stops are done, pending and skipped."""
        out = {"done": 0, "pending": 0, "skipped": 0}
        for stop in self.stops():
            out[stop.status] += 1
        return out

    def _stop_statuses(self) -> dict[int, str]:
        """A stop is skipped when its meter's latest live capture is a skip, done when
        every register has a live read; a capture the server rejected does not count."""
        live = self._db.execute(
            "SELECT kind, meter_id, register_id FROM captures "
            "WHERE state != 'failed' AND kind IN ('read', 'skip') ORDER BY seq"
        ).fetchall()
        read_registers: set[int] = set()
        last_kind: dict[int, str] = {}
        register_meter = dict(self._db.execute("SELECT register_id, meter_id FROM registers"))
        for kind, meter_id, register_id in live:
            if kind == "read":
                read_registers.add(register_id)
                meter_id = register_meter.get(register_id, meter_id)
            last_kind[meter_id] = kind
        out: dict[int, str] = {}
        wanted: dict[int, list[int]] = {}
        for stop_id, register_id in self._db.execute("SELECT stop_id, register_id FROM registers"):
            wanted.setdefault(stop_id, []).append(register_id)
        for stop_id, meter_id in self._db.execute("SELECT stop_id, meter_id FROM stops"):
            if last_kind.get(meter_id) == "skip":
                out[stop_id] = "skipped"
            elif wanted.get(stop_id) and all(r in read_registers for r in wanted[stop_id]):
                out[stop_id] = "done"
        return out

    # -- captures ------------------------------------------------------------------------

    def capture_read(
        self,
        *,
        register_id: int,
        value_milli: int,
        captured_at: datetime,
        source: str = "manual",
        raw_telegram: str = "",
        notes: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
        photo: tuple[str, str, int, str, str] | None = None,
        recapture_of: str | None = None,
    ) -> str:
        """Keep one read (and its photo, if any) in one transaction; return its uuid.
        ``photo`` is ``(uuid, path, size_bytes, sha256, content_type)``."""
        register = self.register(register_id)
        if register is None:
            raise StoreError("this register is no longer on your route: pull to update")
        if value_milli < 0 or value_milli >= 10**register.digits * 1000:
            raise StoreError(f"the value must have at most {register.digits} digits")
        if source == "probe" and not raw_telegram:
            raise StoreError("a probe read keeps its telegram")
        _check_notes(notes)
        read_uuid = str(uuid.uuid4())
        with self.transaction() as db:
            photo_uuid = self._add_photo(db, photo)
            db.execute(
                "INSERT INTO captures (uuid, kind, meter_id, register_id, value_milli, "
                "captured_at, source, raw_telegram, notes, latitude, longitude, photo_uuid, "
                "recapture_of) VALUES (?, 'read', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    read_uuid, register.meter_id, register_id, value_milli,
                    _now_iso(captured_at), source, raw_telegram, notes, latitude, longitude,
                    photo_uuid, recapture_of,
                ),
            )  # fmt: skip
        return read_uuid

    def capture_skip(
        self,
        *,
        meter_id: int,
        skip_code: str,
        visited_at: datetime,
        notes: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
        photo: tuple[str, str, int, str, str] | None = None,
    ) -> str:
        if skip_code not in SKIP_CODES:
            raise StoreError(f"unknown skip code {skip_code!r}")
        _check_notes(notes)
        skip_uuid = str(uuid.uuid4())
        with self.transaction() as db:
            photo_uuid = self._add_photo(db, photo)
            db.execute(
                "INSERT INTO captures (uuid, kind, meter_id, captured_at, skip_code, notes, "
                "latitude, longitude, photo_uuid) VALUES (?, 'skip', ?, ?, ?, ?, ?, ?, ?)",
                (
                    skip_uuid, meter_id, _now_iso(visited_at), skip_code, notes, latitude,
                    longitude, photo_uuid,
                ),
            )  # fmt: skip
        return skip_uuid

    def capture_edit(
        self, *, read_uuid: str, value_milli: int, edited_at: datetime, notes: str = ""
    ) -> str:
        """Correct a read this device captured. While an edit of that read is still
        queued it is updated in place (one edit per read per batch, the final value);
        otherwise a new edit names the read's last known revision."""
        _check_notes(notes)
        with self.transaction() as db:
            read = db.execute(
                "SELECT revision, state, result FROM captures WHERE uuid = ? AND kind = 'read'",
                (read_uuid,),
            ).fetchone()
            if read is None:
                raise StoreError("only reads captured on this handset can be corrected")
            queued = db.execute(
                "SELECT uuid FROM captures WHERE kind = 'edit' AND read_uuid = ? "
                "AND state = 'queued'",
                (read_uuid,),
            ).fetchone()
            if queued is not None:
                db.execute(
                    "UPDATE captures SET value_milli = ?, captured_at = ?, notes = ? "
                    "WHERE uuid = ?",
                    (value_milli, _now_iso(edited_at), notes, queued[0]),
                )
                return str(queued[0])
            last_edit = db.execute(
                "SELECT revision FROM captures WHERE kind = 'edit' AND read_uuid = ? "
                "AND revision IS NOT NULL ORDER BY seq DESC LIMIT 1",
                (read_uuid,),
            ).fetchone()
            base = (last_edit[0] if last_edit else None) or read["revision"] or 1
            edit_uuid = str(uuid.uuid4())
            db.execute(
                "INSERT INTO captures (uuid, kind, read_uuid, base_revision, value_milli, "
                "captured_at, notes) VALUES (?, 'edit', ?, ?, ?, ?, ?)",
                (edit_uuid, read_uuid, base, value_milli, _now_iso(edited_at), notes),
            )
        return edit_uuid

    @staticmethod
    def _add_photo(
        db: sqlite3.Connection, photo: tuple[str, str, int, str, str] | None
    ) -> str | None:
        if photo is None:
            return None
        db.execute(
            "INSERT OR IGNORE INTO photos (uuid, path, size_bytes, sha256, content_type) "
            "VALUES (?, ?, ?, ?, ?)",
            photo,
        )
        return photo[0]

    def captures(self, *, states: Sequence[str] = ()) -> list[Capture]:
        """Captures, oldest first (all, or those in ``states``)."""
        sql = (
            "SELECT seq, uuid, kind, meter_id, register_id, read_uuid, value_milli, "
            "captured_at, source, skip_code, notes, photo_uuid, state, result, rule, code, "
            "message, revision, recapture_of FROM captures"
        )
        args: tuple[str, ...] = ()
        if states:
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            args = tuple(states)
        return [Capture(**dict(r)) for r in self._db.execute(sql + " ORDER BY seq", args)]

    def capture(self, capture_uuid: str) -> Capture | None:
        return next((c for c in self.captures() if c.uuid == capture_uuid), None)

    # -- the outbound batch --------------------------------------------------------------

    def outbound_batch(
        self, *, max_items: int, created_at: datetime
    ) -> tuple[str, list[Any]] | None:
        """The batch to push: the one already built and not yet answered (same id, same
        items: a resend), else a new one of the queued captures in capture order, written
        before it is sent. ``None`` when there is nothing to send."""
        row = self._db.execute(
            "SELECT batch_id, items FROM batches ORDER BY created_at LIMIT 1"
        ).fetchone()
        if row is not None:
            return str(row[0]), json.loads(row[1])
        with self.transaction() as db:
            rows = db.execute(
                "SELECT * FROM captures WHERE state = 'queued' ORDER BY seq LIMIT ?",
                (max_items,),
            ).fetchall()
            if not rows:
                return None
            items = [_item(dict(r)) for r in rows]
            batch_id = str(uuid.uuid4())
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?)",
                (batch_id, json.dumps(items), _now_iso(created_at)),
            )
            db.executemany(
                "UPDATE captures SET state = 'sending', batch_id = ? WHERE uuid = ?",
                [(batch_id, r["uuid"]) for r in rows],
            )
        return batch_id, items

    def apply_results(self, batch_id: str, results: list[dict[str, Any]]) -> None:
        """Record the server's answer for each item of ``batch_id`` and drop the batch, in
        one transaction. ``accepted``, ``duplicate`` and ``conflict_resolved`` are done;
        ``rejected`` (and a result this app does not know) is failed, with the server's
        code and message kept for the reader."""
        with self.transaction() as db:
            for res in results:
                detail = res.get("detail") or {}
                outcome = str(res.get("result", ""))
                code = detail.get("code") or (res.get("rule") or None)
                retry = outcome == "rejected" and detail.get("code") == "retry"
                if outcome in ("accepted", "duplicate", "conflict_resolved"):
                    state = "done"
                elif retry:
                    state = "queued"  # the server asks for the same record again
                else:
                    state = "failed"
                revision = detail.get("revision")
                db.execute(
                    "UPDATE captures SET state = ?, result = ?, rule = ?, code = ?, message = ?, "
                    "revision = COALESCE(?, revision) WHERE uuid = ? AND batch_id = ?",
                    (
                        state, outcome, res.get("rule") or "", code,
                        detail.get("message"), revision if isinstance(revision, int) else None,
                        str(res.get("uuid")), batch_id,
                    ),
                )  # fmt: skip
            # An item the answer did not mention stays unsent: queue it for the next batch.
            db.execute(
                "UPDATE captures SET state = 'queued' WHERE batch_id = ? AND state = 'sending'",
                (batch_id,),
            )
            db.execute("DELETE FROM batches WHERE batch_id = ?", (batch_id,))

    def pending_count(self) -> int:
        """Captures the server has not answered for yet."""
        row = self._db.execute(
            "SELECT count(*) FROM captures WHERE state IN ('queued', 'sending')"
        ).fetchone()
        return int(row[0])

    # -- photos and messages -------------------------------------------------------------

    def photos_to_upload(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT * FROM photos WHERE complete = 0 AND error IS NULL ORDER BY rowid"
        )
        return [dict(r) for r in rows]

    def photo_progress(
        self, photo_uuid: str, *, bytes_sent: int, complete: bool, error: str | None = None
    ) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET bytes_sent = ?, complete = ?, error = ? WHERE uuid = ?",
                (bytes_sent, int(complete), error, photo_uuid),
            )

    def messages(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM messages ORDER BY sent_at, id")
        return [dict(r) for r in rows]


def _item(row: dict[str, Any]) -> dict[str, Any]:
    """A capture row → its push item (docs/sync-protocol.md, Push)."""
    place = (
        {"latitude": row["latitude"], "longitude": row["longitude"]}
        if row["latitude"] is not None and row["longitude"] is not None
        else {}
    )
    if row["kind"] == "read":
        item: dict[str, Any] = {
            "kind": "read", "uuid": row["uuid"], "register_id": row["register_id"],
            "value_milli": row["value_milli"], "captured_at": row["captured_at"],
            "source": row["source"], "notes": row["notes"], **place,
        }  # fmt: skip
        if row["source"] == "probe":
            item["raw_telegram"] = row["raw_telegram"]
        if row["photo_uuid"]:
            item["photo_uuid"] = row["photo_uuid"]
        return item
    if row["kind"] == "edit":
        return {
            "kind": "edit", "uuid": row["uuid"], "read_uuid": row["read_uuid"],
            "base_revision": row["base_revision"], "value_milli": row["value_milli"],
            "edited_at": row["captured_at"], "notes": row["notes"],
        }  # fmt: skip
    return {
        "kind": "skip", "uuid": row["uuid"], "meter_id": row["meter_id"],
        "visited_at": row["captured_at"], "skip_code": row["skip_code"], "notes": row["notes"],
        "photo_uuid": row["photo_uuid"], **place,
    }  # fmt: skip

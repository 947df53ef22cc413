"""Backup and restore of one installation: the database, the files, a manifest of checksums.

A backup is a directory::

    manifest.json        what is in it: engine, version, migration, row counts, ledger sum,
                         and the size and SHA-256 of every file below
    database.sqlite3     SQLite: a consistent copy made with SQLite's online backup API
    database.pgdump      PostgreSQL: ``pg_dump --format=custom`` (restored with pg_restore)
    files/…              everything under GRIDBILL_VAR_DIR except the SQLite database and
                         the server's metrics scratch files: bill PDFs, meter photos,
                         the development secret key

Both databases are copied while the server runs: SQLite's backup API and pg_dump each
read one consistent snapshot. Restore checks every checksum *before* it touches
anything, restores only into an empty database, and afterwards compares the row counts
and the ledger sum with the manifest, so a restore that "worked" but lost rows is an
error, not a surprise. Procedures: docs/operations.md, "Backup and restore".
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg

from gridbill import __version__
from gridbill.errors import UserError
from gridbill.settings import Settings
from store.db import is_postgres, sqlite_path

MANIFEST = "manifest.json"
FORMAT = 1
SQLITE_FILE = "database.sqlite3"
PG_FILE = "database.pgdump"
FILES = "files"
METRICS_DIR = "metrics"
SQLITE_SIDECARS = ("", "-wal", "-shm", "-journal")
PG_BIN_CANDIDATES = tuple(f"/usr/lib/postgresql/{v}/bin" for v in (18, 17, 16, 15))
CHUNK = 1 << 20


class BackupError(UserError):
    """A backup or restore cannot go on; nothing was changed unless the message says so."""


@dataclass
class Snapshot:
    """Row counts of every table and the ledger's sum: what must survive a round trip."""

    tables: dict[str, int] = field(default_factory=dict)
    ledger_sum_paise: int = 0
    migration: str = ""


@dataclass
class Outcome:
    directory: Path
    engine: str
    snapshot: Snapshot
    files: int
    bytes: int


# --- PostgreSQL tools ---------------------------------------------------------------------


def pg_tool(name: str, settings: Settings) -> str:
    """``pg_dump``/``pg_restore``: from PG_BIN, the newest Debian install, or PATH."""
    candidates = [settings.pg_bin] if settings.pg_bin else list(PG_BIN_CANDIDATES)
    for directory in candidates:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found:
        return found
    raise BackupError(
        f"{name} not found: install the PostgreSQL client (Debian: postgresql-client-16) "
        "or set PG_BIN to the directory holding it"
    )


def libpq_target(database_url: str) -> tuple[str, dict[str, str]]:
    """A libpq URL without the password, and the environment that carries it.

    The password stays out of the process list (``ps`` shows argv, not the environment).
    """
    parts = urlsplit(database_url)
    env = dict(os.environ)
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = netloc.replace(f":{parts.password}@", "@", 1)
    return parts._replace(scheme="postgresql", netloc=netloc).geturl(), env


def _run_tool(command: list[str], env: dict[str, str], what: str) -> None:
    # argv from our own settings and paths, never a shell string
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        raise BackupError(f"{what} failed: {lines[-1] if lines else f'exit {result.returncode}'}")


# --- what a database holds ----------------------------------------------------------------


@contextlib.contextmanager
def _cursor(database_url: str) -> Iterator[Any]:
    if is_postgres(database_url):
        url, env = libpq_target(database_url)
        with psycopg.connect(url, password=env.get("PGPASSWORD"), autocommit=True) as conn:
            yield conn.cursor()
        return
    path = sqlite_path(database_url)
    assert path is not None
    with contextlib.closing(sqlite3.connect(path)) as conn:
        yield conn.cursor()


def tables(database_url: str) -> list[str]:
    """The database's tables (SQLite's internal ones aside), sorted."""
    with _cursor(database_url) as cur:
        if is_postgres(database_url):
            cur.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            )
        else:
            cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        return sorted(str(row[0]) for row in cur.fetchall())


def snapshot(database_url: str) -> Snapshot:
    """Count every table's rows and sum the ledger."""
    names = tables(database_url)
    with _cursor(database_url) as cur:
        return _count(cur, names)


def _count(cur: Any, names: list[str]) -> Snapshot:
    result = Snapshot()
    for name in names:
        cur.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608 - names from the catalogue
        result.tables[name] = int(cur.fetchone()[0])
    if "ledger_entries" in names:
        cur.execute("SELECT COALESCE(SUM(amount_paise), 0) FROM ledger_entries")
        result.ledger_sum_paise = int(cur.fetchone()[0])
    if "tortoise_migrations" in names:
        cur.execute("SELECT name FROM tortoise_migrations ORDER BY id DESC LIMIT 1")
        row = cur.fetchone()
        result.migration = str(row[0]) if row else ""
    return result


# --- files --------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _var_files(settings: Settings) -> list[Path]:
    """Files under the var directory, the SQLite database (copied apart) excluded."""
    root = settings.var_dir
    if not root.exists():
        return []
    database = sqlite_path(settings.direct_url)
    skip = set()
    if database is not None:
        skip = {Path(f"{database}{suffix}").resolve() for suffix in SQLITE_SIDECARS}
    scratch = root / METRICS_DIR  # per-process counters of a running server, not data
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file()
        and p.resolve() not in skip
        and not p.name.endswith(".part")
        and scratch not in p.parents
    )


# --- backup -------------------------------------------------------------------------------


def backup(settings: Settings, target: Path) -> Outcome:
    """Write a backup of the installation into ``target`` (a new or empty directory)."""
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"{target} is not an empty directory: back up into a new one")
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {target} ({exc.strerror})") from None
    postgres = settings.is_postgres
    database = target / (PG_FILE if postgres else SQLITE_FILE)
    if postgres:
        counted = _pg_dump(settings, database)
    else:
        _sqlite_copy(settings.direct_url, database)
        counted = snapshot(f"sqlite://{database}")  # the copy: the manifest describes it
    entries = [_entry(target, database)]
    for source in _var_files(settings):
        copy = target / FILES / source.relative_to(settings.var_dir)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, copy)
        entries.append(_entry(target, copy))
    manifest = {
        "format": FORMAT,
        "gridbill_version": __version__,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": "postgres" if postgres else "sqlite",
        "database": database.name,
        "migration": counted.migration,
        "tables": counted.tables,
        "ledger_sum_paise": counted.ledger_sum_paise,
        "files": entries,
    }
    (target / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    engine = "postgres" if postgres else "sqlite"
    return Outcome(target, engine, counted, len(entries) - 1, sum(e["size"] for e in entries))


def _pg_dump(settings: Settings, database: Path) -> Snapshot:
    """pg_dump and the counts read one exported snapshot, so they agree while writes go on."""
    url, env = libpq_target(settings.direct_url)
    names = tables(settings.direct_url)
    with psycopg.connect(url, password=env.get("PGPASSWORD")) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        row = conn.execute("SELECT pg_export_snapshot()").fetchone()
        assert row is not None
        counted = _count(conn.cursor(), names)
        _run_tool(
            [pg_tool("pg_dump", settings), "--format=custom", "--no-owner", "--no-privileges",
             f"--snapshot={row[0]}", f"--file={database}", f"--dbname={url}"],
            env, "pg_dump",
        )  # fmt: skip
        conn.rollback()
    return counted


def _sqlite_copy(database_url: str, copy: Path) -> None:
    source = sqlite_path(database_url)
    if source is None or not source.exists():
        raise BackupError(f"there is no SQLite database at {source}")
    with (
        contextlib.closing(sqlite3.connect(source, timeout=30)) as live,
        contextlib.closing(sqlite3.connect(copy)) as out,
    ):
        live.backup(out)


def _entry(root: Path, path: Path) -> dict[str, Any]:
    return {
        "path": path.relative_to(root).as_posix(),
        "size": path.stat().st_size,
        "sha256": sha256_of(path),
    }


# --- restore ------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists against its size and checksum."""
    path = source / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(f"{source} is not a gridbill backup: no {MANIFEST}") from None
    except (OSError, ValueError) as exc:
        raise BackupError(f"cannot read {path} ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"{path} has format {manifest.get('format')!r}; this gridbill reads {FORMAT}"
        )
    for entry in manifest["files"]:
        file = source / entry["path"]
        if not file.is_file():
            raise BackupError(f"the backup is incomplete: {entry['path']} is missing")
        if file.stat().st_size != entry["size"] or sha256_of(file) != entry["sha256"]:
            raise BackupError(f"the backup is damaged: {entry['path']} does not match its checksum")
    return manifest


def restore(settings: Settings, source: Path) -> Outcome:
    """Restore the backup in ``source`` into the (empty) database and the var directory."""
    manifest = read_manifest(source)
    engine = "postgres" if settings.is_postgres else "sqlite"
    if manifest["engine"] != engine:
        raise BackupError(
            f"this is a backup of a {manifest['engine']} database and DATABASE_URL is {engine}: "
            "restore it to the same engine, then move with `gridbill db copy --to URL`"
        )
    _require_empty(settings)
    database = source / manifest["database"]
    if settings.is_postgres:
        url, env = libpq_target(settings.direct_url)
        _run_tool(
            [pg_tool("pg_restore", settings), "--no-owner", "--no-privileges", "--exit-on-error",
             "--single-transaction", f"--dbname={url}", str(database)],
            env, "pg_restore",
        )  # fmt: skip
    else:
        target = sqlite_path(settings.direct_url)
        assert target is not None
        target.parent.mkdir(parents=True, exist_ok=True)
        with (
            contextlib.closing(sqlite3.connect(database)) as copy,
            contextlib.closing(sqlite3.connect(target)) as out,
        ):
            copy.backup(out)
    restored_files = 0
    for entry in manifest["files"]:
        if not entry["path"].startswith(f"{FILES}/"):
            continue
        destination = settings.var_dir / entry["path"].removeprefix(f"{FILES}/")
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / entry["path"], destination)
        if destination.name == "secret_key":
            destination.chmod(0o600)
        restored_files += 1
    now = snapshot(settings.direct_url)
    differ = sorted(
        name for name, rows in manifest["tables"].items() if now.tables.get(name) != rows
    )
    if differ or now.ledger_sum_paise != manifest["ledger_sum_paise"]:
        raise BackupError(
            "the restored database differs from the backup's manifest "
            f"(tables {', '.join(differ) or 'none'}; ledger {now.ledger_sum_paise} paise, "
            f"manifest {manifest['ledger_sum_paise']}): do not start the server on it"
        )
    return Outcome(source, engine, now, restored_files, sum(e["size"] for e in manifest["files"]))


def _require_empty(settings: Settings) -> None:
    """Restore never merges: the target database must have no tables at all."""
    path = sqlite_path(settings.direct_url)
    if path is not None and not path.exists():
        return
    found = tables(settings.direct_url)
    if found:
        raise BackupError(
            f"the database has {len(found)} tables already: restore into a new, empty database "
            "(create one, or move the SQLite file away) so nothing is merged or overwritten"
        )

"""``gridbill db copy --to URL``: the demo's SQLite database moves onto PostgreSQL whole.

Every row of every table and the ledger's sum arrive; the id sequences continue after
the copied ids; the ledger's append-only trigger still guards the copy; a second copy
into the now full database is refused. docs/operations.md, "Moving from SQLite to PostgreSQL".
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date
from pathlib import Path

import psycopg
import pytest

from demo.loader import load_demo_data
from services.operations.backup import snapshot
from tests.conftest import make_settings

NOT_COPIED = {"tortoise_migrations", "sqlite_sequence"}


def test_the_demo_moves_from_sqlite_to_postgres(
    on_postgres: None,
    fresh_database_url: str,
    subprocess_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = make_settings(f"sqlite://{tmp_path / 'embedded.sqlite3'}", tmp_path / "var")
    asyncio.run(load_demo_data(source, customers=20, progress=False, today=date(2026, 5, 10)))
    capsys.readouterr()
    env = {**subprocess_env, "DATABASE_URL": source.database_url}
    command = [sys.executable, "-m", "cli.main", "db", "copy", "--to", fresh_database_url]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "counts and ledger sum verified" in result.stdout

    before, after = snapshot(source.database_url), snapshot(fresh_database_url)
    copied = {t: n for t, n in before.tables.items() if t not in NOT_COPIED}
    assert copied["bills"] > 0 and copied["payments"] > 0 and copied["interval_readings"] > 0
    assert {t: after.tables[t] for t in copied} == copied
    assert after.ledger_sum_paise == before.ledger_sum_paise != 0
    assert after.migration == before.migration

    with psycopg.connect(fresh_database_url.replace("postgres://", "postgresql://", 1)) as conn:
        top = conn.execute("SELECT max(id) FROM bills").fetchone()
        nxt = conn.execute("SELECT nextval(pg_get_serial_sequence('bills', 'id'))").fetchone()
        assert top and nxt and nxt[0] == top[0] + 1
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("UPDATE ledger_entries SET amount_paise = 0")

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1
    assert again.stderr.startswith("gridbill: error: the target database is not empty")

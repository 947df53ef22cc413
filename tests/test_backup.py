"""``gridbill backup`` / ``gridbill restore`` on both databases, as docs/operations.md says.

The demo (with its bills, payments and PDFs) is backed up with the real command, the
installation wiped (database dropped, var directory deleted), restored, and compared:
every table's row count, the ledger's sum and a bill PDF's SHA-256. A damaged backup is
refused before anything is touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from demo.loader import load_demo_data
from gridbill.settings import Settings
from services.operations.backup import snapshot
from store.db import sqlite_path
from tests.conftest import pg_execute


def gridbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def wipe(settings: Settings) -> None:
    """Lose everything: the database (dropped and created empty) and the var directory."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        path.unlink()
    else:
        name = urlsplit(settings.database_url).path.strip("/")
        pg_execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        pg_execute(f'CREATE DATABASE "{name}"')
    shutil.rmtree(settings.var_dir)


@pytest.fixture
def demo(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Settings:
    asyncio.run(load_demo_data(settings, customers=20, progress=False, today=date(2026, 5, 10)))
    capsys.readouterr()
    return settings


def test_backup_wipe_restore_gives_back_every_row_the_ledger_and_the_pdfs(
    demo: Settings, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    before = snapshot(demo.database_url)
    pdfs = sorted((demo.var_dir / "bills").rglob("*.pdf"))
    assert pdfs and before.tables["bills"] > 0 and before.ledger_sum_paise > 0
    pdf_hash = hashlib.sha256(pdfs[0].read_bytes()).hexdigest()
    # a development key file and a meter photo, as a running installation has them
    (demo.var_dir / "secret_key").write_text("k" * 64 + "\n")
    (demo.var_dir / "photos" / "3f").mkdir(parents=True)
    (demo.var_dir / "photos" / "3f" / "3f0c.jpg").write_bytes(b"\xff\xd8 a photo")

    target = tmp_path / "backup-1"
    made = gridbill(subprocess_env, "backup", "--to", str(target))
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("backed up the ") and f"{len(pdfs) + 2:,} files" in made.stdout
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["tables"] == before.tables
    assert {e["path"] for e in manifest["files"]} >= {
        "files/secret_key",
        "files/photos/3f/3f0c.jpg",
    }

    again = gridbill(subprocess_env, "backup", "--to", str(target))
    assert again.returncode == 1 and "is not an empty directory" in again.stderr

    wipe(demo)
    restored = gridbill(subprocess_env, "restore", "--from", str(target))
    assert restored.returncode == 0, restored.stderr
    assert "checksums verified" in restored.stdout
    after = snapshot(demo.database_url)
    assert after.tables == before.tables and after.ledger_sum_paise == before.ledger_sum_paise
    back = demo.var_dir / pdfs[0].relative_to(demo.var_dir)
    assert hashlib.sha256(back.read_bytes()).hexdigest() == pdf_hash
    assert (demo.var_dir / "photos" / "3f" / "3f0c.jpg").read_bytes() == b"\xff\xd8 a photo"
    assert (demo.var_dir / "secret_key").stat().st_mode & 0o777 == 0o600

    into_full = gridbill(subprocess_env, "restore", "--from", str(target))
    assert into_full.returncode == 1 and "restore into a new, empty database" in into_full.stderr


def test_a_damaged_backup_is_refused_before_anything_changes(
    demo: Settings, subprocess_env: dict[str, str], tmp_path: Path, on_sqlite: None
) -> None:
    target = tmp_path / "backup"
    assert gridbill(subprocess_env, "backup", "--to", str(target)).returncode == 0
    pdf = next((target / "files" / "bills").rglob("*.pdf"))
    pdf.write_bytes(pdf.read_bytes()[:-1] + b"!")
    wipe(demo)
    refused = gridbill(subprocess_env, "restore", "--from", str(target))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"gridbill: error: the backup is damaged: {pdf.relative_to(target).as_posix()} "
        "does not match its checksum"
    ]
    assert not (sqlite_path(demo.database_url) or Path("/nonexistent")).exists()
    nothing = gridbill(subprocess_env, "restore", "--from", str(tmp_path / "nowhere"))
    assert "is not a gridbill backup: no manifest.json" in nothing.stderr

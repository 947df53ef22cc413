"""The ingestion benchmark runs end to end at a tiny size (the real figures: docs/meter-data.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import PG_ENV

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def test_benchmark_at_a_tiny_size() -> None:
    args = [sys.executable, str(BENCH), "--readings", "2000", "--meters", "10"]
    pg_url = os.environ.get(PG_ENV)
    args += ["--database", "both", "--path", "both", "--pg-url", pg_url] if pg_url else [
        "--database", "sqlite"
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("SQLite") and "2,000" in line for line in lines), result.stdout
    if pg_url:
        rows = [line for line in lines if line.startswith("PostgreSQL")]
        assert len(rows) == 2  # the SQL fast path and the Python path, each with its ratio
        assert all("2,000" in row and row.split()[-1] != "-" for row in rows)
    figures = json.loads(lines[-1])  # the last line: one JSON object with the figures
    assert figures["SQLite"]["readings"] == 2000 and figures["SQLite"]["peak_rss_mb"] > 0
    if pg_url:
        assert figures["PostgreSQL"]["ratio"] > 0 and figures["PostgreSQL"]["copy_rows_per_s"] > 0
        assert figures["PostgreSQL"]["sql_chunks"] == 1  # 2,000 rows: one chunk, all by SQL
        assert figures["PostgreSQL (Python path)"]["sql_chunks"] == 0

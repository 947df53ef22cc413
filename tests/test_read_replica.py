"""Reports run on a PostgreSQL hot standby, as docs/performance.md "Read replicas" says.

A throwaway primary gets a small demo; a streaming replica is made from it with
``pg_basebackup -R`` (PostgreSQL's own procedure) and started read-only. Every report,
run by ``gridbill report`` against the replica, prints what the same command prints
against the primary: no report writes, so none fails with "read-only transaction".
Budget: about 60 s (most of it loading the demo).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from pg_cluster import TempPostgres, free_port  # noqa: E402

pytestmark = pytest.mark.slow

REPORTS = ("billing-summary", "collections", "ageing", "reading-completion", "usage",
           "reconciliation")  # fmt: skip


def last_month() -> str:
    """The demo bills the months before its load day (today, in the utility's zone)."""
    first = datetime.now(ZoneInfo("Asia/Kolkata")).date().replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


def gridbill(url: str, var: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_"))}
    env.update(DATABASE_URL=url, GRIDBILL_VAR_DIR=str(var), GRIDBILL_SECRET_KEY="k" * 48)
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=ROOT, env=env, capture_output=True,
        text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stdout[-1500:], done.stderr[-1500:])
    return done.stdout


def replayed(primary: str, replica: str) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    with psycopg.connect(primary, autocommit=True) as conn:
        target = conn.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + 30
    with psycopg.connect(replica, autocommit=True) as conn:
        while True:
            done = conn.execute(
                "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)
            ).fetchone()[0]  # type: ignore[index]
            if done:
                return
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.2)


def test_every_report_runs_on_a_hot_standby_and_matches_the_primary(tmp_path: Path) -> None:
    with TempPostgres() as pg:
        libpq = pg.url.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("CREATE DATABASE gridbill")
        primary = pg.url.rsplit("/", 1)[0] + "/gridbill"
        gridbill(primary, tmp_path, "migrate")
        gridbill(primary, tmp_path, "demo-data", "--customers", "20", "--no-progress")

        standby = pg.root / "standby"
        pg._run("pg_basebackup", "-D", str(standby), "-Fp", "-X", "stream", "-R",
                "--checkpoint=fast", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres")  # fmt: skip
        port = free_port()
        pg._run("pg_ctl", "-D", str(standby), "-o",
                f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={pg.root} "
                "-c hot_standby=on -c max_connections=200", "-l", str(pg.root / "standby.log"), "-w", "-t", "60", "start")  # fmt: skip
        try:
            replica = f"postgres://postgres@127.0.0.1:{port}/gridbill"
            replayed(primary.replace("postgres://", "postgresql://", 1),
                     replica.replace("postgres://", "postgresql://", 1))  # fmt: skip
            with psycopg.connect(replica.replace("postgres://", "postgresql://", 1)) as conn:
                assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]  # type: ignore[index]
            shown, period = 0, last_month()
            for name in REPORTS:
                args = ("report", name, "--period", period, "--format", "csv")
                on_replica = gridbill(replica, tmp_path, *args)
                assert on_replica == gridbill(primary, tmp_path, *args), name
                shown += len(on_replica.splitlines())
            # Not a report of nothing: last month's demo bills are in the billing summary.
            summary = gridbill(replica, tmp_path, "report", "billing-summary", "--period", period)
            assert "By tariff\n  (nothing)" not in summary and shown > 2 * len(REPORTS)
        finally:
            pg._run("pg_ctl", "-D", str(standby), "-m", "immediate", "-w", "stop")

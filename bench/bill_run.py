"""Bill-run benchmark: bills per second and peak memory, on SQLite and on PostgreSQL.

    python bench/bill_run.py                       # 100,000 accounts, both databases
    python bench/bill_run.py --accounts 20000 --database postgres

For each database it creates a new, migrated database (PostgreSQL: a throwaway cluster
from scripts/pg_cluster.py, unless BENCH_PG_URL names a server to create databases on),
loads a synthetic utility (demo/synthetic.py) and then runs one bill run (drafts, PDFs
excluded) in a fresh process, which reports its wall time and its peak resident memory.
Running it at two sizes shows whether memory grows with the number of accounts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PERIOD = "2026-03"
CYCLE = "SYN-01"
ZONE = "Asia/Kolkata"


async def _prepare(url: str, accounts: int) -> float:
    from zoneinfo import ZoneInfo

    from tortoise.connection import get_connection

    from demo.synthetic import load_synthetic
    from store.db import migrate, open_database

    await migrate(url)
    started = time.perf_counter()
    async with open_database(url):
        await load_synthetic(
            accounts=accounts, period=PERIOD, zone=ZoneInfo(ZONE), cycle_code=CYCLE
        )
        # A live database has planner statistics; a freshly bulk-loaded one needs them made.
        await get_connection("default").execute_script("ANALYZE")
    return time.perf_counter() - started


async def _run(url: str, chunk: int) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from services.billing.runs import run_bill_run
    from store.db import open_database

    async with open_database(url):
        started = time.perf_counter()
        summary = await run_bill_run(
            cycle_code=CYCLE, period=PERIOD, zone=ZoneInfo(ZONE), chunk_size=chunk
        )
        elapsed = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "bills": summary.bills,
        "skipped": summary.skipped,
        "elapsed_s": elapsed,
        "peak_rss_kib": peak_kib,
    }


def measure(url: str, accounts: int, chunk: int) -> dict[str, Any]:
    """Load in this process, run the bill run in a fresh one (so its memory is its own)."""
    load_s = asyncio.run(_prepare(url, accounts))
    child = subprocess.run(
        [sys.executable, __file__, "--run-only", url, "--chunk-size", str(chunk)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if child.returncode != 0:
        raise SystemExit(f"bill run failed:\n{child.stderr}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    result["load_s"] = load_s
    result["accounts"] = accounts
    return result


def report(database: str, r: dict[str, Any]) -> None:
    rate = r["bills"] / r["elapsed_s"] if r["elapsed_s"] else 0.0
    print(
        f"{database:<10} accounts {r['accounts']:>9,}  bills {r['bills']:>9,}  "
        f"{r['elapsed_s']:7.1f} s  {rate:8,.0f} bills/s  peak memory {r['peak_rss_kib'] / 1024:6.0f} MiB"
        f"  (load {r['load_s']:.1f} s)",
        flush=True,
    )
    if r["skipped"]:
        print(f"           skipped: {r['skipped']}", flush=True)


def bench_sqlite(accounts: int, chunk: int) -> None:
    with tempfile.TemporaryDirectory(prefix="gridbill-bench-") as tmp:
        report("sqlite", measure(f"sqlite://{Path(tmp) / 'bench.sqlite3'}", accounts, chunk))


def bench_postgres(accounts: int, chunk: int) -> None:
    import psycopg
    from pg_cluster import TempPostgres

    def run_on(admin: str) -> None:
        name = f"gridbill_bench_{uuid.uuid4().hex[:8]}"
        libpq = admin.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        try:
            url = admin.rsplit("/", 1)[0] + f"/{name}"
            report("postgresql", measure(url, accounts, chunk))
        finally:
            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    given = os.environ.get("BENCH_PG_URL")
    if given:
        run_on(given)
        return
    with TempPostgres() as pg:
        run_on(pg.url)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--run-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_only:
        print(json.dumps(asyncio.run(_run(args.run_only, args.chunk_size))))
        return 0
    print(f"bill run of {args.accounts:,} synthetic accounts, PDFs excluded", flush=True)
    if args.database in ("sqlite", "both"):
        bench_sqlite(args.accounts, args.chunk_size)
    if args.database in ("postgres", "both"):
        bench_postgres(args.accounts, args.chunk_size)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

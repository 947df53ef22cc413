"""Bill-cycle benchmark: drafts, issue and PDFs per second, and peak memory.

    python bench/bill_run.py                       # 100,000 accounts, PostgreSQL
    python bench/bill_run.py --accounts 5000 --pdfs 500 --database both

For each database it creates a new, migrated database (PostgreSQL: a throwaway cluster
from scripts/pg_cluster.py, unless BENCH_PG_URL names a server to create databases on),
loads a synthetic utility (demo/synthetic.py) and then, in a fresh process (so its memory
is its own), drafts the cycle's bills (one bill run), issues them all, and renders the
PDFs of a sample of ``--pdfs`` issued bills twice: with one worker and with two. On
PostgreSQL the sample goes to the queue as ``render_bill_pdfs`` jobs of 25 bills, as
``gridbill bill-run --issue`` defers them, and 1 or 2 ``gridbill worker --once``
processes drain it. The rate counts from the first job's start to the last one's end (the
queue's own ``started`` and ``succeeded`` events): the workers' start-up, a second or so
of imports and connections that a running worker paid long before, is printed apart.
SQLite renders in-process, so it has no two-worker figure. The whole cycle is bills /
(draft time + issue time + the time to render every bill at the sample's rate on the
most workers measured).
The last line is one JSON object with every figure.
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
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

PERIOD = "2026-03"
CYCLE = "SYN-01"
ZONE = "Asia/Kolkata"
ISSUE_DATE = date(2026, 3, 11)


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


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)


async def _run(url: str, chunk: int, pdfs: int, var_dir: str) -> dict[str, Any]:
    """Draft, issue, then render a sample of PDFs with 1 and (PostgreSQL) 2 workers."""
    from zoneinfo import ZoneInfo

    from services.billing.issue import draft_ids, issue_bills
    from services.billing.runs import run_bill_run
    from services.viewer import acting_as
    from store.db import open_database

    os.environ.update({"DATABASE_URL": url, "GRIDBILL_VAR_DIR": var_dir})
    from gridbill.settings import get_settings

    settings = get_settings()
    async with open_database(url):
        started = time.perf_counter()
        summary = await run_bill_run(
            cycle_code=CYCLE, period=PERIOD, zone=ZoneInfo(ZONE), chunk_size=chunk
        )
        draft_s = time.perf_counter() - started
        ids = await draft_ids(cycle_code=CYCLE, period=PERIOD)
        started = time.perf_counter()
        issued = await issue_bills(
            acting_as("bench:bill_run"), ids, issue_date=ISSUE_DATE,
            utility_name=settings.utility_name, payee_vpa=settings.upi_vpa,
            letterhead=settings.letterhead, chunk_size=chunk,
        )  # fmt: skip
        issue_s = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sample = issued.issued[:pdfs]
        pdf_s, wall_s = {}, {}
        for workers in (1, 2) if settings.is_postgres else (1,):
            pdf_s[workers], wall_s[workers] = await _render(settings, sample, workers)
    bills = summary.bills
    rates = {n: len(sample) / s if s else 0.0 for n, s in pdf_s.items()}
    most = max(rates)
    cycle_s = draft_s + issue_s + (bills / rates[most] if rates[most] else 0.0)
    worker_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "bills": bills,
        "skipped": summary.skipped,
        "issued": len(issued.issued),
        "draft_s": draft_s,
        "drafts_per_s": bills / draft_s if draft_s else 0.0,
        "issue_s": issue_s,
        "issue_per_s": len(issued.issued) / issue_s if issue_s else 0.0,
        "pdf_sample": len(sample),
        "pdfs_per_s_1_worker": rates[1],
        "pdfs_per_s_2_workers": rates.get(2),
        "pdf_start_up_s": {n: round(wall_s[n] - pdf_s[n], 2) for n in pdf_s},
        "cycle_workers": most,
        "cycle_per_s": bills / cycle_s if cycle_s else 0.0,
        "peak_rss_mib": _mib(peak_kib),
        "worker_peak_rss_mib": _mib(worker_kib) if settings.is_postgres else None,
    }


async def _render(settings: Any, bill_ids: list[int], workers: int) -> tuple[float, float]:
    """Seconds to render ``bill_ids`` and seconds until the workers were done: in-process
    on SQLite (the two the same), else queued as the command queues them and drained by
    ``workers`` worker processes, the first figure from the queue's events."""
    from tortoise import connections

    from jobs.billing import defer_bill_pdfs
    from jobs.procrastinate_app import ensure_schema
    from jobs.runtime import background_jobs
    from services.billing.documents import render_bills

    if not bill_ids:
        return 0.0, 0.0
    if not settings.is_postgres:
        started = time.perf_counter()
        await render_bills(bill_ids, settings)
        elapsed = time.perf_counter() - started
        return elapsed, elapsed
    await ensure_schema(settings)
    db = connections.get("default")
    (before,) = await db.execute_query_dict(
        "SELECT COALESCE(MAX(id), 0) AS id FROM procrastinate_jobs"
    )
    async with background_jobs(settings):
        await defer_bill_pdfs(bill_ids)
    gridbill = str(Path(sys.executable).with_name("gridbill"))
    started = time.perf_counter()
    children = [
        await asyncio.create_subprocess_exec(
            gridbill, "worker", "--once", cwd=ROOT, stdout=asyncio.subprocess.DEVNULL
        )
        for _ in range(workers)
    ]
    codes = [await child.wait() for child in children]
    elapsed = time.perf_counter() - started
    if any(codes):
        raise SystemExit(f"a worker failed: exit codes {codes}")
    (drain,) = await db.execute_query_dict(
        "SELECT EXTRACT(EPOCH FROM MAX(e.at) FILTER (WHERE e.type = 'succeeded')"
        " - MIN(e.at) FILTER (WHERE e.type = 'started')) AS seconds,"
        " COUNT(*) FILTER (WHERE e.type = 'succeeded') AS done, COUNT(DISTINCT j.id) AS jobs"
        " FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id"
        " WHERE j.id > $1 AND j.task_name = 'render_bill_pdfs'",
        [before["id"]],
    )
    if drain["done"] != drain["jobs"]:
        raise SystemExit(f"{drain['jobs'] - drain['done']} render job(s) did not succeed")
    return float(drain["seconds"]), elapsed


def measure(url: str, accounts: int, chunk: int, pdfs: int) -> dict[str, Any]:
    """Load in this process, run the cycle in a fresh one (so its memory is its own)."""
    load_s = asyncio.run(_prepare(url, accounts))
    with tempfile.TemporaryDirectory(prefix="gridbill-bench-var-") as var_dir:
        command = [sys.executable, __file__, "--run-only", url, "--chunk-size", str(chunk),
                   "--pdfs", str(pdfs), "--var-dir", var_dir]  # fmt: skip
        child = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if child.returncode != 0:
        raise SystemExit(f"bill cycle failed:\n{child.stderr}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    result["load_s"] = load_s
    result["accounts"] = accounts
    return result


def report(database: str, r: dict[str, Any]) -> None:
    two = r["pdfs_per_s_2_workers"]
    workers = f"{two:6,.1f} PDFs/s with 2 workers" if two is not None else "(in-process)"
    memory = f"peak memory {r['peak_rss_mib']:6.0f} MiB"
    if r["worker_peak_rss_mib"] is not None:
        memory += f", a worker {r['worker_peak_rss_mib']:.0f} MiB"
    print(
        f"{database:<10} accounts {r['accounts']:>9,}  bills {r['bills']:>9,}  "
        f"{r['draft_s']:7.1f} s  {r['drafts_per_s']:8,.0f} bills/s  {memory}"
        f"  (load {r['load_s']:.1f} s)\n"
        f"           issue    {r['issued']:>9,} bills in {r['issue_s']:6.1f} s  "
        f"{r['issue_per_s']:8,.0f} bills/s\n"
        f"           PDFs     {r['pdf_sample']:>9,} bills  {r['pdfs_per_s_1_worker']:6,.1f} PDFs/s "
        f"with 1 worker  {workers}  (first job's start to last one's end; the workers' "
        f"start-up apart: {', '.join(f'{s:.1f} s' for s in r['pdf_start_up_s'].values())})\n"
        f"           cycle    {r['cycle_per_s']:8,.1f} bills/s (draft + issue + PDFs on "
        f"{r['cycle_workers']} worker{'s' if r['cycle_workers'] > 1 else ''})",
        flush=True,
    )
    if r["skipped"]:
        print(f"           skipped: {r['skipped']}", flush=True)


def bench_sqlite(accounts: int, chunk: int, pdfs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gridbill-bench-") as tmp:
        result = measure(f"sqlite://{Path(tmp) / 'bench.sqlite3'}", accounts, chunk, pdfs)
    report("sqlite", result)
    return result


def bench_postgres(accounts: int, chunk: int, pdfs: int) -> dict[str, Any]:
    from bench.customer_app import with_postgres_run

    result: dict[str, Any] = with_postgres_run(lambda url: measure(url, accounts, chunk, pdfs))
    report("postgresql", result)
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="postgres")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument(
        "--pdfs", type=int, default=2_000, help="issued bills whose PDFs are rendered (a sample)"
    )
    parser.add_argument("--run-only", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_only:
        result = asyncio.run(_run(args.run_only, args.chunk_size, args.pdfs, args.var_dir))
        print(json.dumps(result))
        return 0
    print(
        f"bill cycle of {args.accounts:,} synthetic accounts, PDFs of {args.pdfs:,} of them",
        flush=True,
    )
    figures: dict[str, Any] = {"accounts": args.accounts, "pdf_sample": args.pdfs}
    if args.database in ("sqlite", "both"):
        figures["sqlite"] = bench_sqlite(args.accounts, args.chunk_size, args.pdfs)
    if args.database in ("postgres", "both"):
        figures["postgresql"] = bench_postgres(args.accounts, args.chunk_size, args.pdfs)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

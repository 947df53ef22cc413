"""Report benchmark: each staff report's time on a utility of N accounts, and peak memory.

    .venv/bin/python bench/reports.py                          # 100,000 accounts, PostgreSQL
    .venv/bin/python bench/reports.py --accounts 2000 --database sqlite
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/reports.py

It creates a new migrated database (PostgreSQL: a throwaway cluster from
scripts/pg_cluster.py, unless BENCH_PG_URL names a server to create databases on), loads
the synthetic utility of the bill-run benchmark (demo/synthetic.py: accounts, meters,
two months of reads) and adds, with set-based SQL, what the reports read: six months of
issued bills with two lines each and their ledger entries, payments for seven bills in
ten (cash, cheque and Razorpay, some partial) with theirs, the gateway's records of nine
Razorpay payments in ten, routes of 500 meters, field visits and VEE exceptions. These
bills are synthetic rows, not priced by the tariff engine (the bill-run benchmark times
that); their shape is what the reports' queries see on a live database.

Then a fresh process runs every report for the last month twice (cold, then warm) and
prints the times and its peak resident memory. The last line is one JSON object.
Not a test: the figures depend on the machine. The aim is under 2 s a report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

PERIOD = "2026-03"
MONTHS = 6
CYCLE = "SYN-01"
ZONE = "Asia/Kolkata"
ROUTE_SIZE = 500


def _months() -> list[date]:
    last = date.fromisoformat(f"{PERIOD}-01")
    firsts = []
    for back in range(MONTHS - 1, -1, -1):
        index = last.year * 12 + last.month - 1 - back
        firsts.append(date(index // 12, index % 12 + 1, 1))
    return firsts


def _plus_days(postgres: bool, expr: str, days: str) -> str:
    if postgres:
        return f"({expr} + ({days})::int)"
    return f"date({expr}, '+' || ({days}) || ' days')"


async def _seed(sql: Any, accounts: int) -> None:
    """Bills, payments, ledger, gateway records, routes, visits and exceptions, set-based."""
    from store.models import BillingCycle, BillRun, Route

    now = sql.ts(datetime.now(UTC))
    cycle = await BillingCycle.get(code=CYCLE)
    await sql.execute(
        "UPDATE accounts SET contract_demand_va = 15000 WHERE category = 'commercial'"
    )
    for i, first in enumerate(_months()):
        run = await BillRun.create(
            cycle=cycle, period_start=first, period_end=first + timedelta(days=27),
            status="completed",
        )  # fmt: skip
        issue = first + timedelta(days=10)
        start = (first - timedelta(days=1)).replace(day=8)
        await sql.execute(
            """INSERT INTO bills (number, account_id, customer_id, bill_run_id, period_start,
                period_end, active_period, status, is_estimated, is_final, estimate_basis,
                currency, consumption_wh, max_demand_w, charges_paise, rounding_paise,
                total_paise, arrears_paise, late_fee_paise, payable_paise, paid_paise,
                issue_date, due_date, tariff_version_id, cancel_reason, pdf_path, pdf_sha256,
                created_at, updated_at)
            SELECT 'BN' || ? || '-' || a.id, a.id, h.customer_id, ?, ?, ?, ?, 'issued',
                (a.id + ?) % 25 = 0, ?, '', 'INR',
                ((a.id * 7919 + ?) % 400000 + 20000) * 12,
                CASE WHEN a.category = 'commercial' THEN (a.id % 50 + 5) * 1000 ELSE 0 END,
                (a.id * 7919 + ?) % 400000 + 20000, 0, (a.id * 7919 + ?) % 400000 + 20000,
                0, 0, (a.id * 7919 + ?) % 400000 + 20000, 0, ?, ?,
                (SELECT MIN(tv.id) FROM tariff_versions tv
                   JOIN tariff_assignments ta ON ta.tariff_id = tv.tariff_id
                  WHERE ta.account_id = a.id), '', '', '', ?, ?
            FROM accounts a JOIN account_holders h ON h.account_id = a.id""",
            [str(i), run.id, sql.day(start), sql.day(first - timedelta(days=1) + timedelta(days=7)),
             sql.day(start), i, sql.flag(False), i * 104729, i * 104729, i * 104729,
             i * 104729, sql.day(issue), sql.day(issue + timedelta(days=15)), now, now],
        )  # fmt: skip
    for position, component, share in ((1, "energy", 9), (2, "fixed", 1)):
        await sql.execute(
            f"""INSERT INTO bill_lines (bill_id, position, component, code, description,
                quantity, unit, rate, amount_paise, tou_period)
            SELECT b.id, ?, ?, ?, ?, '', '', '', b.total_paise * {share} / 10, '' FROM bills b""",  # noqa: S608
            [position, component, component.upper(), component],
        )
    await sql.execute(
        """INSERT INTO ledger_entries (account_id, kind, amount_paise, effective_on, posted_at,
            source_key, description, bill_id)
        SELECT b.account_id, 'bill', b.total_paise, b.issue_date, ?, 'bill:' || b.id, '', b.id
        FROM bills b""",
        [now],
    )
    received = _plus_days(sql.postgres, "b.issue_date", "b.id % 20")
    await sql.execute(
        f"""INSERT INTO payments (reference, account_id, bill_id, method, status, amount_paise,
            currency, gateway_payment_id, gateway_method, instrument_number, instrument_bank,
            received_on, failure_reason, created_at, updated_at)
        SELECT 'BENCH-' || b.id, b.account_id, b.id,
            CASE b.id % 4 WHEN 0 THEN 'cash' WHEN 1 THEN 'cheque' ELSE 'razorpay' END,
            'captured',
            CASE WHEN b.id % 10 = 6 THEN b.total_paise / 2 ELSE b.total_paise END, 'INR',
            CASE WHEN b.id % 4 >= 2 THEN 'pay_b' || b.id END,
            CASE WHEN b.id % 4 >= 2 THEN 'upi' ELSE '' END, '', '', {received}, '', ?, ?
        FROM bills b WHERE b.id % 10 < 7""",  # noqa: S608 - our own fragment
        [now, now],
    )
    await sql.execute(
        """INSERT INTO ledger_entries (account_id, kind, amount_paise, effective_on, posted_at,
            source_key, description, payment_id)
        SELECT p.account_id, 'payment', -p.amount_paise, p.received_on, ?,
            'payment:' || p.reference, '', p.id
        FROM payments p""",
        [now],
    )
    await sql.execute(
        """INSERT INTO gateway_records (gateway, gateway_payment_id, order_id, status, method,
            amount_paise, created_at, created_on, fetched_at)
        SELECT 'razorpay', p.gateway_payment_id, '', 'captured', 'upi', p.amount_paise, ?,
            p.received_on, ?
        FROM payments p WHERE p.method = 'razorpay' AND p.id % 10 <> 3""",
        [now, now],
    )
    routes = max(1, accounts // ROUTE_SIZE)
    for n in range(routes):
        await Route.create(code=f"SR{n:04d}", name=f"Synthetic route {n}", cycle=cycle)
    await sql.execute(
        """INSERT INTO route_stops (route_id, meter_id, active_meter, sequence, created_at,
            updated_at)
        SELECT (SELECT MIN(id) FROM routes) + m.id % ?, m.id, m.id, m.id, ?, ? FROM meters m""",
        [routes, now, now],
    )
    meters = [r["id"] for r in await sql.rows("SELECT id FROM meters WHERE id % 33 = 0")]
    visited = sql.ts(datetime(2026, 3, 9, 6, tzinfo=UTC))
    await sql.insert(
        "field_visits",
        ("client_uuid", "meter_id", "visited_at", "skip_code", "notes", "created_at", "updated_at"),
        [[str(uuid.uuid4()), m, visited, "no_access", "", now, now] for m in meters],
    )  # fmt: skip
    await sql.execute(
        """INSERT INTO validation_exceptions (rule, status, meter_id, detail, resolution_reason,
            created_at, updated_at)
        SELECT CASE WHEN m.id % 2 = 0 THEN 'spike' ELSE 'zero_read' END, 'open', m.id, '{}', '',
            ?, ? FROM meters m WHERE m.id % 100 = 0""",
        [visited, now],
    )


async def _prepare(url: str, accounts: int) -> float:
    from zoneinfo import ZoneInfo

    from tortoise.connection import get_connection

    from demo.synthetic import load_synthetic
    from store.db import migrate, open_database
    from store.sql import Sql

    await migrate(url)
    started = time.perf_counter()
    async with open_database(url):
        await load_synthetic(
            accounts=accounts, period=PERIOD, zone=ZoneInfo(ZONE), cycle_code=CYCLE
        )
        await _seed(Sql(get_connection("default")), accounts)
        # A live database has planner statistics; a freshly bulk-loaded one needs them made.
        await get_connection("default").execute_script("ANALYZE")
    return time.perf_counter() - started


async def _run(url: str) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from services.reports.catalog import NAMES, run_report
    from services.reports.scope import resolve_scope
    from store.db import open_database

    timings: dict[str, dict[str, float]] = {}
    rows: dict[str, int] = {}
    async with open_database(url):
        scope = await resolve_scope(PERIOD, None, zone=ZoneInfo(ZONE), today=date(2026, 4, 30))
        for name in NAMES:
            seconds = []
            for _ in range(2):
                started = time.perf_counter()
                report = await run_report(name, scope)
                seconds.append(time.perf_counter() - started)
            timings[name] = {"cold_s": round(seconds[0], 3), "warm_s": round(seconds[1], 3)}
            rows[name] = sum(len(t.rows) for t in report.tables())
    return {
        "reports": timings,
        "rows": rows,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def measure(url: str, accounts: int) -> dict[str, Any]:
    """Load in this process, run the reports in a fresh one (so its memory is its own)."""
    load_s = asyncio.run(_prepare(url, accounts))
    child = subprocess.run(
        [sys.executable, __file__, "--run-only", url],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if child.returncode != 0:
        raise SystemExit(f"reports failed:\n{child.stderr}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    result["load_s"] = round(load_s, 1)
    result["accounts"] = accounts
    return result


def bench_sqlite(accounts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gridbill-bench-") as tmp:
        return measure(f"sqlite://{Path(tmp) / 'bench.sqlite3'}", accounts)


def bench_postgres(accounts: int) -> dict[str, Any]:
    from bench.customer_app import with_postgres_run

    result: dict[str, Any] = with_postgres_run(lambda url: measure(url, accounts))
    return result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--run-only", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_only:
        print(json.dumps(asyncio.run(_run(args.run_only))))
        return 0
    print(
        f"reports for {PERIOD} on {args.accounts:,} synthetic accounts "
        f"({MONTHS} months of bills), {args.database}",
        flush=True,
    )
    result = (bench_sqlite if args.database == "sqlite" else bench_postgres)(args.accounts)
    for name, t in result["reports"].items():
        print(
            f"  {name:<20} {t['cold_s']:7.3f} s cold  {t['warm_s']:7.3f} s warm  "
            f"{result['rows'][name]:>6} rows",
            flush=True,
        )
    print(
        f"  load {result['load_s']:.1f} s, report process peak memory "
        f"{result['peak_rss_kib'] / 1024:.0f} MiB",
        flush=True,
    )
    print(json.dumps({"database": args.database, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

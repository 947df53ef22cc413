"""What the API benches share: a billed demo utility, customers' tokens, and servers.

``bench/api.py`` (throughput against a plain endpoint) and ``bench/load.py`` (the
customer-app mix at N users) prepare the same data and serve the same app; this module
is that common part. Scripts run as ``python bench/X.py`` put the project root first on
``sys.path`` (``bench/api.py`` would otherwise shadow the ``api`` package) and import it
as ``bench.customer_app``.
"""

from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from api.persisted_queries import MY_BILLS  # noqa: E402

SECRET = "bench-secret-key-" + "b" * 40
BILLS_QUERY = MY_BILLS  # the customer app's bills screen, a persisted query
BILLS_VARIABLES = {"first": 12}
GENERAL_BILLS_QUERY = MY_BILLS + "\n# not persisted: the general executor answers it"
"""The same document under another text, so the server executes it field by field."""
USAGE_QUERY = """query Usage($a: ID!) { usage(accountId: $a, granularity: MONTHLY) {
  current { totalWh points { start wh averaged } } lastYear { totalWh } changePercent } }"""


# --- data ---------------------------------------------------------------------------------


def settings_for(url: str, var_dir: Path) -> Any:
    from gridbill.settings import load_settings

    return load_settings(
        {"DATABASE_URL": url, "GRIDBILL_VAR_DIR": str(var_dir), "GRIDBILL_SECRET_KEY": SECRET}
    )


def months_back(today: date, count: int) -> list[str]:
    out, day = [], today.replace(day=1)
    for _ in range(count):
        day = (day - timedelta(days=1)).replace(day=1)
        out.append(f"{day:%Y-%m}")
    return sorted(out)


async def prepare(settings: Any, customers: int) -> dict[str, Any]:
    """Demo data, billed and issued month by month; returns counts and the viewers' ids."""
    from demo.loader import load_demo_data
    from jobs.procrastinate_app import ensure_schema
    from services.billing.issue import draft_ids, issue_bills
    from services.billing.runs import run_bill_run
    from services.viewer import acting_as
    from store.db import open_database
    from store.models import BillingCycle

    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        await load_demo_data(settings, customers=customers, progress=False)
    if settings.is_postgres:
        await ensure_schema(settings)
    loaded = time.perf_counter() - started
    today = datetime.now(settings.zone).date()
    async with open_database(settings.database_url):
        cycles = await BillingCycle.all().values_list("code", flat=True)
        for period in months_back(today, 7):
            for code in cycles:
                await run_bill_run(cycle_code=str(code), period=period, zone=settings.zone)
                ids = await draft_ids(cycle_code=str(code), period=period)
                if ids:
                    first = date.fromisoformat(f"{period}-01")
                    issue_day = min(today, (first + timedelta(days=35)).replace(day=5))
                    await issue_bills(
                        acting_as("bench"), ids, issue_date=issue_day,
                        utility_name=settings.utility_name, payee_vpa=settings.upi_vpa,
                    )  # fmt: skip
        issued, viewers = await billed_viewers()
    return {
        "load_s": loaded,
        "bill_s": time.perf_counter() - started - loaded,
        "bills": issued,
        "viewers": viewers,
    }


async def billed_viewers() -> tuple[int, list[tuple[int, int, int]]]:
    """The issued bills' count, and (user, customer, account) of each customer with one.

    A bench given a database :func:`prepare` already filled starts from here.
    """
    from store.models import Bill

    rows = await Bill.filter(status="issued").values("customer_id", "account_id")
    per_customer: dict[int, int] = {}
    for row in rows:
        per_customer[row["customer_id"]] = row["account_id"]
    viewers = [
        (await _viewer_user(customer_id), customer_id, account_id)
        for customer_id, account_id in sorted(per_customer.items())
    ]
    return len(rows), viewers


async def _viewer_user(customer_id: int) -> int:
    """The customer's user, created (without a password) if they never signed up.

    Every request checks that a token's user exists and is active, so the tokens the
    bench mints must name real users.
    """
    from domain.enums import Role
    from store.models import User

    user = await User.filter(customer_id=customer_id).first()
    if user is None:
        user = await User.create(
            email=f"bench-viewer-{customer_id}@example.invalid", full_name="bench viewer",
            role=Role.CUSTOMER, customer_id=customer_id,
        )  # fmt: skip
    return user.id


def tokens(settings: Any, viewers: list[tuple[int, int, int]]) -> list[tuple[str, int]]:
    """An access token per viewer (a customer; no sign-in needed to measure reads)."""
    from domain.enums import Role
    from services.identity.tokens import issue_user_token

    out = []
    for user_id, customer_id, account_id in viewers:
        token, _ = issue_user_token(
            settings, user_id=user_id, role=Role.CUSTOMER, customer_id=customer_id
        )
        out.append((token, account_id))
    return out


# --- servers ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(app: str, settings: Any, extra_env: dict[str, str], workers: int = 1) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRIDBILL_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=settings.database_url, GRIDBILL_SECRET_KEY=SECRET, GRIDBILL_ENV="production",
        GRIDBILL_VAR_DIR=str(settings.var_dir), GRIDBILL_LOG_LEVEL="WARNING", **extra_env,
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port",
         str(port), "--log-level", "warning", "--no-access-log", "--workers", str(workers)],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{app} did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()


def with_postgres_run(work: Any) -> Any:
    """``work(url)`` on a new database: on BENCH_PG_URL's server, else a throwaway cluster."""
    import psycopg

    def on(admin: str) -> Any:
        name = f"gridbill_bench_{uuid.uuid4().hex[:8]}"
        libpq = admin.replace("postgres://", "postgresql://", 1)
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        try:
            return work(admin.rsplit("/", 1)[0] + f"/{name}")
        finally:
            with psycopg.connect(libpq, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]

    given = os.environ.get("BENCH_PG_URL")
    if given:
        return on(given)
    from pg_cluster import TempPostgres

    with TempPostgres() as pg:
        return on(pg.url)


def peak_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest finished child (the
    servers, once stopped), in MB: what every bench prints to show memory stays flat."""

    def mb(who: int) -> float:
        return round(resource.getrusage(who).ru_maxrss / 1024, 1)  # Linux: kilobytes

    return {"bench": mb(resource.RUSAGE_SELF), "server": mb(resource.RUSAGE_CHILDREN)}

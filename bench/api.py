"""API benchmark: GraphQL against a plain Starlette JSON endpoint running the same SQL.

    python bench/api.py                                  # 200 customers, 16 clients, 10 s each
    python bench/api.py --customers 1000 --clients 64 --duration 20
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/api.py

It starts a throwaway PostgreSQL (scripts/pg_cluster.py; or creates a database on
BENCH_PG_URL, or uses --database-url as is), loads the demo utility
(``demo.loader.load_demo_data``), bills and issues its months (``services.billing.runs``,
``services.billing.issue``), then serves the API with uvicorn in a subprocess and, beside it,
a plain Starlette app (:func:`plain_app`) that answers the same questions with the same
queries: JWT check, the customer's 12 newest bills, their lines and payments (the three
statements the GraphQL DataLoaders run), and usage through ``services.meter_data.usage``.

Concurrent clients (``--client-processes`` processes of asyncio httpx2 clients, one
connection each, each request as a random one of ``--viewers`` customers) then drive each
endpoint for ``--duration`` seconds, one endpoint at a time, in ``--repeats`` slices that
take turns (so a busy machine slows them all alike). The GraphQL bills query runs against
two servers: with the answer cache (the default, ``GRIDBILL_API_CACHE_TTL``) and without
it (``GRIDBILL_API_CACHE_TTL=0``). The customer app's bills query is persisted, so the
server answers it through ``api.persisted_queries``; the same document under another text
(``GENERAL_BILLS_QUERY``) measures the general executor beside it. It prints requests/s,
p50 and p99 latency, and each GraphQL round's throughput as a fraction of the plain
endpoint's (the issue's "uncached/plain" is ``graphql-bills (no cache) / plain-bills``);
the last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.customer_app import (  # noqa: E402
    BILLS_QUERY,
    BILLS_VARIABLES,
    GENERAL_BILLS_QUERY,
    USAGE_QUERY,
    peak_mb,
    prepare,
    server,
    settings_for,
    tokens,
    with_postgres_run,
)

# --- the plain endpoint -------------------------------------------------------------------


def plain_app() -> Any:
    """The same reads as the GraphQL path, hand-written: the baseline to compare with."""
    import contextlib as ctx
    from collections import defaultdict

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from api.auth import bearer_token, viewer_from_token
    from api.pagination import encode_cursor
    from domain.access import Operation
    from gridbill.settings import get_settings
    from services.identity.tokens import InvalidToken
    from services.meter_data.usage import history
    from services.viewer import CUSTOMER_VISIBLE_BILLS
    from store.db import open_database
    from store.models import Account, Bill, BillLine, Payment

    settings = get_settings()

    def viewer_of(request: Request) -> Any:
        try:
            token = bearer_token(request.headers.get("authorization"))
            return viewer_from_token(settings, token) if token else None
        except InvalidToken:
            return None

    async def bills(request: Request) -> JSONResponse:
        viewer = viewer_of(request)
        if viewer is None or viewer.customer_id is None:
            return JSONResponse({"error": "unauthenticated"}, 401)
        rows = await (
            Bill.filter(customer_id=viewer.customer_id, status__in=CUSTOMER_VISIBLE_BILLS)
            .order_by("-period_start", "-id")
            .limit(13)
        )
        has_next = len(rows) > 12
        rows = rows[:12]
        ids = [b.id for b in rows]
        lines: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        for line in await BillLine.filter(bill_id__in=ids).order_by("bill_id", "position"):
            lines[line.bill_id].append(  # type: ignore[attr-defined]
                {"code": line.code, "description": line.description, "quantity": line.quantity,
                 "unit": line.unit, "rate": line.rate, "amountPaise": line.amount_paise}
            )  # fmt: skip
        payments: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        for p in await Payment.filter(bill_id__in=ids).order_by("-created_at", "-id"):
            payments[p.bill_id].append(  # type: ignore[attr-defined]
                {"reference": p.reference, "amountPaise": p.amount_paise, "status": p.status.name}
            )
        edges = [
            {"cursor": encode_cursor(b.period_start, b.id), "node": {
                "id": str(b.id), "number": b.number, "periodStart": b.period_start.isoformat(),
                "periodEnd": b.period_end.isoformat(), "status": b.status.name,
                "totalPaise": b.total_paise, "payablePaise": b.payable_paise, "paidPaise": b.paid_paise,
                "dueDate": b.due_date.isoformat() if b.due_date else None,
                "lines": lines[b.id], "payments": payments[b.id],
            }}
            for b in rows
        ]  # fmt: skip
        page_info = {"hasNextPage": has_next, "endCursor": edges[-1]["cursor"] if edges else None}
        return JSONResponse({"data": {"myBills": {"edges": edges, "pageInfo": page_info}}})

    async def usage(request: Request) -> JSONResponse:
        viewer = viewer_of(request)
        account_id = int(request.query_params["account"])
        spans = await viewer.account_spans(account_id, Operation.READ_USAGE) if viewer else None
        account = await Account.get_or_none(id=account_id) if spans else None
        if account is None or spans is None:
            return JSONResponse({"error": "not found"}, 404)
        today = datetime.now(settings.zone).date()
        start = (today.replace(day=1) - timedelta(days=330)).replace(day=1)
        end = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
        current = await history(
            account, start=start, end=end, monthly=True, spans=spans, zone=settings.zone
        )
        last = await history(
            account, start=start.replace(year=start.year - 1), end=end.replace(year=end.year - 1),
            monthly=True, spans=spans, zone=settings.zone,
        )  # fmt: skip
        return JSONResponse({"data": {"usage": {
            "current": {"totalWh": current.total_wh,
                        "points": [{"start": p.start.isoformat(), "wh": p.wh, "averaged": p.averaged}
                                   for p in current.points]},
            "lastYear": {"totalWh": last.total_wh},
        }}})  # fmt: skip

    @ctx.asynccontextmanager
    async def lifespan(_: Any) -> Any:
        async with open_database(settings.database_url, pool_max=settings.db_pool_max):
            yield

    return Starlette(
        routes=[Route("/plain/bills", bills), Route("/plain/usage", usage)], lifespan=lifespan
    )


# --- load ---------------------------------------------------------------------------------


@dataclass
class Round:
    name: str
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _request(kind: str, base: str, token: str, account: int) -> tuple[str, dict[str, Any], Any]:
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "graphql-bills":
        return (
            "POST",
            headers,
            (f"{base}/graphql", {"query": BILLS_QUERY, "variables": BILLS_VARIABLES}),
        )
    if kind == "graphql-bills-general":
        body = {"query": GENERAL_BILLS_QUERY, "variables": BILLS_VARIABLES}
        return "POST", headers, (f"{base}/graphql", body)
    if kind == "graphql-usage":
        return (
            "POST",
            headers,
            (f"{base}/graphql", {"query": USAGE_QUERY, "variables": {"a": str(account)}}),
        )
    if kind == "plain-bills":
        return "GET", headers, (f"{base}/plain/bills", None)
    return "GET", headers, (f"{base}/plain/usage?account={account}", None)


async def _drive(
    kind: str,
    base: str,
    viewers: list[tuple[str, int]],
    clients: int,
    warmup: float,
    duration: float,
) -> tuple[int, int, list[float]]:
    import httpx2

    latencies: list[float] = []
    counts = [0, 0]
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration

    async def client(seed: int) -> None:
        rng = random.Random(seed)
        async with httpx2.AsyncClient(timeout=30, limits=httpx2.Limits(max_connections=1)) as http:
            while (now := time.perf_counter()) < stop_at:
                token, account = rng.choice(viewers)
                method, headers, (url, body) = _request(kind, base, token, account)
                sent = time.perf_counter()
                if method == "POST":
                    response = await http.post(url, json=body, headers=headers)
                else:
                    response = await http.get(url, headers=headers)
                took = time.perf_counter() - sent
                ok = response.status_code == 200 and b'"errors"' not in response.content
                if now >= measure_from:
                    counts[0] += 1
                    counts[1] += 0 if ok else 1
                    latencies.append(took * 1000)

    await asyncio.gather(*(client(i) for i in range(clients)))
    return counts[0], counts[1], latencies


def _drive_in_process(args: tuple[str, str, list[tuple[str, int]], int, float, float, int]) -> Any:
    kind, base, viewers, clients, warmup, duration, seed = args
    random.seed(seed)
    return asyncio.run(_drive(kind, base, viewers, clients, warmup, duration))


def load(
    kind: str, base: str, viewers: list[tuple[str, int]], *, clients: int, processes: int,
    warmup: float, duration: float,
) -> Round:  # fmt: skip
    per = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    jobs = [(kind, base, viewers, n, warmup, duration, i) for i, n in enumerate(per) if n]
    with ProcessPoolExecutor(len(jobs)) as pool:
        results = list(pool.map(_drive_in_process, jobs))
    latencies = [ms for _, _, lat in results for ms in lat]
    return Round(kind, sum(r[0] for r in results), sum(r[1] for r in results), duration, latencies)


# --- report -------------------------------------------------------------------------------


def line(r: Round) -> str:
    return (
        f"  {r.name:<28} {r.rps:9,.0f} req/s   p50 {r.percentile(50):7.2f} ms   "
        f"p99 {r.percentile(99):7.2f} ms   ({r.requests:,} requests, {r.errors} errors)"
    )


def run(database_url: str, args: argparse.Namespace) -> list[Round]:
    with tempfile.TemporaryDirectory(prefix="gridbill-api-bench-") as tmp:
        settings = settings_for(database_url, Path(tmp))
        print(f"loading {args.customers} demo customers and billing their months…", flush=True)
        prepared = asyncio.run(prepare(settings, args.customers))
        viewers = tokens(settings, prepared["viewers"][: args.viewers])
        print(
            f"  loaded in {prepared['load_s']:.1f} s, billed {prepared['bills']:,} bills in "
            f"{prepared['bill_s']:.1f} s; {len(viewers)} viewers",
            flush=True,
        )
        if not viewers:
            raise SystemExit("no issued bills: nothing to measure")
        slice_s = args.duration / args.repeats
        common = {"clients": args.clients, "processes": args.client_processes,
                  "warmup": args.warmup, "duration": slice_s}  # fmt: skip
        with (
            server("bench.api:plain_app", settings, {}) as plain,
            server("api.app:create_app", settings, {}) as graphql,
            server("api.app:create_app", settings, {"GRIDBILL_API_CACHE_TTL": "0"}) as uncached,
        ):
            plan = [
                ("plain-bills", "plain-bills", plain),
                ("graphql-bills", "graphql-bills", graphql),
                ("graphql-bills (no cache)", "graphql-bills", uncached),
                ("graphql-bills (no cache, general executor)", "graphql-bills-general", uncached),
                ("plain-usage", "plain-usage", plain),
                ("graphql-usage", "graphql-usage", graphql),
            ]
            # Rounds take turns in short slices, so a busy neighbour on the machine
            # slows every endpoint alike instead of skewing one of them.
            totals = {name: Round(name, 0, 0, 0.0, []) for name, _, _ in plan}
            for _ in range(args.repeats):
                for name, kind, base in plan:
                    done = load(kind, base, viewers, **common)
                    total = totals[name]
                    total.requests += done.requests
                    total.errors += done.errors
                    total.seconds += done.seconds
                    total.latencies_ms += done.latencies_ms
    return list(totals.values())


RATIOS = (
    ("graphql-bills", "plain-bills"),
    ("graphql-bills (no cache)", "plain-bills"),
    ("graphql-bills (no cache, general executor)", "plain-bills"),
    ("graphql-usage", "plain-usage"),
)


def report(rounds: list[Round], args: argparse.Namespace) -> None:
    by = {r.name: r for r in rounds}
    print(
        f"\n{args.clients} concurrent clients in {args.client_processes} processes, "
        f"{args.duration:g} s per endpoint in {args.repeats} slices taking turns, "
        f"one uvicorn worker each:"
    )
    for r in rounds:
        print(line(r))
    print()
    ratios: dict[str, float] = {}
    for graphql, plain in RATIOS:
        g, p = by[graphql], by[plain]
        ratio = g.rps / p.rps if p.rps else 0.0
        ratios[f"{graphql} / {plain}"] = round(ratio, 3)
        print(f"  {graphql:<44} {ratio:5.2f} of the plain endpoint's throughput")
    memory = peak_mb()
    print(f"  peak memory: bench {memory['bench']} MB, largest server {memory['server']} MB")
    figures: dict[str, Any] = {
        r.name: {"rps": round(r.rps, 1), "p50_ms": round(r.percentile(50), 2),
                 "p99_ms": round(r.percentile(99), 2), "errors": r.errors}
        for r in rounds
    }  # fmt: skip
    print(json.dumps({**figures, "ratios": ratios, "peak_mb": memory}))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--viewers", type=int, default=100, help="distinct customers querying")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--warmup", type=float, default=1.0, help="seconds before each slice counts"
    )
    parser.add_argument("--repeats", type=int, default=5, help="slices each round is cut into")
    parser.add_argument(
        "--database-url", help="an empty, migrated PostgreSQL database to use as is"
    )
    args = parser.parse_args(argv)
    rounds = run(args.database_url, args) if args.database_url else with_postgres(args)
    report(rounds, args)
    return 0


def with_postgres(args: argparse.Namespace) -> list[Round]:
    rounds: list[Round] = with_postgres_run(lambda url: run(url, args))
    return rounds


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

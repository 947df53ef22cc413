"""Load test: the customer app's mix at N simulated users against 2 API processes.

    python bench/load.py                              # 200 users, 60 s, 2 API processes
    python bench/load.py --users 400 --duration 120
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/load.py

Like a locust run, bounded and on loopback only. It starts a throwaway PostgreSQL
(scripts/pg_cluster.py; or a database on BENCH_PG_URL, or --database-url as is), loads and
bills the demo utility as ``bench/api.py`` does, serves ``api.app:create_app`` with
``uvicorn --workers 2``, and runs ``--users`` simulated customers in ``--client-processes``
processes. Each user signs in once (a minted token), then repeats what people do in the
app, with a think time between taps: open the app (accounts and the unread count), look
at bills, open one, look at usage, payments, notifications, and now and then estimate a
bill. Users start spread over ``--ramp`` seconds.

It prints requests, errors and p50/p95/p99 latency per operation and overall, and, as its
last line, one JSON object of those figures. It exits 1 if any request failed (a status
other than 200, a GraphQL error, or a typed error result). The load generator shares the
machine with the servers and the database: latencies are a figure to record, not a limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # before bench/ itself, whose api.py would shadow the api package
sys.path.insert(1, str(ROOT / "scripts"))  # the throwaway PgBouncer

from bench import customer_app as shared  # noqa: E402

OPERATIONS: dict[str, tuple[str, int]] = {
    # name: (GraphQL document, weight in the mix)
    "open app": ("query Open { myAccounts { id number status balancePaise } unreadNotificationCount }", 20),
    "bills": (shared.BILLS_QUERY, 25),
    "bill": ("query Bill($id: ID!) { bill(id: $id) { id number totalPaise payablePaise dueDate "
             "lines { code description amountPaise } } }", 15),
    "usage": (shared.USAGE_QUERY, 15),
    "payments": ("query Payments { myPayments(first: 20) { edges { node { reference amountPaise "
                 "status } } } }", 10),
    "notifications": ("query Inbox { myNotifications(first: 20) { edges { node { id event "
                      "subject readAt } } } }", 10),
    "estimate": ("query Estimate($a: ID!) { billEstimate(accountId: $a, kwh: \"250\") { "
                 "__typename ... on BillEstimate { totalPaise } ... on EstimateError { code message } } }", 5),
}  # fmt: skip


@dataclass
class Tally:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)  # the first few failures, for the report

    def add(self, other: Tally) -> None:
        for name, values in other.latencies_ms.items():
            self.latencies_ms.setdefault(name, []).extend(values)
        for name, count in other.errors.items():
            self.errors[name] = self.errors.get(name, 0) + count
        self.samples.extend(other.samples[: 5 - len(self.samples)])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _failed(name: str, status: int, body: dict[str, Any] | None) -> str | None:
    if status != 200 or body is None:
        return f"{name}: HTTP {status}"
    if body.get("errors"):
        return f"{name}: {body['errors'][0].get('message', '')[:120]}"
    if name == "estimate" and body["data"]["billEstimate"]["__typename"] != "BillEstimate":
        return f"estimate: {body['data']['billEstimate']}"
    return None


async def _user(http: Any, base: str, token: str, account: int, rng: random.Random,
                start_at: float, stop_at: float, think: tuple[float, float], tally: Tally) -> None:  # fmt: skip
    names = list(OPERATIONS)
    weights = [OPERATIONS[n][1] for n in names]
    bill_ids: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    while time.perf_counter() < stop_at:
        name = rng.choices(names, weights)[0]
        if name == "bill" and not bill_ids:
            name = "bills"
        variables: dict[str, Any] = {"a": str(account)}
        if name == "bill":
            variables = {"id": rng.choice(bill_ids)}
        sent = time.perf_counter()
        response = await http.post(f"{base}/graphql", json={"query": OPERATIONS[name][0],
                                                          "variables": variables}, headers=headers)  # fmt: skip
        took = (time.perf_counter() - sent) * 1000
        body = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/json")
            else None
        )
        failure = _failed(name, response.status_code, body)
        tally.latencies_ms.setdefault(name, []).append(took)
        if failure:
            tally.errors[name] = tally.errors.get(name, 0) + 1
            if len(tally.samples) < 5:
                tally.samples.append(failure)
        elif name == "bills" and body is not None:
            bill_ids = [e["node"]["id"] for e in body["data"]["myBills"]["edges"]] or bill_ids
        await asyncio.sleep(rng.uniform(*think))


async def _users(base: str, viewers: list[tuple[str, int]], offsets: list[float], duration: float,
                 think: tuple[float, float], seed: int) -> Tally:  # fmt: skip
    import httpx2

    tally = Tally()
    rng = random.Random(seed)
    began = time.perf_counter()
    stop_at = began + duration
    limits = httpx2.Limits(max_connections=len(offsets), max_keepalive_connections=len(offsets))
    async with httpx2.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(
            _user(http, base, *rng.choice(viewers), random.Random(rng.random()), began + offset,
                  stop_at, think, tally)
            for offset in offsets
        ))  # fmt: skip
    return tally


def _in_process(
    args: tuple[str, list[tuple[str, int]], list[float], float, tuple[float, float], int],
) -> Tally:
    return asyncio.run(_users(*args))


def drive(base: str, viewers: list[tuple[str, int]], args: argparse.Namespace) -> Tally:
    offsets = [args.ramp * i / max(1, args.users) for i in range(args.users)]
    groups = [offsets[i :: args.client_processes] for i in range(args.client_processes)]
    think = (args.think_min, args.think_max)
    jobs = [(base, viewers, g, args.duration, think, i) for i, g in enumerate(groups) if g]
    total = Tally()
    with ProcessPoolExecutor(len(jobs)) as pool:
        for tally in pool.map(_in_process, jobs):
            total.add(tally)
    return total


def report(tally: Tally, args: argparse.Namespace) -> dict[str, Any]:
    print(f"\n{args.users} users over {args.duration:g} s (ramp {args.ramp:g} s, think "
          f"{args.think_min:g}–{args.think_max:g} s), {args.workers} API processes:")  # fmt: skip
    figures: dict[str, Any] = {}
    every: list[float] = []
    for name in OPERATIONS:
        values = tally.latencies_ms.get(name, [])
        every += values
        row = {"requests": len(values), "errors": tally.errors.get(name, 0),
               "p50_ms": round(percentile(values, 50), 1), "p95_ms": round(percentile(values, 95), 1),
               "p99_ms": round(percentile(values, 99), 1)}  # fmt: skip
        figures[name] = row
        print(f"  {name:<14} {row['requests']:7,} requests  {row['errors']:4} errors   p50 "
              f"{row['p50_ms']:7.1f} ms  p95 {row['p95_ms']:7.1f} ms  p99 {row['p99_ms']:7.1f} ms")  # fmt: skip
    errors = sum(tally.errors.values())
    overall = {"requests": len(every), "errors": errors, "rps": round(len(every) / args.duration, 1),
               "p50_ms": round(percentile(every, 50), 1), "p95_ms": round(percentile(every, 95), 1),
               "p99_ms": round(percentile(every, 99), 1)}  # fmt: skip
    print(f"  {'all':<14} {overall['requests']:7,} requests  {errors:4} errors   p50 "
          f"{overall['p50_ms']:7.1f} ms  p95 {overall['p95_ms']:7.1f} ms  p99 {overall['p99_ms']:7.1f} ms"
          f"   ({overall['rps']:,} req/s)")  # fmt: skip
    for sample in tally.samples:
        print(f"  failure: {sample}")
    memory = shared.peak_mb()
    print(
        f"  peak memory: bench {memory['bench']} MB, largest server process {memory['server']} MB"
    )
    result = {"users": args.users, "duration_s": args.duration, "workers": args.workers, "pgbouncer": args.pgbouncer,
              "all": overall, "operations": figures, "peak_mb": memory}  # fmt: skip
    print(json.dumps(result))
    return result


def run(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="gridbill-load-") as tmp:
        settings = shared.settings_for(database_url, Path(tmp))
        print(f"loading {args.customers} demo customers and billing their months…", flush=True)
        prepared = asyncio.run(shared.prepare(settings, args.customers))
        viewers = shared.tokens(settings, prepared["viewers"])
        if not viewers:
            raise SystemExit("no issued bills: nothing to look at")
        print(f"  {prepared['bills']:,} bills for {len(viewers)} customers", flush=True)
        with contextlib.ExitStack() as stack:
            served, extra = settings, {}
            if args.pgbouncer:
                served, extra = stack.enter_context(through_pgbouncer(settings))
            base = stack.enter_context(
                shared.server("api.app:create_app", served, extra, workers=args.workers)
            )
            tally = drive(base, viewers, args)
        return report(tally, args)


@contextlib.contextmanager
def through_pgbouncer(settings: Any) -> Iterator[tuple[Any, dict[str, str]]]:
    """The servers' settings and environment for a PgBouncer in transaction mode.

    Queries go through the pooler; LISTEN and the job queue go to the server directly
    (``DATABASE_DIRECT_URL``), as docs/performance.md "Scale-out" says to deploy it.
    """
    from pgbouncer import TempPgBouncer

    direct = urlsplit(settings.database_url)
    with TempPgBouncer(direct.port or 5432) as bouncer:
        pooled = replace(settings, database_url=bouncer.url(direct.path.strip("/")))
        print(f"  through PgBouncer (transaction pooling) on port {bouncer.port}", flush=True)
        yield (
            pooled,
            {"DATABASE_DIRECT_URL": settings.database_url, "GRIDBILL_DB_POOLER": "transaction"},
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds to start every user")
    parser.add_argument("--think-min", type=float, default=1.0, help="least think time, s")
    parser.add_argument("--think-max", type=float, default=3.0, help="most think time, s")
    parser.add_argument("--customers", type=int, default=200, help="demo customers to load")
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--database-url", help="an empty, migrated PostgreSQL database to use")
    parser.add_argument(
        "--pgbouncer", action="store_true",
        help="serve through a throwaway PgBouncer in transaction pooling mode",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.database_url:
        result = run(args.database_url, args)
    else:
        result = shared.with_postgres_run(lambda url: run(url, args))
    return 1 if result["all"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Where one uncached ``myBills`` request spends its time: cProfile over the whole app.

    python bench/api_profile.py                       # 40 customers, 400 requests each way
    python bench/api_profile.py --requests 2000 --top 40 --save /tmp/api

It prepares the billed demo utility of ``bench/api.py`` (``bench.customer_app.prepare``)
on a throwaway PostgreSQL, then drives the real application (``api.app.create_app`` with
``GRIDBILL_API_CACHE_TTL=0``, its lifespan running: middleware, event bus, jobs) in this
process through an ASGI transport, one request at a time, beside the plain endpoint of
``bench/api.py``: the persisted bills query (``api.persisted_queries``) and the same
document through the general executor. No network and no concurrency: what it measures
is the server's CPU per request. It prints the mean time per request of each path, then
each GraphQL path's own time by component under cProfile (a built-in's time counted for
its callers' components, as is a standard-library helper's; the profiler slows
everything about twofold), and as its last
line one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.customer_app import (  # noqa: E402
    BILLS_QUERY,
    BILLS_VARIABLES,
    GENERAL_BILLS_QUERY,
    SECRET,
    billed_viewers,
    prepare,
    tokens,
    with_postgres_run,
)

# Where a function's own time goes: the first matching fragment of its file's path.
# Built-in functions (isinstance, socket.send…) count for the component that called them.
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("bench client (httpx, not the server)", ("httpx2/", "httpcore", "bench/", "<frozen")),
    ("waiting for the database (epoll, not CPU)", ("select.epoll",)),
    ("database driver and socket I/O", ("asyncpg/", "aiosqlite/", "_socket")),
    ("ORM (tortoise, pypika)", ("tortoise/", "pypika_tortoise/")),
    ("parsing GraphQL text", ("graphql/language/",)),
    ("auth (JWT decode, token standing)", ("jwt/", "api/auth.py", "services/identity/",
                                           "cryptography/")),
    ("middleware and routing (request id, metrics, body limit)",
     ("starlette/", "api/http.py", "api/metrics.py", "api/limits.py", "prometheus_client/")),
    ("HTTP view, context, extensions (strawberry)",
     ("strawberry/http/", "strawberry/asgi/", "cross_web/", "api/app.py", "api/context.py",
      "api/request_body.py", "strawberry/extensions/", "api/input_limits.py",
      "api/introspection.py", "api/errors.py", "strawberry/schema/schema.py")),
    ("fast path (api.persisted_queries)", ("api/persisted_queries.py",)),
    ("executor and field resolution (graphql-core, strawberry, resolvers)",
     ("graphql/", "strawberry/", "api/", "services/viewer.py", "domain/")),
    ("JSON", ("json/",)),
    ("event loop", ("asyncio/", "contextvars")),
]  # fmt: skip


def component(filename: str, name: str) -> str:
    where = f"{filename}:{name}"
    for label, fragments in COMPONENTS:
        if any(fragment in where for fragment in fragments):
            return label
    return "other"


def _helper(filename: str, name: str) -> bool:
    """Built-ins and the standard library's small helpers (copy, contextlib, typing…): their
    time counts for whoever called them. The event loop, JSON and socket calls do not."""
    if "socket" in name or "epoll" in name:
        return False
    stdlib = "/lib/python3" in filename and "site-packages" not in filename
    own_component = any(part in filename for part in ("asyncio/", "json/", "selectors"))
    return filename == "~" or filename.startswith("<frozen") or (stdlib and not own_component)


def breakdown(stats: pstats.Stats, requests: int) -> dict[str, float]:
    """Mean ms of own time per request by component; a helper's time goes to its callers."""
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    memo: dict[Any, dict[str, float]] = {}

    def shares(function: Any, depth: int = 0) -> dict[str, float]:
        """How ``function``'s own time divides among components (fractions summing to 1)."""
        filename, _, name = function
        if not _helper(filename, name) or depth > 8 or function not in raw:
            return {component(filename, name): 1.0}
        if function not in memo:
            memo[function] = {}  # a cycle resolves to nothing rather than forever
            callers = {caller: t[2] for caller, t in raw[function][4].items()}
            total = sum(callers.values())
            out: dict[str, float] = {}
            for caller, spent in callers.items():
                for label, fraction in shares(caller, depth + 1).items():
                    out[label] = out.get(label, 0.0) + fraction * (spent / total if total else 0)
            memo[function] = out or {"other": 1.0}
        return memo[function]

    out: dict[str, float] = {}
    for function, (_, _, own, _, _) in raw.items():
        for label, fraction in shares(function).items():
            out[label] = out.get(label, 0.0) + own * fraction
    ordered = sorted(out.items(), key=lambda kv: -kv[1])
    return {label: round(seconds / requests * 1000, 3) for label, seconds in ordered}


async def drive(settings: Any, viewers: list[tuple[str, int]], requests: int) -> dict[str, Any]:
    """Time each path over the same customers in turn, then profile the GraphQL ones."""
    import httpx2

    from api.app import create_app
    from bench.api import plain_app

    app = create_app(settings)
    rng = random.Random(1)
    order = [rng.choice(viewers)[0] for _ in range(requests)]
    async with app.router.lifespan_context(app):
        graphql_client = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://bench"
        )
        plain_client = httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=plain_app()), base_url="http://bench"
        )

        def graphql(query: str) -> Callable[[str], Awaitable[None]]:
            async def ask(token: str) -> None:
                r = await graphql_client.post(
                    "/graphql", json={"query": query, "variables": BILLS_VARIABLES},
                    headers={"Authorization": f"Bearer {token}"},
                )  # fmt: skip
                assert r.status_code == 200 and b'"errors"' not in r.content, r.text[:500]

            return ask

        async def plain_bills(token: str) -> None:
            r = await plain_client.get("/plain/bills", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, r.text[:500]

        paths = {
            "plain-bills": plain_bills,
            "graphql-bills (no cache)": graphql(BILLS_QUERY),
            "graphql-bills (no cache, general executor)": graphql(GENERAL_BILLS_QUERY),
        }
        for call in paths.values():  # warm every path (pool, caches, lazy imports)
            for token in order[:50]:
                await call(token)
        # the paths take turns request by request, so a busy machine slows them alike
        timings = dict.fromkeys(paths, 0.0)
        for token in order:
            for name, call in paths.items():
                started = time.perf_counter()
                await call(token)
                timings[name] += (time.perf_counter() - started) / requests * 1000
        profiles: dict[str, cProfile.Profile] = {}
        for name, call in list(paths.items())[1:]:
            profiler = profiles[name] = cProfile.Profile()
            profiler.enable()
            for token in order:
                await call(token)
            profiler.disable()
        await graphql_client.aclose()
        await plain_client.aclose()
    return {"ms_per_request": {k: round(v, 3) for k, v in timings.items()}, "profiles": profiles}


async def _billed_viewers(settings: Any) -> list[tuple[int, int, int]]:
    from store.db import open_database

    async with open_database(settings.database_url):
        return (await billed_viewers())[1]


def run(database_url: str, args: argparse.Namespace) -> dict[str, Any]:
    from gridbill.settings import get_settings

    with tempfile.TemporaryDirectory(prefix="gridbill-api-profile-") as tmp:
        # the plain app reads the process's settings: the same ones, as the servers' env
        os.environ.update(
            DATABASE_URL=database_url, GRIDBILL_SECRET_KEY=SECRET, GRIDBILL_VAR_DIR=tmp,
            GRIDBILL_LOG_LEVEL="WARNING", GRIDBILL_API_CACHE_TTL="0",
        )  # fmt: skip
        get_settings.cache_clear()
        settings = get_settings()
        if args.prepared:
            viewers = tokens(settings, asyncio.run(_billed_viewers(settings))[: args.viewers])
        else:
            print(f"loading {args.customers} demo customers and billing their months…", flush=True)
            prepared = asyncio.run(prepare(settings, args.customers))
            viewers = tokens(settings, prepared["viewers"][: args.viewers])
        return asyncio.run(drive(settings, viewers, args.requests))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--viewers", type=int, default=30)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--top", type=int, default=0, help="also list this many functions")
    parser.add_argument(
        "--database-url", help="an empty, migrated PostgreSQL database to use as is"
    )
    parser.add_argument(
        "--prepared", action="store_true",
        help="the database already holds the billed demo (a run of bench/api.py on it)",
    )  # fmt: skip
    parser.add_argument("--save", help="write the raw profiles to SAVE.general and SAVE.persisted")
    args = parser.parse_args(argv)
    if args.database_url:
        result = run(args.database_url, args)
    else:
        result = with_postgres_run(lambda url: run(url, args))
    profiles = result.pop("profiles")
    components: dict[str, dict[str, float]] = {}
    for name, profile in profiles.items():
        stats = pstats.Stats(profile, stream=(text := io.StringIO()))
        if args.top:
            stats.sort_stats("tottime").print_stats(args.top)
            print(f"{name}:\n{text.getvalue()}")
        if args.save:
            profile.dump_stats(f"{args.save}.{'general' if 'general' in name else 'persisted'}")
        components[name] = breakdown(stats, args.requests)
    print("mean ms per request, one at a time, the paths taking turns, no profiler:")
    for name, ms in result["ms_per_request"].items():
        print(f"  {name:<48} {ms:8.3f}")
    for name, parts in components.items():
        print(f"{name}, by component (own time under cProfile, ms per request):")
        for label, ms in parts.items():
            print(f"  {label:<68} {ms:7.3f}")
    print(json.dumps({**result, "components_ms": components}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

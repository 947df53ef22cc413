"""``/metrics`` in Prometheus' text format, correct with several server processes.

Two kinds of figures:

* **Per request**, counted by :class:`MetricsMiddleware` in the process that served it:
  requests and latency per route (the route's template, e.g. ``/bills/{bill_id}/pdf``,
  so ids never become labels) and per GraphQL operation (its type and root field, e.g.
  ``query myBills``: bounded by the schema, unlike client-chosen operation names).
  Webhook failures are the webhook route's non-2xx answers. With ``gridbill serve
  --workers N`` each process writes its counters to files in ``PROMETHEUS_MULTIPROC_DIR``
  (prometheus_client's multiprocess mode, set up by the serve command) and whichever
  process answers a scrape adds them all up.
* **Of the installation**, read from the database at scrape time: job queue depth and
  the oldest waiting job's age, bill-run progress, the notification outbox backlog,
  field-sync push results, open VEE exceptions, and the PostgreSQL pool in use.

In production the endpoint needs ``Authorization: Bearer <GRIDBILL_METRICS_TOKEN>``
(and answers 404 when no token is set, so it is never public by accident). Which alerts
to set on these: docs/operations.md, "Monitoring".
"""

from __future__ import annotations

import hmac
import json
import os
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, parse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.connection import get_connection

from gridbill.settings import Settings

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
GRAPHQL_BODY_MAX = 1 << 20
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "gridbill_http_requests_total", "HTTP requests answered", ("route", "method", "status")
)
LATENCY = Histogram(
    "gridbill_http_request_seconds", "Time to answer an HTTP request", ("route",), buckets=BUCKETS
)
OPERATIONS = Counter(
    "gridbill_graphql_operations_total", "GraphQL operations answered", ("operation", "status")
)
OPERATION_LATENCY = Histogram(
    "gridbill_graphql_operation_seconds", "Time to answer a GraphQL operation", ("operation",),
    buckets=BUCKETS,
)  # fmt: skip


def route_label(routes: list[BaseRoute], scope: Scope) -> str:
    """The matching route's template; unmatched paths share one label."""
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            if isinstance(route, Mount):
                return (
                    route.path_format
                    + "/"
                    + route_label(route.routes, {**scope, **child}).lstrip("/")
                )
            return str(getattr(route, "path_format", None) or getattr(route, "path", "?"))
    return "unmatched"


LABEL_MAX_TOKENS = 2_000
"""A label needs the first root field only; a longer document is not parsed twice here."""


def operation_label(body: bytes) -> str:
    """``query myBills``: the operation's type and first root field, or ``invalid``."""
    try:
        payload = json.loads(body)
        query, wanted = payload["query"], payload.get("operationName")
        if isinstance(query, str) and (wanted is None or isinstance(wanted, str)):
            if len(query) > CACHED_LABEL_MAX_CHARS:
                return document_label(query, wanted)
            return cached_document_label(query, wanted)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        pass  # not JSON, not an object with a query, or nested past recursion
    return "invalid"


def document_label(query: str, wanted: str | None) -> str:
    """The label of one query text (``operationName`` ``wanted``), or ``invalid``."""
    try:
        document = parse(query, no_location=True, max_tokens=LABEL_MAX_TOKENS)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode) and (
                wanted is None or (definition.name and definition.name.value == wanted)
            ):
                first = definition.selection_set.selections[0]
                if isinstance(first, FieldNode):
                    return f"{definition.operation.value} {first.name.value}"
    except (TypeError, AttributeError, IndexError, GraphQLError):
        pass
    except RecursionError:  # hostile nesting: the GraphQL endpoint refuses it with a 400
        pass
    return "invalid"


CACHED_LABEL_MAX_CHARS = 8_192
"""Texts up to this size have their label cached (512 of them: at most 4 MB a process)."""

cached_document_label = lru_cache(maxsize=512)(document_label)
"""Clients send the same few documents again and again, and parsing one was a tenth of an
uncached ``myBills`` request (docs/performance.md, "Where a GraphQL request's time goes")."""


class MetricsMiddleware:
    """Count and time every HTTP request by route, and GraphQL posts by operation."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = route_label(self.routes, scope)
        started = time.perf_counter()
        status = 500
        body = bytearray()
        graphql = route == "/graphql" and scope["method"] == "POST"

        async def receiving() -> Message:
            message = await receive()
            if graphql and message["type"] == "http.request" and len(body) < GRAPHQL_BODY_MAX:
                body.extend(message.get("body", b""))
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receiving if graphql else receive, sending)
        finally:
            elapsed = time.perf_counter() - started
            REQUESTS.labels(route, scope["method"], str(status)).inc()
            LATENCY.labels(route).observe(elapsed)
            if graphql:
                operation = operation_label(bytes(body))
                OPERATIONS.labels(operation, str(status)).inc()
                OPERATION_LATENCY.labels(operation).observe(elapsed)


# --- figures read from the database at scrape time --------------------------------------

QUEUE_PG = """
SELECT count(*) AS depth,
       COALESCE(EXTRACT(EPOCH FROM now() - min(COALESCE(j.scheduled_at, e.at))), 0) AS age
FROM procrastinate_jobs j
LEFT JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
"""
RUNNING_JOBS = "SELECT count(*) AS depth FROM job_runs WHERE finished_at IS NULL"
BILL_RUNS = """
SELECT r.id, c.code, r.period_start, r.status, r.accounts_total, r.bills_created, r.skip_reasons
FROM bill_runs r JOIN billing_cycles c ON c.id = r.cycle_id
WHERE r.status IN ('pending', 'running', 'failed') OR r.id IN (SELECT max(id) FROM bill_runs)
"""
OUTBOX = """
SELECT count(*) AS backlog, min(created_at) AS oldest FROM outbox_messages WHERE status = 'pending'
"""
SYNC_RESULTS = "SELECT result, count(*) AS n FROM sync_items GROUP BY result"
OPEN_EXCEPTIONS = "SELECT count(*) AS n FROM validation_exceptions WHERE status = 'open'"


class Installation:
    """A collector of figures fetched just before the scrape (collectors are synchronous)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> list[Metric]:
        return self.metrics


async def installation_metrics(settings: Settings) -> list[Metric]:
    conn = get_connection("default")
    rows = conn.execute_query_dict
    out: list[Metric] = []
    if settings.is_postgres:
        queue = (await rows(QUEUE_PG))[0]
        age = float(queue["age"] or 0)
    else:
        queue, age = (await rows(RUNNING_JOBS))[0], 0.0
    out.append(
        GaugeMetricFamily(
            "gridbill_job_queue_depth", "Jobs waiting to run", value=int(queue["depth"])
        )
    )
    out.append(
        GaugeMetricFamily(
            "gridbill_job_queue_oldest_seconds", "Age of the oldest waiting job", value=age
        )
    )
    total = GaugeMetricFamily(
        "gridbill_bill_run_accounts", "Accounts in a bill run", labels=("cycle", "period", "status")
    )
    done = GaugeMetricFamily(
        "gridbill_bill_run_accounts_done",
        "Accounts a bill run has billed or skipped",
        labels=("cycle", "period", "status"),
    )
    for run in await rows(BILL_RUNS):
        labels = (run["code"], str(run["period_start"])[:7], str(run["status"]))
        skips = run["skip_reasons"]
        skipped = sum((json.loads(skips) if isinstance(skips, str) else skips or {}).values())
        total.add_metric(labels, int(run["accounts_total"]))
        done.add_metric(labels, int(run["bills_created"]) + skipped)
    out += [total, done]
    outbox = (await rows(OUTBOX))[0]
    out.append(
        GaugeMetricFamily(
            "gridbill_outbox_backlog",
            "Notifications waiting to be sent",
            value=int(outbox["backlog"]),
        )
    )
    oldest = outbox["oldest"]
    age_s = 0.0
    if oldest is not None:
        from datetime import UTC, datetime

        if isinstance(oldest, str):
            oldest = datetime.fromisoformat(oldest)
        age_s = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
    out.append(
        GaugeMetricFamily(
            "gridbill_outbox_oldest_seconds", "Age of the oldest waiting notification", value=age_s
        )
    )
    sync = CounterMetricFamily(
        "gridbill_sync_push_items", "Field-sync items pushed, by result", labels=("result",)
    )
    for row in await rows(SYNC_RESULTS):
        sync.add_metric((str(row["result"]),), int(row["n"]))
    out.append(sync)
    vee = (await rows(OPEN_EXCEPTIONS))[0]
    out.append(
        GaugeMetricFamily(
            "gridbill_vee_exceptions_open", "VEE exceptions waiting for staff", value=int(vee["n"])
        )
    )
    pool = getattr(conn, "_pool", None)
    if pool is not None:
        size = pool.get_size()
        out.append(
            GaugeMetricFamily(
                "gridbill_db_pool_size", "Database connections open in this process", value=size
            )
        )
        out.append(
            GaugeMetricFamily(
                "gridbill_db_pool_in_use",
                "Database connections in use in this process",
                value=size - pool.get_idle_size(),
            )
        )
        out.append(
            GaugeMetricFamily(
                "gridbill_db_pool_max",
                "Largest pool allowed (GRIDBILL_DB_POOL_MAX)",
                value=settings.db_pool_max,
            )
        )
    return out


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """``GET /metrics``: the token check, then every process's counters and the DB's figures."""

    async def endpoint(request: Request) -> Response:
        token = settings.metrics_token
        if settings.is_production and not token:
            return PlainTextResponse("not found\n", status_code=404)
        if token:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                return PlainTextResponse(
                    "send Authorization: Bearer <GRIDBILL_METRICS_TOKEN>\n", status_code=401
                )
        registry = CollectorRegistry()
        if os.environ.get(MULTIPROCESS_ENV):
            prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            for metric in (REQUESTS, LATENCY, OPERATIONS, OPERATION_LATENCY):
                registry.register(metric)
        registry.register(Installation(await installation_metrics(settings)))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return endpoint


def prepare_multiprocess(directory: Any) -> None:
    """Before uvicorn starts several processes: an empty directory for their counter files."""
    import shutil

    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(directory)

"""The ASGI application factory: GraphQL, partner tokens, bill PDFs, health probes, lifespan.

Routes:

* ``/graphql``: GET and POST (GraphiQL in a browser when ``GRIDBILL_GRAPHIQL`` is on),
  and WebSocket (graphql-transport-ws only, authenticated in ``connection_init`` and
  re-checked for every operation: ``api.sockets``);
* ``POST /oauth/token``: partner applications' client credentials grant;
* ``GET /bills/{id}/pdf``: a bill's PDF through a signed, expiring link;
* ``/graphiql-assets/…``: GraphiQL's JavaScript and CSS, shipped in the package so the
  page works offline (``api.graphiql``; only when ``GRIDBILL_GRAPHIQL`` is on);
* ``/console/``: the staff console (``console``, docs/console.md);
* ``/healthz`` (liveness) and ``/readyz`` (readiness: the database answers).

A customer app's persisted query is answered by ``api.persisted_queries`` without the
general executor (the same SQL and the same JSON); every other request is executed.

Middleware: a request id on every request, and a cap on request bodies (413). A bug
outside GraphQL is answered by :func:`last_resort`: 500 with the request id, never a
traceback.
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from cross_web import AsyncHTTPRequestAdapter  # strawberry's own HTTP adapter package
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UnsetType

from api import persisted_queries
from api.auth import authenticate, bearer_token, token_from_connection_params
from api.cache import ResponseCache
from api.context import Context
from api.graphiql import PAGE as GRAPHIQL_PAGE
from api.graphiql import assets_mount as graphiql_assets
from api.http import RequestIdMiddleware, bill_pdf_endpoint, oauth_token_endpoint
from api.ingest_route import ingest_route
from api.limits import BodySizeLimit
from api.metrics import MetricsMiddleware, metrics_endpoint
from api.request_body import parse_graphql_json
from api.schema.root import schema
from api.sockets import SessionBoundSocket
from api.unsubscribe_route import unsubscribe_route
from api.webhooks_route import webhook_routes
from console.routes import console_mount
from gridbill import logs
from gridbill.request_id import request_id as request_id_var
from gridbill.settings import Settings, get_settings
from jobs.runtime import background_jobs
from services import events
from services.identity import token_standing
from services.identity.tokens import InvalidToken
from store.db import DatabaseUnavailable, open_database, ping
from sync.routes import sync_routes

log = logging.getLogger(__name__)


class GridbillGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SessionBoundSocket

    def __init__(self, settings: Settings, cache: ResponseCache) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            max_subscriptions_per_connection=None,  # SessionBoundSocket applies the setting
        )
        self.settings = settings
        self.cache = cache

    @property
    def graphql_ide_html(self) -> str:
        """GraphiQL with its assets from this server (api.graphiql), never from a CDN."""
        return GRAPHIQL_PAGE

    def parse_json(self, data: str | bytes) -> Any:
        """A JSON object of bounded depth, or a 400 saying what is wrong (api.request_body)."""
        return parse_graphql_json(data)

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        context = Context(
            settings=self.settings,
            request=request,
            response=response if isinstance(response, Response) else None,
            request_id=request_id_var.get(),
        )
        if isinstance(request, Request):
            try:
                token = bearer_token(request.headers.get("authorization"))
                if token:
                    context.viewer = await authenticate(self.settings, token)
            except InvalidToken as exc:
                context.auth_error = str(exc)
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """A socket opens with the access token in ``connection_init`` (then api.sockets)."""
        try:
            token = token_from_connection_params(context.connection_params)
            if not token:
                raise InvalidToken("send the access token in connection_init")
            context.viewer = await authenticate(self.settings, token)
        except InvalidToken:
            raise ConnectionRejectionError from None
        return {"viewer": context.viewer.audit_label}

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        key = None
        if request_adapter.method == "POST":
            key = self.cache.key(
                context.viewer,
                request_data.query,
                request_data.operation_name,
                request_data.variables,
            )
        if key is not None:
            cached = self.cache.get(key)
            if cached is not None:
                return ExecutionResult(data=cached, errors=None)
            generation = self.cache.generation(key[0])
        fast = await persisted_queries.answer(
            context.viewer, request_data.query, request_data.operation_name, request_data.variables
        )
        if fast is not None:
            result = ExecutionResult(data=fast, errors=None)
        else:
            result = await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        if key is not None and not result.errors and result.data is not None:
            self.cache.put(key, generation, result.data)
        return result


async def healthz(_: Request) -> JSONResponse:
    """Liveness: the process answers. Never touches the database."""
    return JSONResponse({"status": "alive"})


async def readyz(_: Request) -> JSONResponse:
    """Readiness: the database answers a query, so traffic can be sent here."""
    try:
        await ping()
    except DatabaseUnavailable:
        return JSONResponse({"status": "unavailable", "database": False}, status_code=503)
    return JSONResponse({"status": "ready", "database": True})


async def last_resort(request: Request, exc: Exception) -> JSONResponse:
    """A bug outside GraphQL (which masks its own): 500 with the request id, no traceback.

    Starlette logs the traceback after this answer is sent, under the same request id.
    """
    request_id = str(request.scope.get("state", {}).get("request_id", ""))
    log.error("unhandled error on %s [request %s]", request.url.path, request_id)
    return JSONResponse(
        {"error": "internal server error", "requestId": request_id},
        status_code=500,
        headers={"X-Request-ID": request_id} if request_id else None,
    )


@contextlib.contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """Leave what start-up built (modules, schema, routes: some 200,000 objects) out of
    every garbage collection while the app serves. Python's full collections scan every
    tracked object, so a request that allocates a lot (a sync push of 5,000 items) paid
    about a quarter of its CPU time rescanning the start-up heap (docs/performance.md,
    "Sync push"). Unfrozen when the app stops, so a process that starts apps again and
    again (the tests) keeps nothing from one to the next."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; raises ConfigError before anything starts if settings are bad."""
    settings = settings or get_settings()
    if not logs.configured():  # a server process started by uvicorn --workers N
        logs.configure(settings)
    cache = ResponseCache(ttl_s=min(settings.api_cache_ttl_s, settings.download_link_ttl_s // 2))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with (
            open_database(settings.database_url, pool_max=settings.db_pool_max),
            background_jobs(settings),
            events.event_bus(settings) as hub,
        ):
            hub.listeners.append(cache.on_event)
            hub.listeners.append(token_standing.on_event)
            with startup_heap_frozen() if settings.is_production else contextlib.nullcontext():
                log.info("gridbill ready on %s", "PostgreSQL" if settings.is_postgres else "SQLite")
                yield {}

    graphql = GridbillGraphQL(settings, cache)
    routes = [
        Route("/healthz", healthz),
        Route("/metrics", metrics_endpoint(settings), methods=["GET"]),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        *([graphiql_assets()] if settings.graphiql else []),
        WebSocketRoute("/graphql", graphql),
        Route("/oauth/token", oauth_token_endpoint(settings), methods=["POST"]),
        Route("/bills/{bill_id:int}/pdf", bill_pdf_endpoint(settings), methods=["GET"]),
        *webhook_routes(settings),
        ingest_route(settings),
        Mount("/sync", routes=sync_routes(settings)),
        unsubscribe_route(settings),
        console_mount(settings),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestIdMiddleware),
            Middleware(MetricsMiddleware, routes=routes),
            Middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes),
        ],
        lifespan=lifespan,
        exception_handlers={Exception: last_resort},
    )
    app.state.response_cache = cache
    return app

"""The ASGI application factory: GraphQL, health probes and the lifespan that owns resources."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from api.context import Context
from api.schema.root import schema
from gridbill.settings import Settings, get_settings
from jobs.runtime import background_jobs
from store.db import DatabaseUnavailable, open_database, ping

log = logging.getLogger(__name__)


class GridbillGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings) -> None:
        super().__init__(schema, graphql_ide="graphiql")
        self.settings = settings

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        return Context(
            settings=self.settings,
            request=request,
            response=response if isinstance(response, Response) else None,
        )


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


def create_app(settings: Settings | None = None) -> Starlette:
    """Build the app; raises ConfigError before anything starts if settings are bad."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[dict[str, Any]]:
        async with (
            open_database(settings.database_url, pool_max=settings.db_pool_max),
            background_jobs(settings),
        ):
            log.info("gridbill ready on %s", "PostgreSQL" if settings.is_postgres else "SQLite")
            yield {}

    graphql = GridbillGraphQL(settings)
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )

"""Resolves ``Query.health``: a database round trip, reported rather than raised."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.schema.health import Health
from gridbill import __version__
from store.db import DatabaseUnavailable, ping


async def resolve_health(info: strawberry.Info[Context, None]) -> Health:
    settings = info.context.settings
    try:
        await ping()
        reachable = True
    except DatabaseUnavailable:
        reachable = False
    return Health(
        status="ok" if reachable else "degraded",
        database="postgresql" if settings.is_postgres else "sqlite",
        database_reachable=reachable,
        version=__version__,
        utility_name=settings.utility_name,
        time_zone=settings.time_zone,
    )

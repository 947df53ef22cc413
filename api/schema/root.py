"""The one GraphQL schema: root types assembled from each area's resolvers."""

from __future__ import annotations

import strawberry

from api.resolvers.health import resolve_health
from api.schema.health import Health


@strawberry.type
class Query:
    health: Health = strawberry.field(
        resolver=resolve_health, description="Server and database status. Needs no sign-in."
    )


schema = strawberry.Schema(query=Query)

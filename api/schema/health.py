"""Types for liveness and readiness, the one query every client can make unauthenticated."""

from __future__ import annotations

import strawberry


@strawberry.type(description="Whether this server and its database are working.")
class Health:
    status: str = strawberry.field(description="`ok` when the database answered, else `degraded`.")
    database: str = strawberry.field(description="`sqlite` or `postgresql`.")
    database_reachable: bool
    version: str
    utility_name: str
    time_zone: str = strawberry.field(description="IANA zone bills are computed in.")

"""The audit log for staff: who changed what, newest first, filtered."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import parse_id
from api.schema.audit import AuditEntryType
from api.schema.common import Connection
from api.schema.decorators import field
from domain.access import Operation
from store.models import AuditLog

Info = strawberry.Info[Context, None]


@strawberry.type
class AuditQueries:
    @field(
        description="Who changed what, newest first; filter by entity (and id) or actor.",
        extensions=requires(Operation.READ_AUDIT_LOG),
    )
    async def audit_log(
        self, info: Info, first: int | None = None, after: str | None = None,
        entity: str | None = None, entity_id: str | None = None, actor_id: strawberry.ID | None = None,
        action: str | None = None,
    ) -> Connection[AuditEntryType]:  # fmt: skip
        queryset = AuditLog.all()
        if entity:
            queryset = queryset.filter(entity=entity)
        if entity_id:
            queryset = queryset.filter(entity_id=entity_id)
        if actor_id:
            queryset = queryset.filter(actor_id=parse_id(actor_id, "user"))
        if action:
            queryset = queryset.filter(action__startswith=action)
        return await paginate(queryset, first=first, after=after)

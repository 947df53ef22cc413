"""The audit log as staff read it: who changed what, when and why."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import ID
from strawberry.scalars import JSON

from api.context import Context
from api.schema.identity import UserType

Info = strawberry.Info[Context, None]


@strawberry.type(name="AuditEntry", description="Who changed what, when and why.")
class AuditEntryType:
    id: ID
    at: datetime
    actor_label: str
    action: str
    entity: str
    entity_id: str
    before: JSON | None
    after: JSON | None
    reason: str
    request_id: str

    @strawberry.field
    async def actor(self, info: Info) -> UserType | None:
        actor_id = self.actor_id  # type: ignore[attr-defined]
        return await info.context.loaders.user.load(actor_id) if actor_id else None  # type: ignore[return-value]

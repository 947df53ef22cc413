"""The audit log: who changed what, when and why, written in the change's own transaction.

Call :func:`record` inside the transaction that makes the change, so there is an audit
row exactly when the change committed. The request id comes from :data:`request_id`,
which the API sets for each request, so a log line and an audit row can be matched.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from gridbill.request_id import request_id
from store.models import AuditLog

if TYPE_CHECKING:
    from services.viewer import Viewer


def _plain(value: Any) -> Any:
    """A JSON-safe copy: dates as ISO strings, decimals and UUIDs as strings."""

    def default(v: object) -> object:
        if isinstance(v, datetime | date):
            return v.isoformat()
        if isinstance(v, Decimal | UUID):
            return str(v)
        if isinstance(v, Enum):
            return v.value
        if isinstance(v, set | frozenset | tuple):
            return sorted(v) if isinstance(v, set | frozenset) else list(v)
        raise TypeError(f"cannot audit a {type(v).__name__}")

    return None if value is None else json.loads(json.dumps(value, default=default))


async def record(
    *,
    action: str,
    entity: str,
    entity_id: int | str,
    viewer: Viewer | None = None,
    actor_id: int | None = None,
    actor_label: str = "",
    before: Any = None,
    after: Any = None,
    reason: str = "",
) -> AuditLog:
    """Write one audit row (inside the caller's transaction, if there is one)."""
    if viewer is not None:
        actor_id = actor_id or viewer.user_id
        actor_label = actor_label or viewer.audit_label
    return await AuditLog.create(
        actor_id=actor_id,
        actor_label=actor_label[:100],
        action=action[:60],
        entity=entity[:40],
        entity_id=str(entity_id)[:40],
        before=_plain(before),
        after=_plain(after),
        reason=reason,
        request_id=request_id.get()[:40],
    )

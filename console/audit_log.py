"""The audit log: who changed what, newest first, filtered by action, entity or actor."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.pages import Console, Form
from console.session import Staff
from store.models import AuditLog

PAGE_ROWS = 100


async def audit_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    params = request.query_params
    filters = {k: params.get(k, "").strip() for k in ("action", "entity", "entity_id", "actor")}
    query = AuditLog.all()
    if filters["action"]:
        query = query.filter(action__istartswith=filters["action"])
    if filters["entity"]:
        query = query.filter(entity=filters["entity"])
    if filters["entity_id"]:
        query = query.filter(entity_id=filters["entity_id"])
    if filters["actor"]:
        query = query.filter(actor_label__istartswith=filters["actor"])
    before = params.get("before", "")
    if before.isdigit():
        query = query.filter(id__lt=int(before))
    rows = await query.order_by("-id").limit(PAGE_ROWS)
    older = rows[-1].id if len(rows) == PAGE_ROWS else None
    return console.render(
        "audit.html", staff, audit=rows, filters=filters, older=older, zone=console.settings.zone
    )

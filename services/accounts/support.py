"""Support requests: customers open, reply and close; staff answer, note and resolve.

A request is numbered ``SR/2026-27/000042`` from a gapless counter. Staff-only notes
(``is_internal``) are never shown to the customer. A customer's reply reopens a request
that was waiting for them; a closed request takes no more messages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from domain.enums import SupportStatus
from gridbill.settings import Settings
from services import audit
from services.errors import NotFound, Refused
from services.notifications.outbox import notify_customer
from services.numbering import take_one
from services.viewer import Viewer
from store.models import AccountHolder, SupportMessage, SupportRequest

CATEGORIES = ("billing", "outage", "meter", "payment", "other")
MAX_BODY = 5000


OPEN_STATES = (SupportStatus.OPEN, SupportStatus.AWAITING_CUSTOMER)


def sla_for(settings: Settings, category: str) -> timedelta:
    """How long the utility gives itself to resolve a request of ``category``."""
    hours = dict(settings.support_sla_hours)
    return timedelta(hours=hours.get(category, hours["*"]))


def sla_breached(request: SupportRequest, now: datetime) -> bool:
    """Still open (or waiting for the customer) after its SLA due time."""
    return (
        request.sla_due_at is not None
        and request.status in OPEN_STATES
        and request.sla_due_at < now
    )


def breaches(now: datetime) -> QuerySet[SupportRequest]:
    """Requests past their SLA due time and not yet resolved: staff's list."""
    return SupportRequest.filter(status__in=OPEN_STATES, sla_due_at__lt=now)


def _body(body: str) -> str:
    text = body.strip()
    if not text:
        raise Refused("INVALID_INPUT", "write a message", field="body")
    if len(text) > MAX_BODY:
        raise Refused("INVALID_INPUT", f"keep messages under {MAX_BODY} characters", field="body")
    return text


async def open_request(
    viewer: Viewer,
    *,
    customer_id: int,
    account_id: int | None,
    category: str,
    subject: str,
    body: str,
    settings: Settings | None = None,
) -> SupportRequest:
    """Open a request; with ``settings`` it gets its SLA due time (GRIDBILL_SUPPORT_SLA)."""
    if category not in CATEGORIES:
        raise Refused(
            "INVALID_INPUT", f"category must be one of {', '.join(CATEGORIES)}", field="category"
        )
    subject = subject.strip()
    if not subject or len(subject) > 200:
        raise Refused("INVALID_INPUT", "give a subject of at most 200 characters", field="subject")
    text = _body(body)
    if account_id is not None and not await AccountHolder.exists(
        account_id=account_id, customer_id=customer_id
    ):
        raise NotFound("account", field="accountId")
    now = datetime.now(UTC)
    async with in_transaction():
        number = await take_one("support", now.date())
        request = await SupportRequest.create(
            number=number, customer_id=customer_id, account_id=account_id, category=category,
            subject=subject, sla_due_at=now + sla_for(settings, category) if settings else None,
        )  # fmt: skip
        await SupportMessage.create(request=request, author_id=viewer.user_id, body=text)
        await audit.record(
            viewer=viewer, action="support.opened", entity="support_request", entity_id=request.id
        )
    return request


async def visible_request(viewer: Viewer, request_id: int) -> SupportRequest:
    """The request if this viewer may see it (its customer, or staff), else NotFound."""
    request = await SupportRequest.get_or_none(id=request_id)
    if request is None or not (viewer.is_staff or request.customer_id == viewer.customer_id):  # type: ignore[attr-defined]
        raise NotFound("support request", field="requestId")
    return request


async def reply(
    viewer: Viewer, *, request_id: int, body: str, internal: bool = False
) -> SupportMessage:
    text = _body(body)
    async with in_transaction():
        request = await visible_request(viewer, request_id)
        if request.status == SupportStatus.CLOSED:
            raise Refused("INVALID_STATE", "the request is closed: open a new one")
        if internal and not viewer.is_staff:
            raise Refused("INVALID_INPUT", "only staff can write internal notes", field="internal")
        message = await SupportMessage.create(
            request=request, author_id=viewer.user_id, body=text, is_internal=internal
        )
        status = request.status
        if not internal:
            if viewer.is_staff and status == SupportStatus.OPEN:
                status = SupportStatus.AWAITING_CUSTOMER
            elif not viewer.is_staff and status in (
                SupportStatus.AWAITING_CUSTOMER,
                SupportStatus.RESOLVED,
            ):
                status = SupportStatus.OPEN
        await SupportRequest.filter(id=request.id).update(
            status=status, updated_at=datetime.now(UTC)
        )
        if viewer.is_staff:
            await audit.record(
                viewer=viewer, action="support.replied", entity="support_request",
                entity_id=request.id, after={"internal": internal, "status": status},
            )  # fmt: skip
            if not internal:
                await _notify_customer(request, f"message:{message.id}", status, replied=True)
    return message


async def set_status(viewer: Viewer, *, request_id: int, status: SupportStatus) -> SupportRequest:
    """Customers may only close; staff may move a request to any status."""
    async with in_transaction():
        request = await visible_request(viewer, request_id)
        if not viewer.is_staff and status != SupportStatus.CLOSED:
            raise Refused(
                "INVALID_INPUT", "you can close a request, staff change its status", field="status"
            )
        if request.status == SupportStatus.CLOSED:
            raise Refused("INVALID_STATE", "the request is already closed")
        now = datetime.now(UTC)
        await SupportRequest.filter(id=request.id).update(
            status=status, closed_at=now if status == SupportStatus.CLOSED else None, updated_at=now
        )
        await audit.record(
            viewer=viewer, action="support.status_changed", entity="support_request",
            entity_id=request.id, before={"status": request.status}, after={"status": status},
        )  # fmt: skip
        if viewer.is_staff and status != request.status:
            changes = await SupportRequest.filter(id=request.id).values_list(
                "updated_at", flat=True
            )
            stamp = f"{changes[0]:%Y%m%dT%H%M%S%f}" if changes else now.isoformat()
            await _notify_customer(request, f"status:{status}:{stamp}", status, replied=False)
        return await SupportRequest.get(id=request.id)


async def _notify_customer(
    request: SupportRequest, key: str, status: SupportStatus, *, replied: bool
) -> None:
    """Staff answered or moved the request: the customer hears of it (in the transaction)."""
    await notify_customer(
        "support.updated",
        customer_id=request.customer_id,  # type: ignore[attr-defined]
        key=f"{request.id}:{key}",
        payload={
            "request_number": request.number,
            "subject": request.subject,
            "status": str(status),
            "replied": replied,
        },
    )

"""From an outbox row to the message a channel sends: context, links, attachments.

Links are made at send time, not when the row was written: a bill's signed PDF link and
the unsubscribe link of reminders would otherwise expire while a row waits out quiet
hours or retries.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from domain.enums import NotificationChannel
from gridbill.errors import UserError
from gridbill.settings import Settings
from notifications.channel import Attachment, Outgoing
from notifications.rendering import render
from services.billing.downloads import bill_pdf_url, pdf_file
from services.identity.tokens import sign_link
from services.notifications.unsubscribe import PURPOSE as UNSUBSCRIBE_PURPOSE
from store.models import Bill, OutboxMessage

log = logging.getLogger(__name__)

UNSUBSCRIBE_TTL_S = 60 * 24 * 3600
REMINDERS = frozenset({"dunning.reminder", "dunning.overdue"})
STATUS_LABELS = {
    "en": {
        "open": "open",
        "awaiting_customer": "waiting for your answer",
        "resolved": "resolved",
        "closed": "closed",
    },
    "hi": {
        "open": "खुला",
        "awaiting_customer": "आपके उत्तर की प्रतीक्षा में",
        "resolved": "हल",
        "closed": "बंद",
    },
}


def message_key(dedupe_key: str) -> str:
    """The stable Message-ID / idempotency key of an outbox row: the same on every attempt."""
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:32]


def unsubscribe_url(settings: Settings, message_id: int) -> str:
    """A signed link valid for about 60 days (sign_link counts its lifetime from ``now``)."""
    expires, signature = sign_link(
        settings, UNSUBSCRIBE_PURPOSE, message_id, now=time.time() + UNSUBSCRIBE_TTL_S
    )
    return (
        f"{settings.base_url}/notifications/{message_id}/unsubscribe"
        f"?expires={expires}&sig={signature}"
    )


BillLoader = Callable[[int], Awaitable[Bill | None]]
"""How the bill a row names is fetched: one query by default; the API passes its request's
DataLoader so a page of messages reads their bills in one query, not one each."""


async def _bill_by_id(bill_id: int) -> Bill | None:
    return await Bill.get_or_none(id=bill_id)


async def context(
    settings: Settings, row: OutboxMessage, *, load_bill: BillLoader = _bill_by_id
) -> dict[str, Any]:
    values: dict[str, Any] = {
        **row.payload,
        "utility_name": settings.utility_name,
        "utility_short": settings.utility_short_name,
        "pdf_url": "",
        "unsubscribe_url": None,
    }
    if "status" in row.payload:
        values["status_label"] = STATUS_LABELS.get(row.language, STATUS_LABELS["en"]).get(
            str(row.payload["status"]), str(row.payload["status"])
        )
    bill_id = row.payload.get("bill_id")
    if bill_id is not None:
        bill = await load_bill(int(bill_id))
        if bill is not None:
            values["pdf_url"] = bill_pdf_url(settings, bill) or ""
    if (
        row.event in REMINDERS
        and row.channel == NotificationChannel.EMAIL
        and row.user_id is not None  # type: ignore[attr-defined]
    ):
        values["unsubscribe_url"] = unsubscribe_url(settings, row.id)
    return values


async def _bill_pdf(settings: Settings, row: OutboxMessage) -> tuple[Attachment, ...]:
    if row.event != "bill.issued" or row.channel != NotificationChannel.EMAIL:
        return ()
    bill = await Bill.get_or_none(id=row.payload.get("bill_id"))
    if bill is None or bill.number is None:
        return ()
    try:
        found = await pdf_file(settings, bill.id, bill.pdf_path)
    except UserError as exc:
        log.warning("bill %s: no PDF to attach (%s)", bill.id, exc)
        return ()
    if found is None:
        return ()
    content = found if isinstance(found, bytes) else found.read_bytes()
    return (Attachment(f"{bill.number.replace('/', '-')}.pdf", content),)


async def text(settings: Settings, row: OutboxMessage, *, load_bill: BillLoader) -> str:
    """The row's plain text in its language, as the inbox shows it (no attachments)."""
    values = await context(settings, row, load_bill=load_bill)
    return render(row.event, row.language, values).text


async def outgoing(settings: Settings, row: OutboxMessage) -> Outgoing:
    """Render the row in its language; raises TemplateMissing or a Jinja error for a bug."""
    values = await context(settings, row)
    rendered = render(row.event, row.language, values)
    return Outgoing(
        key=message_key(row.dedupe_key),
        channel=NotificationChannel(row.channel),
        recipient=row.recipient,
        event=row.event,
        language=row.language,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        sms=rendered.sms,
        attachments=await _bill_pdf(settings, row),
        unsubscribe_url=values["unsubscribe_url"],
        data={"outbox_id": row.id},
    )

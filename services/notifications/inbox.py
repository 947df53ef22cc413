"""A customer's in-app inbox: their ``inapp`` outbox rows, read and unread.

The in-app row is the message itself; ``read_at`` marks it opened. Only the customer's
own rows are ever returned or changed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.queryset import QuerySet

from domain.enums import NotificationChannel, OutboxStatus
from store.models import OutboxMessage

MAX_MARK = 100


def inbox(customer_id: int, *, unread_only: bool = False) -> QuerySet[OutboxMessage]:
    """Delivered in-app messages, for paging newest first."""
    rows = OutboxMessage.filter(
        customer_id=customer_id, channel=NotificationChannel.INAPP, status=OutboxStatus.SENT
    )
    return rows.filter(read_at__isnull=True) if unread_only else rows


async def unread_count(customer_id: int) -> int:
    return await inbox(customer_id, unread_only=True).count()


async def mark_read(customer_id: int, ids: list[int]) -> int:
    """Mark the customer's own messages read (others' ids are ignored); returns how many."""
    if not ids:
        return 0
    return (
        await inbox(customer_id, unread_only=True)
        .filter(id__in=ids[:MAX_MARK])
        .update(read_at=datetime.now(UTC))
    )

"""One-click unsubscribe from reminder e-mails (RFC 8058), through a signed link.

The link names the outbox message it came in; following it (a mail client's one-click
POST, or the person's button) turns off e-mail for the reminder events of that message's
person, which the dispatcher then honours for rows already queued too.
"""

from __future__ import annotations

from domain.enums import NotificationChannel
from gridbill.settings import Settings
from services.errors import NotFound, Refused
from services.identity.tokens import check_link
from services.notifications.preferences import Preference, set_preferences
from store.models import OutboxMessage

PURPOSE = "unsubscribe"
REMINDER_EVENTS = ("dunning.reminder", "dunning.overdue")


async def unsubscribe(settings: Settings, message_id: int, expires: int, signature: str) -> str:
    """Turn reminder e-mails off for the message's person; returns the address affected."""
    refused = check_link(settings, PURPOSE, message_id, expires, signature)
    if refused is not None:
        raise Refused("INVALID_TOKEN", f"this unsubscribe link is not valid ({refused})")
    message = await OutboxMessage.get_or_none(id=message_id)
    if message is None or message.user_id is None:  # type: ignore[attr-defined]
        raise NotFound("notification")
    await set_preferences(
        message.user_id,  # type: ignore[attr-defined]
        [Preference(event, NotificationChannel.EMAIL, False) for event in REMINDER_EVENTS],
    )
    return message.recipient

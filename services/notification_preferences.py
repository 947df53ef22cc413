"""Which notifications a person wants, per event and channel.

Every event is on by e-mail and push and off by SMS until the person says otherwise;
a stored row overrides the default. The notification sender reads the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from domain.enums import NotificationChannel
from services.errors import Refused
from store.models import NotificationPreference

EVENTS = ("bill.issued", "bill.due_soon", "payment.captured", "payment.failed", "support.replied")
DEFAULT_ON = {NotificationChannel.EMAIL, NotificationChannel.PUSH}


@dataclass(frozen=True)
class Preference:
    event: str
    channel: NotificationChannel
    enabled: bool


async def preferences(user_id: int) -> list[Preference]:
    stored = {
        (p.event, NotificationChannel(p.channel)): p.enabled
        for p in await NotificationPreference.filter(user_id=user_id)
    }
    return [
        Preference(event, channel, stored.get((event, channel), channel in DEFAULT_ON))
        for event in EVENTS
        for channel in NotificationChannel
    ]


async def set_preferences(user_id: int, changes: list[Preference]) -> list[Preference]:
    for change in changes:
        if change.event not in EVENTS:
            raise Refused(
                "INVALID_INPUT",
                f"unknown event {change.event!r}: one of {', '.join(EVENTS)}",
                field="event",
            )
    async with in_transaction():
        for change in changes:
            updated = await NotificationPreference.filter(
                user_id=user_id, event=change.event, channel=change.channel
            ).update(enabled=change.enabled)
            if not updated:
                await NotificationPreference.create(
                    user_id=user_id,
                    event=change.event,
                    channel=change.channel,
                    enabled=change.enabled,
                )
    return await preferences(user_id)

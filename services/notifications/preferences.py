"""Which notifications a person wants, per event and channel.

Every event is on by e-mail, push and in-app and off by SMS until the person says
otherwise (SMS is on for people with no e-mail address, the only way left to reach them);
a stored row overrides the default. The outbox writer and the dispatcher read the same
rows, so an opt-out stops messages already queued too.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.transactions import in_transaction

from domain.enums import NotificationChannel
from services.errors import Refused
from store.models import Customer, NotificationPreference

EVENTS = (
    "bill.issued",
    "bill.estimated",
    "payment.captured",
    "payment.failed",
    "refund.processed",
    "cheque.bounced",
    "late_fee.applied",
    "usage.high",
    "support.updated",
    "dunning.reminder",
    "dunning.overdue",
    "dunning.disconnection_notice",
)
DEFAULT_ON = {NotificationChannel.EMAIL, NotificationChannel.PUSH, NotificationChannel.INAPP}


def default_on(channel: NotificationChannel, *, has_email: bool) -> bool:
    return channel in DEFAULT_ON or (channel == NotificationChannel.SMS and not has_email)


async def wanted(
    user_id: int | None, event: str, channel: NotificationChannel, *, has_email: bool
) -> bool:
    """Whether this person wants ``event`` on ``channel`` (no user: the defaults)."""
    if user_id is not None:
        stored = await NotificationPreference.get_or_none(
            user_id=user_id, event=event, channel=channel
        )
        if stored is not None:
            return stored.enabled
    return default_on(channel, has_email=has_email)


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


LANGUAGES = ("en", "hi")
MAX_THRESHOLD_WH = 10**12


async def set_customer_settings(
    customer_id: int,
    *,
    language: str | None,
    high_usage_threshold_wh: int | None,
    clear_threshold: bool,
) -> Customer:
    """The customer's notification language, and the usage above which a bill is flagged."""
    changes: dict[str, object] = {}
    if language is not None:
        if language not in LANGUAGES:
            raise Refused(
                "INVALID_INPUT", f"language must be one of {', '.join(LANGUAGES)}", field="language"
            )
        changes["language"] = language
    if clear_threshold:
        changes["high_usage_threshold_wh"] = None
    elif high_usage_threshold_wh is not None:
        if not 0 < high_usage_threshold_wh <= MAX_THRESHOLD_WH:
            raise Refused(
                "INVALID_INPUT", "the threshold must be a positive number of Wh",
                field="highUsageThresholdWh",
            )  # fmt: skip
        changes["high_usage_threshold_wh"] = high_usage_threshold_wh
    if changes:
        await Customer.filter(id=customer_id).update(**changes)
    return await Customer.get(id=customer_id)

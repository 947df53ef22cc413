"""Notifications: your inbox, language and usage threshold, push devices; staff's view.

Customers see only their own in-app messages; staff see every channel of a customer's
notifications with each delivery attempt, resend one, and list accounts eligible for
disconnection (``services.payments.dunning``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import date

import strawberry

from api.errors import ApiError
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, result
from api.resolvers.identity import _person
from api.resolvers.subscriptions import Info, _events
from api.schema.common import BigInt, Connection
from api.schema.decorators import field, mutation, subscription
from api.schema.notifications import (
    DeviceTokenResult,
    DeviceTokenSuccess,
    DisconnectionEligibility,
    MarkNotificationsReadResult,
    MarkNotificationsReadSuccess,
    NotificationError,
    NotificationEvent,
    NotificationSettingsInput,
    NotificationSettingsResult,
    NotificationSettingsSuccess,
    NotificationType,
    ResendNotificationResult,
    ResendNotificationSuccess,
    StaffNotificationType,
)
from domain.access import Operation
from services.notifications import device_tokens, inbox
from services.notifications.outbox import resend
from services.notifications.preferences import set_customer_settings
from services.payments.dunning import eligible_for_disconnection
from store.models import OutboxMessage


def _customer(info: Info) -> int:
    customer_id = info.context.viewer.customer_id
    if customer_id is None:
        raise ApiError("FORBIDDEN", "only a signed-up customer has an inbox")
    return customer_id


@strawberry.type
class NotificationQueries:
    @field(
        description="Your in-app messages, newest first (`unread: true` for unread only).",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def my_notifications(
        self, info: Info, first: int | None = None, after: str | None = None, unread: bool = False
    ) -> Connection[NotificationType]:
        return await paginate(
            inbox.inbox(_customer(info), unread_only=unread), first=first, after=after
        )

    @field(
        description="How many in-app messages you have not opened.",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def unread_notification_count(self, info: Info) -> int:
        return await inbox.unread_count(_customer(info))

    @field(
        description="A customer's notifications on every channel, with attempts (staff).",
        extensions=requires(Operation.READ_CUSTOMERS),
    )
    async def customer_notifications(
        self, info: Info, customer_id: strawberry.ID, first: int | None = None,
        after: str | None = None,
    ) -> Connection[StaffNotificationType]:  # fmt: skip
        queryset = OutboxMessage.filter(customer_id=parse_id(customer_id, "customer"))
        return await paginate(queryset, first=first, after=after)

    @field(
        description="Accounts whose disconnection notice has run its clear days (15 under "
        "s.56(1) Electricity Act 2003) and that still owe, with no open billing dispute (staff).",
        extensions=requires(Operation.READ_CUSTOMERS),
    )
    async def accounts_eligible_for_disconnection(
        self, info: Info, on: date | None = None
    ) -> list[DisconnectionEligibility]:
        day = on or info.context.today
        found = await eligible_for_disconnection(info.context.settings, today=day)
        return [
            DisconnectionEligibility(
                account_id=strawberry.ID(str(e.account_id)),
                account_number=e.account_number,
                bill_id=strawberry.ID(str(e.bill_id)),
                bill_number=e.bill_number,
                outstanding_paise=BigInt(e.outstanding_paise),
                notice_served_on=e.notice_served_on,
                disconnect_from=e.disconnect_from,
            )
            for e in found
        ]


@strawberry.type
class NotificationMutations:
    @mutation(
        description="Mark your in-app messages read.",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def mark_notifications_read(
        self, info: Info, ids: list[strawberry.ID]
    ) -> MarkNotificationsReadResult:
        customer_id = _customer(info)

        async def work() -> MarkNotificationsReadSuccess:
            numbers = [id_or_refuse(i, "notification", "ids") for i in ids]
            marked = await inbox.mark_read(customer_id, numbers)
            unread = await inbox.unread_count(customer_id)
            return MarkNotificationsReadSuccess(marked=marked, unread=unread)

        return await result(work, lambda ok: ok, NotificationError)

    @mutation(
        description="Your notification language and high-usage threshold.",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def update_notification_settings(
        self, info: Info, input: NotificationSettingsInput
    ) -> NotificationSettingsResult:
        customer_id = _customer(info)
        given = input.high_usage_threshold_wh
        threshold = int(given) if given is not None else None
        return await result(
            lambda: set_customer_settings(
                customer_id,
                language=input.language,
                high_usage_threshold_wh=threshold,
                clear_threshold=input.clear_high_usage_threshold,
            ),
            lambda customer: NotificationSettingsSuccess(customer=customer),  # type: ignore[arg-type]
            NotificationError,
        )

    @mutation(
        description="Register this app's FCM token for push notifications.",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def register_device_token(
        self, info: Info, token: str, platform: str = "android"
    ) -> DeviceTokenResult:
        user_id = _person(info)
        return await result(
            lambda: device_tokens.register(user_id, token, platform),
            lambda _: DeviceTokenSuccess(registered=True),
            NotificationError,
        )

    @mutation(
        description="Forget this app's FCM token (on sign-out).",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def unregister_device_token(self, info: Info, token: str) -> DeviceTokenResult:
        user_id = _person(info)
        return await result(
            lambda: device_tokens.unregister(user_id, token),
            lambda _: DeviceTokenSuccess(registered=False),
            NotificationError,
        )

    @mutation(
        description="Send a customer's notification again, as a new message (staff).",
        extensions=requires(Operation.WRITE_CUSTOMERS),
    )
    async def resend_notification(
        self, info: Info, id: strawberry.ID, reason: str = ""
    ) -> ResendNotificationResult:
        async def work() -> OutboxMessage:
            return await resend(
                id_or_refuse(id, "notification", "id"),
                staff_user_id=info.context.viewer.user_id, reason=reason[:500],
            )  # fmt: skip

        return await result(
            work,
            lambda copy: ResendNotificationSuccess(notification=copy),  # type: ignore[arg-type]
            NotificationError,
        )


@strawberry.type
class NotificationSubscription:
    @subscription(
        description="Your new in-app messages as they arrive.",
        extensions=requires(Operation.SUBSCRIBE_EVENTS),
    )
    async def notification_events(self, info: Info) -> AsyncGenerator[NotificationEvent, None]:
        customer_id = _customer(info)
        async for event in _events(info, "notification."):
            row = await OutboxMessage.get_or_none(
                id=int(event.data.get("notification_id") or 0), customer_id=customer_id
            )
            yield NotificationEvent(at=event.at, notification=row)  # type: ignore[arg-type]

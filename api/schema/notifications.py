"""Notifications: a customer's inbox and settings, push devices, staff's view and resend."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.common import BigInt, Error
from api.schema.customers import CustomerType
from api.schema.decorators import field
from api.schema.enums import NotificationChannel, OutboxStatus

Info = strawberry.Info[Context, None]


@strawberry.type(name="Notification", description="A message sent (or to send) to a customer.")
class NotificationType:
    id: ID
    event: str = strawberry.field(description="bill.issued, payment.captured, dunning.reminder…")
    channel: NotificationChannel
    subject: str = strawberry.field(description="As sent (empty until the first attempt).")
    status: OutboxStatus
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None = strawberry.field(description="In-app: when you opened it.")

    @field(description="The text, in the customer's language (empty for sign-in codes).")
    async def body(self, info: Info) -> str:
        from notifications.content import text
        from services.notifications.outbox import SECRET_EVENTS

        if self.event in SECRET_EVENTS:
            return ""
        return await text(info.context.settings, self, load_bill=info.context.loaders.bill.load)  # type: ignore[arg-type]


@strawberry.type(
    name="NotificationAttempt", description="One delivery try and the provider's answer."
)
class NotificationAttemptType:
    number: int
    at: datetime
    succeeded: bool
    provider_answer: str
    worker: str


@strawberry.type(name="StaffNotification", description="A notification with its delivery history.")
class StaffNotificationType(NotificationType):
    recipient: str
    attempts: int
    last_error: str
    next_attempt_at: datetime

    @field(description="Every delivery attempt, oldest first.")
    async def delivery_attempts(self, info: Info) -> list[NotificationAttemptType]:
        from store.models import NotificationAttempt

        return await NotificationAttempt.filter(message_id=int(self.id)).order_by("number")  # type: ignore[return-value]


@strawberry.type(description="Accounts past their disconnection notice's clear days, still owing.")
class DisconnectionEligibility:
    account_id: ID
    account_number: str
    bill_id: ID
    bill_number: str
    outstanding_paise: BigInt
    notice_served_on: date
    disconnect_from: date


@strawberry.input
class NotificationSettingsInput:
    language: str | None = strawberry.field(default=None, description="en or hi")
    high_usage_threshold_wh: BigInt | None = strawberry.field(
        default=None, description="Flag bills above this many Wh."
    )
    clear_high_usage_threshold: bool = strawberry.field(
        default=False, description="Compare with your history instead of a threshold."
    )


@strawberry.type
class NotificationSettingsSuccess:
    customer: CustomerType


@strawberry.type
class NotificationError(Error):
    pass


NotificationSettingsResult = Annotated[
    NotificationSettingsSuccess | NotificationError, strawberry.union("NotificationSettingsResult")
]


@strawberry.type
class DeviceTokenSuccess:
    registered: bool


DeviceTokenResult = Annotated[
    DeviceTokenSuccess | NotificationError, strawberry.union("DeviceTokenResult")
]


@strawberry.type
class MarkNotificationsReadSuccess:
    marked: int
    unread: int


MarkNotificationsReadResult = Annotated[
    MarkNotificationsReadSuccess | NotificationError,
    strawberry.union("MarkNotificationsReadResult"),
]


@strawberry.type
class ResendNotificationSuccess:
    notification: StaffNotificationType


ResendNotificationResult = Annotated[
    ResendNotificationSuccess | NotificationError, strawberry.union("ResendNotificationResult")
]


@strawberry.type(description="A new in-app message for you.")
class NotificationEvent:
    at: datetime
    notification: NotificationType | None

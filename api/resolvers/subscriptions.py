"""Subscriptions (graphql-transport-ws): a signed-in customer's bill and payment events.

The socket is authenticated once, in ``connection_init`` (``api.app``); each event is
matched to the subscriber's customer, so nobody hears about anyone else's bills.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from api.context import Context
from api.errors import ApiError
from api.permissions import requires
from api.schema.common import BigInt
from api.schema.decorators import subscription
from api.schema.events import BillEvent, PaymentEvent
from domain.access import Operation
from services import events
from services.viewer import CUSTOMER_VISIBLE_BILLS

Info = strawberry.Info[Context, None]


def _id(value: Any) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


async def _events(info: Info, prefix: str) -> AsyncGenerator[events.Event, None]:
    hub = events.hub()
    if hub is None:
        raise ApiError("UNAVAILABLE", "events are not available on this server")
    customer_id = info.context.viewer.customer_id
    if customer_id is None:
        raise ApiError("FORBIDDEN", "only a signed-up customer can subscribe to their events")

    def wanted(event: events.Event) -> bool:
        return event.customer_id == customer_id and event.name.startswith(prefix)

    async with hub.subscribe(wanted) as queue:
        while True:
            event = await queue.get()
            info.context.renew_loaders()  # each event is read fresh
            yield event


@strawberry.type
class Subscription:
    @subscription(
        description="Your bills as they are issued or cancelled.",
        extensions=requires(Operation.SUBSCRIBE_EVENTS),
    )
    async def bill_events(self, info: Info) -> AsyncGenerator[BillEvent, None]:
        customer_id = info.context.viewer.customer_id
        async for event in _events(info, "bill."):
            bill_id = event.data.get("bill_id")
            bill = await info.context.loaders.bill.load(int(bill_id)) if bill_id else None
            visible = bill is not None and bill.customer_id == customer_id  # type: ignore[attr-defined]
            if visible and bill is not None and bill.status not in CUSTOMER_VISIBLE_BILLS:
                visible = False
            yield BillEvent(
                event=event.name, at=event.at, bill_id=_id(bill_id), account_id=_id(event.data.get("account_id")),
                bill=bill if visible else None,  # type: ignore[arg-type]
            )  # fmt: skip

    @subscription(
        description="Payments on your accounts as they are captured, fail or are refunded.",
        extensions=requires(Operation.SUBSCRIBE_EVENTS),
    )
    async def payment_events(self, info: Info) -> AsyncGenerator[PaymentEvent, None]:
        async for event in _events(info, "payment."):
            data = event.data
            amount = data.get("amount_paise")
            yield PaymentEvent(
                event=event.name, at=event.at, payment_id=_id(data.get("payment_id")),
                bill_id=_id(data.get("bill_id")), account_id=_id(data.get("account_id")),
                amount_paise=BigInt(int(amount)) if amount is not None else None,
                status=str(data["status"]) if data.get("status") is not None else None,
            )  # fmt: skip

"""What subscribers receive: a customer's bill and payment events."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.bills import BillType
from api.schema.common import BigInt

Info = strawberry.Info[Context, None]


@strawberry.type(
    description="Something happened to one of your bills (bill.issued, bill.cancelled…)."
)
class BillEvent:
    event: str
    at: datetime
    bill_id: ID | None
    account_id: ID | None
    bill: BillType | None = strawberry.field(
        description="The bill as it is now, if you may see it."
    )


@strawberry.type(
    description="Something happened to a payment on your accounts (payment.captured…)."
)
class PaymentEvent:
    event: str
    at: datetime
    payment_id: ID | None
    bill_id: ID | None
    account_id: ID | None
    amount_paise: BigInt | None
    status: str | None

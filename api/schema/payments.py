"""Payments as customers and staff read them, pay online, record counter payments and refund."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.common import BigInt, Error
from api.schema.decorators import field
from api.schema.enums import LedgerKind, PaymentMethod, PaymentStatus, RefundStatus

if TYPE_CHECKING:
    from api.schema.bills import BillType
    from api.schema.customers import AccountType

Info = strawberry.Info[Context, None]


@strawberry.type(name="Payment", description="Money received on an account, by any method.")
class PaymentType:
    id: ID
    reference: str
    method: PaymentMethod
    status: PaymentStatus
    amount_paise: BigInt
    currency: str
    gateway_method: str = strawberry.field(
        description="upi, card, netbanking… for online payments."
    )
    receipt_number: str | None
    received_on: date | None
    captured_at: datetime | None
    created_at: datetime

    @strawberry.field
    async def account(
        self, info: Info
    ) -> Annotated[AccountType, strawberry.lazy("api.schema.customers")]:
        return await info.context.loaders.account.load(self.account_id)  # type: ignore[attr-defined,return-value]

    @field(description="The bill it was made against, if any.")
    async def bill(
        self, info: Info
    ) -> Annotated[BillType, strawberry.lazy("api.schema.bills")] | None:
        bill_id = self.bill_id  # type: ignore[attr-defined]
        return await info.context.loaders.bill.load(bill_id) if bill_id else None  # type: ignore[return-value]


# --- paying online, recording counter payments, refunds, statements ---------------------


@strawberry.type(description="Who is paying, to fill Razorpay's checkout form.")
class CheckoutPrefill:
    name: str = ""
    email: str = ""
    contact: str = ""


@strawberry.type(description="What the app passes to Razorpay's checkout to take the payment.")
class Checkout:
    reference: str = strawberry.field(description="Our payment reference (the order's receipt).")
    key_id: str = strawberry.field(description="Razorpay key id (public).")
    order_id: str = strawberry.field(description="Razorpay order id.")
    amount_paise: BigInt
    currency: str
    name: str
    description: str
    prefill: CheckoutPrefill


@strawberry.type(name="Refund", description="Money returned against an online payment.")
class RefundType:
    id: ID
    gateway_refund_id: str | None
    amount_paise: BigInt
    status: RefundStatus
    reason: str
    processed_at: datetime | None
    created_at: datetime


@strawberry.type(description="One ledger entry with the balance after it (positive: owed).")
class StatementLine:
    effective_on: date
    kind: LedgerKind
    description: str
    debit_paise: BigInt
    credit_paise: BigInt
    balance_paise: BigInt


@strawberry.type(
    description="An account's bills, payments, adjustments and refunds, from the ledger."
)
class AccountStatement:
    account_number: str
    start: date | None
    end: date | None
    opening_balance_paise: BigInt
    closing_balance_paise: BigInt
    lines: list[StatementLine]


@strawberry.input
class StartPaymentInput:
    account_id: ID
    bill_id: ID | None = strawberry.field(
        default=None, description="Pay this bill (default: the account)."
    )
    amount_paise: BigInt | None = strawberry.field(
        default=None, description="Default: what is owed on the bill or account."
    )


@strawberry.input(description="What Razorpay's checkout handed the app on success.")
class ConfirmPaymentInput:
    razorpay_order_id: str
    razorpay_payment_id: str
    razorpay_signature: str


@strawberry.input
class RecordOfflinePaymentInput:
    account_id: ID
    method: PaymentMethod = strawberry.field(description="cash, cheque or bank_transfer.")
    amount_paise: BigInt
    received_on: date
    instrument_number: str = strawberry.field(
        default="", description="Cheque number or transfer UTR."
    )
    instrument_bank: str = ""
    instrument_date: date | None = None


@strawberry.input
class BounceChequeInput:
    reference: str
    bounced_on: date
    fee_paise: BigInt | None = strawberry.field(
        default=None,
        description="Bounce fee charged (0: none); omitted: GRIDBILL_CHEQUE_BOUNCE_FEE_PAISE.",
    )
    reason: str = "cheque returned unpaid"


@strawberry.input
class RefundPaymentInput:
    reference: str
    amount_paise: BigInt | None = strawberry.field(
        default=None, description="Default: all that is left."
    )
    reason: str = ""


@strawberry.type
class StartPaymentSuccess:
    checkout: Checkout


@strawberry.type
class PaymentSuccess:
    payment: PaymentType


@strawberry.type
class RefundSuccess:
    refund: RefundType


@strawberry.type
class PaymentError(Error):
    pass


StartPaymentResult = Annotated[
    StartPaymentSuccess | PaymentError, strawberry.union("StartPaymentResult")
]
PaymentResult = Annotated[PaymentSuccess | PaymentError, strawberry.union("PaymentResult")]
RefundResult = Annotated[RefundSuccess | PaymentError, strawberry.union("RefundResult")]

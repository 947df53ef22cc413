"""Paying online (customers), counter payments, bounces and refunds (staff), statements.

Permissions are declared on each field. Until ``domain.access`` has operations of its
own for payments, paying uses ``READ_PAYMENTS`` (people only: partner tokens are refused)
and staff work uses ``ADJUST_BILLS``; the rows a caller may touch follow the viewer.
"""

from __future__ import annotations

from datetime import date

import strawberry

from api.context import Context
from api.errors import forbidden, from_refusal, not_found
from api.permissions import requires
from api.resolvers.bills import payment_filter
from api.resolvers.common import id_or_refuse, parse_id, result
from api.schema.common import BigInt
from api.schema.decorators import field, mutation
from api.schema.payments import (
    AccountStatement,
    BounceChequeInput,
    Checkout,
    CheckoutPrefill,
    ConfirmPaymentInput,
    PaymentError,
    PaymentResult,
    PaymentSuccess,
    RecordOfflinePaymentInput,
    RefundPaymentInput,
    RefundResult,
    RefundSuccess,
    StartPaymentInput,
    StartPaymentResult,
    StartPaymentSuccess,
    StatementLine,
)
from domain import enums
from domain.access import Operation
from services.errors import NotFound, Refused
from services.payments import offline, online, receipts, refunds, statement
from services.viewer import Viewer
from store.models import Payment, Refund

Info = strawberry.Info[Context, None]


async def _may_pay_on(viewer: Viewer, account_id: int) -> None:
    """A person (not a partner) who may see the account's payments: the holder, or staff."""
    if viewer.is_partner:
        raise forbidden("partner applications cannot make payments")
    visible = await viewer.account_ids(Operation.READ_PAYMENTS)
    if visible is not None and account_id not in visible:
        raise NotFound("account", field="accountId")


def _paid(payment: object) -> PaymentSuccess:
    return PaymentSuccess(payment=payment)  # type: ignore[arg-type]


def _refunded(refund: object) -> RefundSuccess:
    return RefundSuccess(refund=refund)  # type: ignore[arg-type]


def _checkout(c: online.Checkout) -> StartPaymentSuccess:
    return StartPaymentSuccess(
        checkout=Checkout(
            reference=c.reference, key_id=c.key_id, order_id=c.order_id,
            amount_paise=BigInt(c.amount_paise), currency=c.currency, name=c.name,
            description=c.description, prefill=CheckoutPrefill(**c.prefill),
        )
    )  # fmt: skip


@strawberry.type
class PaymentQueries:
    @field(
        description="An account's statement from its ledger: bills, payments, adjustments, "
        "refunds and the running balance.",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    async def account_statement(
        self,
        info: Info,
        account_id: strawberry.ID,
        start: date | None = None,
        end: date | None = None,
    ) -> AccountStatement:
        viewer = info.context.viewer
        account = parse_id(account_id, "account")
        for operation in (Operation.READ_PAYMENTS, Operation.READ_BILLS):
            visible = await viewer.account_ids(operation)
            if visible is not None and account not in visible:
                raise not_found("account")
        try:
            s = await statement.account_statement(account_id=account, start=start, end=end)
        except Refused as refusal:
            raise from_refusal(refusal) from None
        return AccountStatement(
            account_number=s.account_number, start=s.start, end=s.end,
            opening_balance_paise=BigInt(s.opening_balance_paise),
            closing_balance_paise=BigInt(s.closing_balance_paise),
            lines=[
                StatementLine(
                    effective_on=line.effective_on, kind=line.kind, description=line.description,
                    debit_paise=BigInt(line.debit_paise), credit_paise=BigInt(line.credit_paise),
                    balance_paise=BigInt(line.balance_paise),
                )
                for line in s.lines
            ],
        )  # fmt: skip

    @field(
        description="A counter payment's printable receipt (plain text, 48 columns).",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    async def payment_receipt(self, info: Info, reference: str, duplicate: bool = False) -> str:
        condition = await payment_filter(info.context.viewer)
        if condition is None or not await Payment.filter(condition, reference=reference).exists():
            raise not_found("payment")
        try:
            return await receipts.receipt_text(
                info.context.settings, reference=reference, duplicate=duplicate
            )
        except Refused as refusal:
            raise from_refusal(refusal) from None


@strawberry.type
class PaymentMutations:
    @mutation(
        description="Start paying a bill or an amount online: creates the Razorpay order and "
        "returns what the checkout needs.",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    async def start_payment(self, info: Info, input: StartPaymentInput) -> StartPaymentResult:
        viewer = info.context.viewer

        async def work() -> online.Checkout:
            account_id = id_or_refuse(input.account_id, "account", "accountId")
            await _may_pay_on(viewer, account_id)
            bill_id = id_or_refuse(input.bill_id, "bill", "billId") if input.bill_id else None
            return await online.start_payment(
                info.context.settings,
                account_id=account_id,
                bill_id=bill_id,
                amount_paise=input.amount_paise,
                payer_id=viewer.user_id,
            )

        return await result(work, _checkout, PaymentError)

    @mutation(
        description="Hand over what the checkout returned: the signature is verified and the "
        "payment's status fetched from Razorpay.",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    async def confirm_payment(self, info: Info, input: ConfirmPaymentInput) -> PaymentResult:
        viewer = info.context.viewer

        async def work() -> Payment:
            found = await Payment.get_or_none(gateway_order_id=input.razorpay_order_id)
            if found is None:
                raise NotFound("payment", field="razorpayOrderId")
            await _may_pay_on(viewer, found.account_id)  # type: ignore[attr-defined]
            return await online.confirm_payment(
                info.context.settings,
                razorpay_order_id=input.razorpay_order_id,
                razorpay_payment_id=input.razorpay_payment_id,
                razorpay_signature=input.razorpay_signature,
            )

        return await result(
            work,
            _paid,
            PaymentError,
        )

    @mutation(
        description="Record cash, a cheque or a bank transfer taken at a counter (staff); "
        "returns the payment with its receipt number.",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def record_offline_payment(
        self, info: Info, input: RecordOfflinePaymentInput
    ) -> PaymentResult:
        viewer = info.context.viewer

        async def work() -> Payment:
            return await offline.record_offline_payment(
                info.context.settings,
                account_id=id_or_refuse(input.account_id, "account", "accountId"),
                method=enums.PaymentMethod(input.method), amount_paise=input.amount_paise,
                received_on=input.received_on, instrument_number=input.instrument_number,
                instrument_bank=input.instrument_bank, instrument_date=input.instrument_date,
                recorded_by_id=viewer.user_id,
            )  # fmt: skip

        return await result(work, _paid, PaymentError)

    @mutation(
        description="A cheque came back unpaid (staff): reverse it and charge a fee.",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def bounce_cheque(self, info: Info, input: BounceChequeInput) -> PaymentResult:
        viewer = info.context.viewer
        return await result(
            lambda: offline.bounce_cheque(
                info.context.settings,
                reference=input.reference,
                bounced_on=input.bounced_on,
                fee_paise=input.fee_paise,
                reason=input.reason,
                recorded_by_id=viewer.user_id,
            ),
            _paid,
            PaymentError,
        )

    @mutation(
        description="Refund (part of) an online payment through Razorpay (staff).",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def refund_payment(self, info: Info, input: RefundPaymentInput) -> RefundResult:
        viewer = info.context.viewer

        async def work() -> Refund:
            return await refunds.refund_payment(
                info.context.settings, reference=input.reference, amount_paise=input.amount_paise,
                reason=input.reason, requested_by_id=viewer.user_id,
            )  # fmt: skip

        return await result(work, _refunded, PaymentError)

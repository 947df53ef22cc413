"""Printable counter receipts: plain text, fixed width, for a receipt printer or a PDF.

A receipt is produced from the stored payment alone, so a reprint is identical to the
original (it says "DUPLICATE" when asked to). Only captured or reversed counter payments
have receipts; a bounced cheque's receipt says so.
"""

from __future__ import annotations

from domain.enums import PaymentMethod, PaymentStatus
from domain.indian_format import rupees
from gridbill.settings import Settings
from services.errors import NotFound, Refused
from services.payments.settlement import current_customer
from store.models import Account, Payment, PaymentAllocation

WIDTH = 48
METHOD_NAMES = {
    PaymentMethod.CASH: "Cash",
    PaymentMethod.CHEQUE: "Cheque",
    PaymentMethod.BANK_TRANSFER: "Bank transfer",
    PaymentMethod.RAZORPAY: "Online (Razorpay)",
}


def _line(label: str, value: str) -> str:
    return f"{label:<18}{value:>{WIDTH - 18}}"


async def receipt_text(settings: Settings, *, reference: str, duplicate: bool = False) -> str:
    payment = await Payment.get_or_none(reference=reference)
    if payment is None:
        raise NotFound("payment", field="reference")
    if payment.receipt_number is None:
        raise Refused("INVALID_STATE", "only counter payments have printed receipts")
    account = await Account.get(id=payment.account_id)  # type: ignore[attr-defined]
    customer = await current_customer(account.id)
    rows = await PaymentAllocation.filter(payment_id=payment.id).prefetch_related("bill")
    per_bill: dict[str, int] = {}
    for row in rows:
        bill = row.bill
        key = "Advance (credit)" if bill is None else f"Bill {bill.number or bill.id}"
        per_bill[key] = per_bill.get(key, 0) + row.amount_paise
    out = [
        settings.utility_name[:WIDTH].center(WIDTH),
        "PAYMENT RECEIPT".center(WIDTH),
    ]
    if duplicate:
        out.append("DUPLICATE".center(WIDTH))
    out += [
        "=" * WIDTH,
        _line("Receipt no.", payment.receipt_number),
        _line("Date", payment.received_on.isoformat() if payment.received_on else ""),
        _line("Account", account.number),
        _line("Received from", (customer.name if customer else "")[: WIDTH - 18]),
        _line("Method", METHOD_NAMES.get(payment.method, str(payment.method))),
    ]
    if payment.instrument_number:
        label = "Cheque no." if payment.method == PaymentMethod.CHEQUE else "Reference (UTR)"
        out.append(_line(label, payment.instrument_number))
    if payment.instrument_bank:
        out.append(_line("Bank", payment.instrument_bank[: WIDTH - 18]))
    out += ["-" * WIDTH, _line("AMOUNT", rupees(payment.amount_paise)), "-" * WIDTH]
    for label, amount in per_bill.items():
        if amount:
            out.append(_line(label[:18], rupees(amount)))
    if payment.status == PaymentStatus.REVERSED:
        out += ["", "CHEQUE RETURNED UNPAID: this receipt is void.".center(WIDTH)]
    out += ["=" * WIDTH, f"Payment reference {payment.reference}".center(WIDTH)]
    return "\n".join(line.rstrip() for line in out) + "\n"

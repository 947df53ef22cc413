"""Counter payments: cash, cheque or bank transfer taken at the office, with a receipt.

Recorded with ``services.payments.offline.record_offline_payment`` (what GraphQL's
``recordOfflinePayment`` calls) and printed with ``services.payments.receipts``: the
receipt page is the same 48-column text a counter printer gets, with a print button.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import Console, Form
from console.session import Staff
from domain.enums import PaymentMethod
from services.errors import NotFound, Refused
from services.payments.offline import OFFLINE_METHODS, record_offline_payment
from services.payments.receipts import METHOD_NAMES, receipt_text
from store.models import Account, Payment


def paise_of(text: str) -> int:
    """Rupees as typed (``1,234.50``) → exact integer paise, or a refusal."""
    cleaned = text.replace(",", "").replace("₹", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise Refused(
            "INVALID_INPUT", f"{text!r} is not an amount in rupees", field="amount"
        ) from None
    paise = amount * 100
    if not paise.is_finite() or paise != paise.to_integral_value():
        raise Refused(
            "INVALID_INPUT", "give the amount in rupees with at most 2 decimals", field="amount"
        )
    return int(paise)


def day_of(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise Refused("INVALID_INPUT", f"give the {what} as YYYY-MM-DD") from None


def _form(console: Console, staff: Staff, values: dict[str, str], *, message: str = "",
          status: int = 200) -> Response:  # fmt: skip
    today = datetime.now(UTC).astimezone(console.settings.zone).date()
    return console.render(
        "counter.html", staff, status=status, values=values, message=message, today=today,
        methods=[(m.value, METHOD_NAMES[m]) for m in OFFLINE_METHODS],
    )  # fmt: skip


async def counter_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    return _form(console, staff, {"account": request.query_params.get("account", "")})


async def record(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    """Record the payment, then show its receipt; a refusal keeps what was typed."""
    values = dict(form)
    values.pop("csrf", None)
    try:
        account = await Account.get_or_none(number=form.get("account", "").strip())
        if account is None:
            raise Refused("NOT_FOUND", "no account has that number", field="account")
        method = form.get("method", "")
        if method not in {m.value for m in OFFLINE_METHODS}:
            raise Refused("INVALID_INPUT", "choose cash, cheque or bank transfer", field="method")
        received_on = day_of(form.get("received_on", ""), "date received")
        if received_on is None:
            raise Refused("INVALID_INPUT", "give the date the money was received")
        payment = await record_offline_payment(
            console.settings, account_id=account.id, method=PaymentMethod(method),
            amount_paise=paise_of(form.get("amount", "")), received_on=received_on,
            instrument_number=form.get("instrument_number", ""),
            instrument_bank=form.get("instrument_bank", ""),
            instrument_date=day_of(form.get("instrument_date", ""), "cheque date"),
            recorded_by_id=staff.user.id,
        )  # fmt: skip
    except Refused as exc:
        return _form(console, staff, values, message=exc.message, status=400)
    return RedirectResponse(f"/console/payments/{payment.reference}/receipt", status_code=303)


async def receipt(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    reference = request.path_params["reference"]
    payment = await Payment.get_or_none(reference=reference).prefetch_related("account")
    if payment is None:
        raise NotFound("payment")
    duplicate = request.query_params.get("duplicate") == "1"
    text = await receipt_text(console.settings, reference=reference, duplicate=duplicate)
    return console.render("receipt.html", staff, payment=payment, text=text, duplicate=duplicate)

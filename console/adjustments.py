"""Posting a credit or debit note on an account from the account page.

The same use case as GraphQL's ``raiseAdjustment`` (``services.billing.adjustments``),
under the same operation (``adjust_bills``): a numbered note, its ledger entry and its
audit row commit together. The amount is typed in rupees (``1,234.50``) and taken as
exact paise; the kind decides the sign (credit notes, waivers and subsidies lower what
is owed, a debit note raises it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from console.counter import paise_of
from console.pages import Console, Form, number_arg
from console.session import Staff
from console.support_requests import back_to_account
from domain.enums import AdjustmentKind
from services.billing import adjustments
from services.errors import Refused

KINDS = (
    AdjustmentKind.CREDIT_NOTE,
    AdjustmentKind.DEBIT_NOTE,
    AdjustmentKind.WAIVER,
    AdjustmentKind.SUBSIDY,
)
"""What staff raise by hand; a cheque bounce fee comes only with the bounced cheque."""


async def raise_note(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    account_id = int(request.path_params["account_id"])
    kind = next((k for k in KINDS if k.value == form.get("kind")), None)
    if kind is None:
        choices = ", ".join(k.value.replace("_", " ") for k in KINDS)
        raise Refused("INVALID_INPUT", f"choose the kind: {choices}", field="kind")
    bill = form.get("bill", "").strip()
    today = datetime.now(UTC).astimezone(console.settings.zone).date()
    note = await adjustments.raise_adjustment(
        staff.viewer,
        adjustments.NewAdjustment(
            account_id=account_id, kind=kind, amount_paise=paise_of(form.get("amount", "")),
            reason=form.get("reason", ""), bill_id=number_arg(bill, "bill") if bill else None,
        ),
        today=today,
    )  # fmt: skip
    return back_to_account(account_id, f"{note.number} posted", "adjustments")

"""Answering and closing a customer's support request from the account page.

The same use cases as GraphQL's ``replyToSupportRequest`` and ``setSupportRequestStatus``
(``services.accounts.support``), under the same operation (``manage_support``): a reply
reaches the customer (and moves an open request to awaiting the customer), an internal
note does not, and every change is audited there.
"""

from __future__ import annotations

from urllib.parse import quote_plus

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import Console, Form, number_arg
from console.session import Staff
from domain.enums import SupportStatus
from services.accounts import support
from services.errors import Refused


def back_to_account(account_id: int, done: str, anchor: str) -> RedirectResponse:
    """To the account page the form was posted from, saying what was done."""
    return RedirectResponse(
        f"/console/accounts/{account_id}?done={quote_plus(done)}#{anchor}", status_code=303
    )


async def reply(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    request_id = int(request.path_params["request_id"])
    internal = form.get("internal") == "1"
    account_id = number_arg(form.get("account"), "account")
    await support.reply(
        staff.viewer, request_id=request_id, body=form.get("body", ""), internal=internal
    )
    return back_to_account(account_id, "note added" if internal else "reply sent", "support")


async def set_status(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    request_id = int(request.path_params["request_id"])
    try:
        status = SupportStatus(form.get("status", ""))
    except ValueError:
        choices = ", ".join(s.value.replace("_", " ") for s in SupportStatus)
        raise Refused("INVALID_INPUT", f"choose a status: {choices}", field="status") from None
    account_id = number_arg(form.get("account"), "account")
    await support.set_status(staff.viewer, request_id=request_id, status=status)
    return back_to_account(account_id, f"status set to {status.value.replace('_', ' ')}", "support")

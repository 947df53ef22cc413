"""The account page's actions: answer and close a support request, post a credit or debit note.

Each goes through the use case GraphQL calls (``services.accounts.support``,
``services.billing.adjustments``); here the outcome is read back from the tables: the
message and its status, the customer's notification, the numbered note and its ledger
entry, the audit rows, and refusals that change nothing.
"""

from __future__ import annotations

from domain.enums import AdjustmentKind, SupportStatus
from store.models import (
    Account,
    Adjustment,
    AuditLog,
    LedgerEntry,
    OutboxMessage,
    SupportMessage,
    SupportRequest,
)
from tests.console.conftest import ConsoleClient

STAFF = "staff1@gridbill.example"


def test_staff_answer_note_and_close_a_support_request(console: ConsoleClient) -> None:
    request = console.run(SupportRequest.all().order_by("id").first)
    assert request is not None and request.account_id is not None  # type: ignore[attr-defined]
    account = request.account_id  # type: ignore[attr-defined]
    page_path = f"/console/accounts/{account}"
    console.as_user(STAFF)
    page = console.client.get(page_path)
    assert (
        request.subject in page.text
        and f'action="/console/support/{request.id}/reply"' in page.text
    )
    before = console.run(OutboxMessage.filter(customer_id=request.customer_id).count)  # type: ignore[attr-defined]

    sent = console.post(f"/console/support/{request.id}/reply",
                        {"account": str(account), "body": "We re-read the meter: it is right."})  # fmt: skip
    assert sent.status_code == 303
    assert sent.headers["location"] == f"{page_path}?done=reply+sent#support"
    told = console.run(OutboxMessage.filter(customer_id=request.customer_id).count)  # type: ignore[attr-defined]
    assert told > before  # the reply reaches the customer
    note = console.post(f"/console/support/{request.id}/reply",
                        {"account": str(account), "body": "checked by field team", "internal": "1"})  # fmt: skip
    assert note.status_code == 303
    messages = console.run(SupportMessage.filter(request_id=request.id).order_by("id").all)
    assert [(m.body, m.is_internal) for m in messages[-2:]] == [
        ("We re-read the meter: it is right.", False), ("checked by field team", True),
    ]  # fmt: skip
    assert console.run(SupportRequest.get, id=request.id).status == SupportStatus.AWAITING_CUSTOMER
    after = console.run(OutboxMessage.filter(customer_id=request.customer_id).count)  # type: ignore[attr-defined]
    assert after == told  # the internal note does not
    shown = console.client.get(page_path + "?done=reply+sent")
    assert "Done: reply sent." in shown.text and "checked by field team" in shown.text

    empty = console.post(
        f"/console/support/{request.id}/reply", {"account": str(account), "body": " "}
    )
    assert empty.status_code == 400
    bad = console.post(
        f"/console/support/{request.id}/status", {"account": str(account), "status": "gone"}
    )
    assert bad.status_code == 400 and "choose a status" in bad.text
    closed = console.post(f"/console/support/{request.id}/status",
                          {"account": str(account), "status": "closed"})  # fmt: skip
    assert closed.headers["location"] == f"{page_path}?done=status+set+to+closed#support"
    assert console.run(SupportRequest.get, id=request.id).status == SupportStatus.CLOSED
    again = console.post(
        f"/console/support/{request.id}/reply", {"account": str(account), "body": "x"}
    )
    assert again.status_code == 400 and "closed" in again.text
    actions = console.run(
        AuditLog.filter(entity="support_request", entity_id=str(request.id)).values_list,
        "action",
        flat=True,
    )
    assert {"support.replied", "support.status_changed"} <= set(actions)
    assert f'action="/console/support/{request.id}/reply"' not in console.client.get(page_path).text


def test_staff_post_a_credit_note_and_a_debit_note(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    account = console.run(Account.get, id=1)
    path = f"/console/accounts/{account.id}/adjustments"
    credit = console.post(
        path, {"kind": "credit_note", "amount": "1,250.50", "reason": "meter misread"}
    )
    assert credit.status_code == 303
    note = console.run(Adjustment.filter(account_id=account.id).order_by("-id").first)
    assert note is not None and note.kind == AdjustmentKind.CREDIT_NOTE
    assert note.amount_paise == -125050 and note.number.startswith("CN/")
    assert credit.headers["location"].startswith("/console/accounts/1?done=CN%2F")
    entry = console.run(LedgerEntry.get, adjustment_id=note.id)
    assert entry.amount_paise == -125050
    debit = console.post(
        path, {"kind": "debit_note", "amount": "99", "reason": "short billed", "bill": ""}
    )
    assert debit.status_code == 303
    last = console.run(Adjustment.filter(account_id=account.id).order_by("-id").first)
    assert last is not None and last.amount_paise == 9900 and last.number.startswith("DN/")
    page = console.client.get("/console/accounts/1").text
    assert note.number in page and "-₹1,250.50" in page
    assert console.run(AuditLog.filter(action__startswith="adjustment").count) >= 2

    count = console.run(Adjustment.filter(account_id=account.id).count)
    for form, words in (
        ({"kind": "cheque_bounce_fee", "amount": "10", "reason": "x"}, "choose the kind"),
        ({"kind": "credit_note", "amount": "ten", "reason": "x"}, "is not an amount"),
        ({"kind": "credit_note", "amount": "10", "reason": " "}, "give the reason"),
        ({"kind": "credit_note", "amount": "10", "reason": "x", "bill": "999999"}, "not found"),
    ):
        refused = console.post(path, form)
        assert refused.status_code in (400, 404) and words in refused.text, (
            form,
            refused.text[-400:],
        )
    assert console.run(Adjustment.filter(account_id=account.id).count) == count

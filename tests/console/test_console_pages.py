"""The console's pages do the office's work through the services, with the same audit rows."""

from __future__ import annotations

import re
import time

from domain.enums import BillStatus, ExceptionStatus, PaymentMethod
from store.models import (
    Account,
    AuditLog,
    Bill,
    BillRun,
    Customer,
    LedgerEntry,
    Meter,
    Payment,
    Route,
    ValidationException,
)
from tests.console.conftest import ConsoleClient

STAFF = "staff1@gridbill.example"


def test_search_finds_customers_every_way_staff_ask(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    customer = console.run(Customer.get, number="BP10000001")
    account = console.run(Account.get, id=1)
    serial = console.run(Meter.all().order_by("id").first).serial  # type: ignore[union-attr]
    for term in (
        customer.name.split()[1], customer.number, account.number, customer.email,
        customer.phone[-10:], serial,
    ):  # fmt: skip
        page = console.client.get("/console/search", params={"q": term})
        assert page.status_code == 200, term
        assert "/console/accounts/" in page.text, term
    assert (
        customer.name in console.client.get("/console/search", params={"q": customer.number}).text
    )
    short = console.client.get("/console/search", params={"q": "x"})
    assert short.status_code == 400 and "at least 2 characters" in short.text
    none = console.client.get("/console/search", params={"q": "zzzz-nobody"})
    assert "0 customers match" in none.text


def test_the_account_page_shows_the_whole_account_with_indian_grouping(
    console: ConsoleClient,
) -> None:
    console.as_user(STAFF)
    page = console.client.get("/console/accounts/1")
    assert page.status_code == 200
    text = page.text
    for heading in ("Customer", "Meters and reads", "Bills", "Statement", "Payments",
                    "Adjustments", "Support requests", "Notifications", "Audit"):  # fmt: skip
        assert f">{heading}</h2>" in text, heading
    assert '<svg class="chart"' in text and 'role="img"' in text
    assert "/bills/" in text and "/pdf?expires=" in text  # issued bills link their PDFs
    balance = console.run(LedgerEntry.filter(account_id=1).values_list, "amount_paise", flat=True)
    total = sum(balance)
    rupees, paise = divmod(abs(total), 100)
    assert re.search(rf"Balance</dt><dd>-?₹[0-9,]*{rupees % 1000:03d}\.{paise:02d}<", text) or (
        rupees < 1000 and f"₹{rupees}.{paise:02d}" in text
    )
    assert console.client.get("/console/accounts/99999").status_code == 404


def test_a_bill_run_is_started_followed_reviewed_and_issued_as_graphql_does(
    console: ConsoleClient,
) -> None:
    console.as_user(STAFF)
    staff = console.user(STAFF)
    started = console.post("/console/bill-runs", {"cycle": "CYC-01", "period": "2026-05"})
    assert started.status_code == 303
    run_path = started.headers["location"]
    run_id = int(run_path.rsplit("/", 1)[1])
    for _ in range(60):
        poll = console.client.get(run_path + "/progress", headers={"HX-Request": "true"})
        if poll.status_code == 204:
            assert poll.headers["HX-Refresh"] == "true"
            break
        assert 'hx-trigger="every 1s"' in poll.text
        time.sleep(0.25)
    else:
        raise AssertionError("the run did not finish")
    page = console.client.get(run_path)
    assert "completed" in page.text and 'class="flag">estimated' in page.text
    flagged = console.client.get(run_path, params={"flagged": "1"})
    assert "Showing flagged bills only" in flagged.text
    started_row = console.run(AuditLog.get, action="bill_run.started", entity_id=str(run_id))
    assert started_row.actor_id == staff.id and started_row.actor_label == f"user:{staff.id}"

    drafts = console.run(
        Bill.filter(bill_run_id=run_id, status=BillStatus.DRAFT).order_by("id").all
    )
    first, rest = drafts[0], drafts[1:]
    issued = console.post(f"/console/bills/{first.id}/issue", {}, csrf_from=run_path)
    assert issued.headers["location"] == f"/console/bills/{first.id}?done=issued"
    assert console.run(Bill.get, id=first.id).status == BillStatus.ISSUED
    assert (
        console.run(AuditLog.get, action="bills.issued", entity_id=str(first.id)).actor_id
        == staff.id
    )

    queued = console.post(f"{run_path}/issue", {}, csrf_from=run_path)
    assert queued.headers["location"] == f"{run_path}?queued=1"
    for _ in range(60):
        if all(console.run(Bill.get, id=b.id).status == BillStatus.ISSUED for b in rest):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the queued issue did not issue the drafts")
    assert console.run(AuditLog.exists, action="bill_run.issue_queued", actor_id=staff.id)


def test_cancel_needs_a_reason_and_rebill_drafts_again(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    bill = console.run(Bill.filter(status=BillStatus.ISSUED).order_by("-id").first)
    assert bill is not None
    path = f"/console/bills/{bill.id}"
    no_reason = console.post(f"{path}/cancel", {"reason": " "}, csrf_from=path)
    assert no_reason.status_code == 400 and "give the reason" in no_reason.text
    assert console.run(Bill.get, id=bill.id).status == BillStatus.ISSUED
    redo = console.post(f"{path}/rebill", {"reason": "meter read corrected"}, csrf_from=path)
    assert redo.status_code == 303, redo.text
    draft_id = int(re.search(r"/bills/(\d+)", redo.headers["location"]).group(1))  # type: ignore[union-attr]
    assert console.run(Bill.get, id=bill.id).status == BillStatus.CANCELLED
    assert console.run(Bill.get, id=draft_id).status == BillStatus.DRAFT
    cancelled = console.client.get(path)
    assert (
        "meter read corrected" in cancelled.text and f"/console/bills/{draft_id}" in cancelled.text
    )


def test_a_counter_payment_is_recorded_exactly_and_its_receipt_printed(
    console: ConsoleClient,
) -> None:
    console.as_user(STAFF)
    account = console.run(Account.get, id=1)
    refused = console.post(
        "/console/payments/counter",
        {"account": account.number, "method": "cash", "amount": "12.345", "received_on": "2026-05-09"},
    )  # fmt: skip
    assert refused.status_code == 400 and "at most 2 decimals" in refused.text
    assert 'value="12.345"' in refused.text  # what was typed is kept
    cheque = console.post(
        "/console/payments/counter",
        {"account": account.number, "method": "cheque", "amount": "500", "received_on": "2026-05-09"},
    )  # fmt: skip
    assert cheque.status_code == 400 and "cheque number" in cheque.text
    done = console.post(
        "/console/payments/counter",
        {"account": account.number, "method": "cash", "amount": "1,23,456.70", "received_on": "2026-05-09"},
    )  # fmt: skip
    assert done.status_code == 303
    payment = console.run(Payment.filter(account_id=1).order_by("-id").first)
    assert payment is not None
    assert payment.amount_paise == 12345670 and payment.method == PaymentMethod.CASH
    assert payment.recorded_by_id == console.user(STAFF).id  # type: ignore[attr-defined]
    receipt = console.client.get(done.headers["location"])
    assert payment.receipt_number in receipt.text and "₹1,23,456.70" in receipt.text
    assert "window.print()" in receipt.text
    assert "DUPLICATE" in console.client.get(done.headers["location"] + "?duplicate=1").text


def test_a_vee_exception_is_decided_with_a_reason_and_audited(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    staff = console.user(STAFF)
    queue = console.client.get("/console/vee")
    exception = console.run(
        ValidationException.filter(status=ExceptionStatus.OPEN).order_by("id").first
    )
    assert exception is not None and f"/console/vee/{exception.id}" in queue.text
    path = f"/console/vee/{exception.id}"
    page = console.client.get(path)
    assert 'class="flagged"' in page.text  # the flagged value is marked in the chart
    no_reason = console.post(f"{path}/accept", {"reason": ""}, csrf_from=path)
    assert no_reason.status_code == 400 and "give the reason" in no_reason.text
    bad = console.post(f"{path}/replace", {"value": "abc", "reason": "typo"}, csrf_from=path)
    assert bad.status_code == 400 and "is not a number" in bad.text
    done = console.post(f"{path}/accept", {"reason": "checked on site"}, csrf_from=path)
    assert done.headers["location"] == f"/console/vee?done=accepted+{exception.id}"
    assert console.run(ValidationException.get, id=exception.id).status == ExceptionStatus.ACCEPTED
    row = console.run(AuditLog.filter(actor_id=staff.id).order_by("-id").first)
    assert row is not None and "checked on site" in (row.reason + str(row.after))
    again = console.post(f"{path}/reject", {"reason": "twice"}, csrf_from=path)
    assert again.status_code == 400 and "already decided" in again.text


def test_refusals_are_pages_not_stack_traces(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    bad_period = console.post("/console/bill-runs", {"cycle": "CYC-01", "period": "May"})
    assert bad_period.status_code == 400 and "<h1>Not done</h1>" in bad_period.text
    unknown = console.client.get("/console/bills/999999")
    assert unknown.status_code == 404 and "Bill not found" in unknown.text
    for huge in ("/console/bills/99999999999999999999999", "/console/accounts/2147483648"):
        assert console.client.get(huge).status_code == 404, huge
    route = console.run(Route.all().first)
    assert route is not None
    answer = console.post(f"/console/routes/{route.id}/reader", {"reader": "9" * 30})
    assert answer.status_code == 400 and "whole number" in answer.text
    assert not console.run(BillRun.filter(started_by_id=console.user(STAFF).id).exists)

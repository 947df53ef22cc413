"""Money and meter data through the real app over HTTP, on both databases.

Payments (``startPayment``, ``confirmPayment``, ``recordOfflinePayment``, ``refundPayment``,
``accountStatement``, ``paymentReceipt``) against the sandbox gateway running in a thread,
and the VEE review queue (``validationExceptionCounts``, ``validationExceptions``,
``acceptValidationException``) after a suspect read arrives on ``POST /ingest/readings``:
everything through ``api.app.create_app`` and Starlette's TestClient, as a client would.
"""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from api_helpers import Api, error_codes

from domain.enums import Role
from gateway import SandboxGateway
from gateway.app import sign_webhook
from gridbill.settings import Settings
from tests import factories as f
from tests.conftest import make_settings
from tests.payment_sandbox import KEY_ID, WEBHOOK_SECRET, razorpay_env

IST = ZoneInfo("Asia/Kolkata")
OWED = 200_003  # a factory bill with three lines

START = """mutation($a: ID!, $b: ID) { startPayment(input: {accountId: $a, billId: $b}) {
  __typename ... on StartPaymentSuccess { checkout { reference orderId keyId amountPaise currency
    prefill { email } } }
  ... on PaymentError { code field } } }"""
CONFIRM = """mutation($o: String!, $p: String!, $s: String!) {
  confirmPayment(input: {razorpayOrderId: $o, razorpayPaymentId: $p, razorpaySignature: $s}) {
  __typename ... on PaymentSuccess { payment { reference status method amountPaise gatewayMethod } }
  ... on PaymentError { code field } } }"""
BILL = """query($id: ID!) { bill(id: $id) { paidPaise balanceDuePaise
  payments { reference status amountPaise } } }"""
MY_PAYMENTS = """{ myPayments { nodes { reference status method amountPaise receiptNumber
  bill { id } account { id } } } }"""
RECORD = """mutation($a: ID!, $amount: BigInt!, $method: PaymentMethod!) {
  recordOfflinePayment(input: {accountId: $a, method: $method, amountPaise: $amount,
    receivedOn: "2026-03-10", instrumentNumber: "004711", instrumentBank: "SBI"}) {
  __typename ... on PaymentSuccess { payment { reference receiptNumber status method amountPaise
    receivedOn } }
  ... on PaymentError { code field } } }"""
RECEIPT = "query($r: String!) { paymentReceipt(reference: $r) }"
REFUND = """mutation($r: String!, $amount: BigInt, $why: String!) {
  refundPayment(input: {reference: $r, amountPaise: $amount, reason: $why}) {
  __typename ... on RefundSuccess { refund { gatewayRefundId amountPaise status reason } }
  ... on PaymentError { code field } } }"""
STATEMENT = """query($a: ID!) { accountStatement(accountId: $a) { accountNumber
  openingBalancePaise closingBalancePaise
  lines { kind description debitPaise creditPaise balancePaise } } }"""
QUEUE = """query($status: ValidationExceptionStatus) {
  validationExceptionCounts(status: OPEN) { rule count }
  validationExceptions(status: $status, first: 10) { nodes { id rule status resolutionReason
    meter { serial } read { value quality qualityFlags } interval { kwh } } } }"""
ACCEPT = """mutation($id: ID!, $why: String!) {
  acceptValidationException(input: {id: $id, reason: $why}) {
  __typename ... on ExceptionDecisionSuccess { changed exception { id status resolutionReason
    read { quality revision } } }
  ... on MeterDataError { code field } } }"""
AUDIT = """query($id: String!) { auditLog(entity: "validation_exception", entityId: $id) {
  edges { node { action entity entityId reason before after actor { id } } } } }"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path, sandbox: SandboxGateway) -> Settings:
    """The app's settings (used by the ``api`` fixture) pointed at the sandbox."""
    return make_settings(database_url, tmp_path / "var", **razorpay_env(sandbox))


@pytest.fixture
def staff(api: Api) -> str:
    return api.token(api.run(f.user, Role.STAFF))


def customer_token(api: Api, home: f.Site) -> str:
    assert home.user is not None
    return api.token(home.user)


def checkout(sandbox: SandboxGateway, order_id: str) -> dict[str, Any]:
    """What Razorpay's checkout hands the customer's browser after a successful UPI payment."""
    response = httpx2.post(
        f"{sandbox.url}/sandbox/checkout",
        json={"order_id": order_id, "outcome": "success", "method": "upi", "key_id": KEY_ID},
    )
    assert response.status_code == 200, response.text
    paid: dict[str, Any] = response.json()
    return paid


def pay_online(api: Api, sandbox: SandboxGateway, home: f.Site, bill_id: int) -> str:
    """The customer pays a bill in full online; returns the payment's reference."""
    token = customer_token(api, home)
    started = api.data(START, {"a": str(home.account.id), "b": str(bill_id)}, token=token)
    checkout_ = started["startPayment"]["checkout"]
    paid = checkout(sandbox, checkout_["orderId"])
    confirmed = api.data(
        CONFIRM,
        {"o": paid["razorpay_order_id"], "p": paid["razorpay_payment_id"],
         "s": paid["razorpay_signature"]},
        token=token,
    )["confirmPayment"]  # fmt: skip
    assert confirmed["payment"]["status"] == "CAPTURED", confirmed
    reference: str = confirmed["payment"]["reference"]
    return reference


def test_customer_pays_own_bill_online(api: Api, sandbox: SandboxGateway) -> None:
    home = api.run(f.household)
    owed = api.run(f.bill, home, date(2026, 1, 1), payments=0)
    token = customer_token(api, home)
    unpaid = api.data(BILL, {"id": str(owed.id)}, token=token)["bill"]  # answer now cached
    assert unpaid == {"paidPaise": 0, "balanceDuePaise": OWED, "payments": []}

    started = api.data(START, {"a": str(home.account.id), "b": str(owed.id)}, token=token)
    assert started["startPayment"]["__typename"] == "StartPaymentSuccess", started
    checkout_ = started["startPayment"]["checkout"]
    assert checkout_["keyId"] == KEY_ID and checkout_["amountPaise"] == OWED
    assert checkout_["currency"] == "INR" and checkout_["prefill"]["email"] == home.customer.email
    assert checkout_["orderId"] in sandbox.state.orders

    paid = checkout(sandbox, checkout_["orderId"])
    assert paid["razorpay_order_id"] == checkout_["orderId"]
    forged = api.data(
        CONFIRM, {"o": paid["razorpay_order_id"], "p": paid["razorpay_payment_id"], "s": "0" * 64},
        token=token,
    )["confirmPayment"]  # fmt: skip
    assert forged == {"__typename": "PaymentError", "code": "VERIFICATION_FAILED", "field": None}
    confirmed = api.data(
        CONFIRM,
        {"o": paid["razorpay_order_id"], "p": paid["razorpay_payment_id"],
         "s": paid["razorpay_signature"]},
        token=token,
    )["confirmPayment"]  # fmt: skip
    assert confirmed == {
        "__typename": "PaymentSuccess",
        "payment": {"reference": checkout_["reference"], "status": "CAPTURED",
                    "method": "RAZORPAY", "amountPaise": OWED, "gatewayMethod": "upi"},
    }  # fmt: skip

    mine = api.data(MY_PAYMENTS, token=token)["myPayments"]["nodes"]
    assert mine == [
        {"reference": checkout_["reference"], "status": "CAPTURED", "method": "RAZORPAY",
         "amountPaise": OWED, "receiptNumber": None, "bill": {"id": str(owed.id)},
         "account": {"id": str(home.account.id)}},
    ]  # fmt: skip
    # The cached answer from before the payment is forgotten: the bill shows it paid.
    assert api.data(BILL, {"id": str(owed.id)}, token=token)["bill"] == {
        "paidPaise": OWED, "balanceDuePaise": 0,
        "payments": [{"reference": checkout_["reference"], "status": "CAPTURED",
                      "amountPaise": OWED}],
    }  # fmt: skip

    # Someone else's bill: not found, whichever account it is paired with.
    other = api.run(f.household)
    theirs = api.run(f.bill, other, date(2026, 1, 1), payments=0)
    on_mine = api.data(START, {"a": str(home.account.id), "b": str(theirs.id)}, token=token)
    assert on_mine["startPayment"] == {
        "__typename": "PaymentError", "code": "NOT_FOUND", "field": "billId"
    }  # fmt: skip
    on_theirs = api.data(START, {"a": str(other.account.id), "b": str(theirs.id)}, token=token)
    assert on_theirs["startPayment"] == {
        "__typename": "PaymentError", "code": "NOT_FOUND", "field": "accountId"
    }  # fmt: skip
    # Nor can they confirm (or learn about) my order.
    snooping = api.data(
        CONFIRM,
        {"o": paid["razorpay_order_id"], "p": paid["razorpay_payment_id"],
         "s": paid["razorpay_signature"]},
        token=customer_token(api, other),
    )["confirmPayment"]  # fmt: skip
    assert snooping["code"] == "NOT_FOUND"
    assert api.data(MY_PAYMENTS, token=customer_token(api, other))["myPayments"]["nodes"] == []
    assert len(sandbox.state.orders) == 1  # the refused attempts never reached the gateway


def test_staff_records_cash_with_gapless_receipts(api: Api, staff: str) -> None:
    home = api.run(f.household)
    token = customer_token(api, home)
    refused = api.gql(
        RECORD, {"a": str(home.account.id), "amount": 12_000, "method": "CASH"}, token=token
    )
    assert error_codes(refused) == ["FORBIDDEN"] and refused["data"] is None

    numbers = []
    for amount, method in ((12_000, "CASH"), (30_000, "CHEQUE")):
        recorded = api.data(
            RECORD, {"a": str(home.account.id), "amount": amount, "method": method}, token=staff
        )["recordOfflinePayment"]
        assert recorded["__typename"] == "PaymentSuccess", recorded
        payment = recorded["payment"]
        assert (payment["status"], payment["method"], payment["amountPaise"]) == (
            "CAPTURED", method, amount
        )  # fmt: skip
        assert payment["receivedOn"] == "2026-03-10"
        numbers.append(payment["receiptNumber"])
    assert numbers == ["RC/2025-26/000001", "RC/2025-26/000002"]

    receipt = api.data(RECEIPT, {"r": payment["reference"]}, token=staff)["paymentReceipt"]
    assert "RC/2025-26/000002" in receipt
    # The customer sees both counter payments, with their receipt numbers.
    mine = api.data(MY_PAYMENTS, token=token)["myPayments"]["nodes"]
    assert sorted(p["receiptNumber"] for p in mine) == numbers
    nowhere = {"a": "999999", "amount": 100, "method": "CASH"}
    missing = api.data(RECORD, nowhere, token=staff)["recordOfflinePayment"]
    assert missing == {"__typename": "PaymentError", "code": "NOT_FOUND", "field": "accountId"}


def test_staff_refund_shows_on_the_statement(api: Api, sandbox: SandboxGateway, staff: str) -> None:
    home = api.run(f.household)
    owed = api.run(f.bill, home, date(2026, 1, 1), payments=0)
    reference = pay_online(api, sandbox, home, owed.id)
    token = customer_token(api, home)

    by_customer = api.gql(REFUND, {"r": reference, "amount": 100, "why": "mine"}, token=token)
    assert error_codes(by_customer) == ["FORBIDDEN"]
    excess = {"r": reference, "amount": OWED + 1, "why": "typo"}
    too_much = api.data(REFUND, excess, token=staff)["refundPayment"]
    assert (too_much["code"], too_much["field"]) == ("INVALID_INPUT", "amount")

    part = api.data(
        REFUND, {"r": reference, "amount": 50_000, "why": "charged twice"}, token=staff
    )["refundPayment"]
    assert part["__typename"] == "RefundSuccess", part
    assert part["refund"]["amountPaise"] == 50_000 and part["refund"]["status"] == "PROCESSED"
    assert part["refund"]["reason"] == "charged twice"
    assert part["refund"]["gatewayRefundId"] in sandbox.state.refunds

    statement = api.data(STATEMENT, {"a": str(home.account.id)}, token=staff)["accountStatement"]
    assert statement["accountNumber"] == home.account.number
    lines = [(ln["kind"], ln["debitPaise"], ln["creditPaise"]) for ln in statement["lines"]]
    assert lines == [("PAYMENT", 0, OWED), ("REFUND", 50_000, 0)]
    assert statement["lines"][-1]["balancePaise"] == statement["closingBalancePaise"]
    assert statement["closingBalancePaise"] - statement["openingBalancePaise"] == 50_000 - OWED
    assert reference in statement["lines"][1]["description"]
    # The customer's own statement and bill agree.
    assert api.data(STATEMENT, {"a": str(home.account.id)}, token=token)["accountStatement"] == (
        statement
    )
    assert api.data(BILL, {"id": str(owed.id)}, token=token)["bill"]["balanceDuePaise"] == 50_000

    # Razorpay's webhooks for the same refund arrive afterwards on the mounted route: the
    # refund is not posted twice; a forged signature is turned away.
    refund = sandbox.state.refunds[part["refund"]["gatewayRefundId"]]
    body = sandbox.state.event_body(
        "refund.processed", refund=refund, payment=sandbox.state.payments[refund["payment_id"]]
    )
    first = webhook(api, body, "evt_api_refund_1")
    assert first.status_code == 200 and "already processed" in first.json()["outcome"]
    assert webhook(api, body, "evt_api_refund_2").status_code == 200  # another delivery
    assert webhook(api, body, "evt_api_refund_3", signature="0" * 64).status_code == 400
    replayed = api.data(STATEMENT, {"a": str(home.account.id)}, token=staff)["accountStatement"]
    assert replayed == statement

    rest = api.data(REFUND, {"r": reference, "amount": None, "why": "closing"}, token=staff)
    assert rest["refundPayment"]["refund"]["amountPaise"] == OWED - 50_000
    after = api.data(STATEMENT, {"a": str(home.account.id)}, token=staff)["accountStatement"]
    assert [ln["kind"] for ln in after["lines"]] == ["PAYMENT", "REFUND", "REFUND"]
    assert after["closingBalancePaise"] == after["openingBalancePaise"]
    mine = api.data(MY_PAYMENTS, token=token)["myPayments"]["nodes"]
    assert [(p["reference"], p["status"]) for p in mine] == [(reference, "REFUNDED")]
    again = api.data(REFUND, {"r": reference, "amount": None, "why": "again"}, token=staff)
    assert again["refundPayment"]["code"] == "INVALID_STATE"


def webhook(api: Api, body: bytes, event_id: str, signature: str | None = None) -> Any:
    """Razorpay delivering a webhook to ``POST /webhooks/razorpay``."""
    return api.client.post(
        "/webhooks/razorpay", content=body,
        headers={"X-Razorpay-Signature": signature or sign_webhook(WEBHOOK_SECRET, body),
                 "X-Razorpay-Event-Id": event_id, "Content-Type": "application/json"},
    )  # fmt: skip


def ingest_reads(api: Api, serial: str, values: list[int]) -> dict[str, Any]:
    """A head-end delivers daily register reads (kWh) on ``POST /ingest/readings``."""
    client = api.run(f.partner, ["readings:write"])
    credentials = base64.b64encode(f"{client.client_id}:{f.PARTNER_SECRET}".encode()).decode()
    start = datetime(2026, 3, 1, tzinfo=IST)
    body = "".join(
        json.dumps({"meter": serial, "timestamp": (start + timedelta(days=d)).isoformat(),
                    "reading": str(v)}) + "\n"
        for d, v in enumerate(values)
    )  # fmt: skip
    response = api.client.post(
        "/ingest/readings", content=body.encode(),
        headers={"Authorization": f"Basic {credentials}", "Content-Type": "application/x-ndjson"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    counts: dict[str, Any] = response.json()
    return counts


def test_staff_review_a_suspect_read(api: Api, staff: str) -> None:
    home = api.run(f.household, smart=True)
    delivered = ingest_reads(api, home.meter.serial, [1000, 1010, 990])  # the last goes back
    assert delivered["accepted"] == 3, delivered
    token = customer_token(api, home)

    refused = api.gql(QUEUE, {"status": "OPEN"}, token=token)
    assert set(error_codes(refused)) == {"FORBIDDEN"} and refused["data"] is None

    queue = api.data(QUEUE, {"status": "OPEN"}, token=staff)
    assert queue["validationExceptionCounts"] == [{"rule": "register_backwards", "count": 1}]
    (node,) = queue["validationExceptions"]["nodes"]
    assert (node["rule"], node["status"], node["meter"]) == (
        "register_backwards", "OPEN", {"serial": home.meter.serial}
    )  # fmt: skip
    assert node["read"]["quality"] == "SUSPECT" and node["interval"] is None
    assert "register_backwards" in node["read"]["qualityFlags"]

    by_customer = api.gql(ACCEPT, {"id": node["id"], "why": "fine"}, token=token)
    assert error_codes(by_customer) == ["FORBIDDEN"]
    no_reason = api.data(ACCEPT, {"id": node["id"], "why": "  "}, token=staff)
    assert no_reason["acceptValidationException"] == {
        "__typename": "MeterDataError", "code": "INVALID_INPUT", "field": "reason"
    }  # fmt: skip

    reason = "meter replaced on 3 March, old register read back"
    accepted = api.data(ACCEPT, {"id": node["id"], "why": reason}, token=staff)
    assert accepted["acceptValidationException"] == {
        "__typename": "ExceptionDecisionSuccess", "changed": 1,
        "exception": {"id": node["id"], "status": "ACCEPTED", "resolutionReason": reason,
                      "read": {"quality": "VALID", "revision": 2}},
    }  # fmt: skip
    twice = api.data(ACCEPT, {"id": node["id"], "why": reason}, token=staff)
    assert twice["acceptValidationException"]["code"] == "INVALID_STATE"

    after = api.data(QUEUE, {"status": "ACCEPTED"}, token=staff)
    assert after["validationExceptionCounts"] == []
    assert [n["id"] for n in after["validationExceptions"]["nodes"]] == [node["id"]]

    log = api.data(AUDIT, {"id": node["id"]}, token=staff)["auditLog"]["edges"]
    assert len(log) == 1, log
    entry = log[0]["node"]
    assert (entry["action"], entry["entity"], entry["entityId"], entry["reason"]) == (
        "vee.exception.accepted", "validation_exception", node["id"], reason
    )  # fmt: skip
    assert entry["before"] == {"status": "open"} and entry["after"]["status"] == "accepted"
    assert entry["actor"] is not None

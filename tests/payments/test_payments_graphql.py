"""The payments GraphQL fields, executed against a schema of just them, with each kind of caller."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from payments_helpers import checkout, make_account
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from tortoise.context import TortoiseContext

from api.context import Context
from api.resolvers.payments import PaymentMutations, PaymentQueries
from api.schema.common import BIG_INT, BigInt
from domain.access import Caller
from domain.enums import Role
from gateway import SandboxGateway
from gridbill.settings import Settings
from services.viewer import Viewer
from store.models import AccountHolder, Payment


@strawberry.type
class _Ping:
    ping: str = "pong"


schema = strawberry.Schema(
    query=merge_types("Query", (PaymentQueries, _Ping)),
    mutation=PaymentMutations,
    config=StrawberryConfig(scalar_map={BigInt: BIG_INT}),
)


async def run(settings: Settings, viewer: Viewer, query: str, **variables: Any) -> Any:
    context = Context(settings=settings, request=None, response=None, viewer=viewer)  # type: ignore[arg-type]
    outcome = await schema.execute(query, variable_values=variables, context_value=context)
    return outcome


def customer(customer_id: int, user_id: int | None = None) -> Viewer:
    return Viewer(
        caller=Caller(role=Role.CUSTOMER),
        user_id=user_id,
        customer_id=customer_id,
        label="customer",
    )


STAFF = Viewer(caller=Caller(role=Role.STAFF), label="staff")
PARTNER = Viewer(caller=Caller(role=None, scopes=frozenset({"payments:read"})), partner_id=1)

START = """mutation($a: ID!) { startPayment(input: {accountId: $a}) {
  __typename ... on StartPaymentSuccess { checkout { reference orderId keyId amountPaise prefill { email } } }
  ... on PaymentError { code message } } }"""
CONFIRM = """mutation($o: String!, $p: String!, $s: String!) {
  confirmPayment(input: {razorpayOrderId: $o, razorpayPaymentId: $p, razorpaySignature: $s}) {
  __typename ... on PaymentSuccess { payment { reference status amountPaise } }
  ... on PaymentError { code message } } }"""
RECORD = """mutation($a: ID!) { recordOfflinePayment(input: {accountId: $a, method: CASH,
  amountPaise: 12000, receivedOn: "2026-03-10"}) {
  __typename ... on PaymentSuccess { payment { reference receiptNumber status } }
  ... on PaymentError { code message field } } }"""
STATEMENT = """query($a: ID!) { accountStatement(accountId: $a) {
  accountNumber closingBalancePaise lines { kind debitPaise creditPaise balancePaise } } }"""


async def test_customer_pays_online_through_graphql(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway
) -> None:
    sandbox.config.drop_webhooks = True
    account = await make_account()
    holder = await AccountHolder.get(account=account)
    me = customer(holder.customer_id)  # type: ignore[attr-defined]
    started = await run(pay_settings, me, START, a=str(account.id))
    assert started.errors is None, started.errors
    data = started.data["startPayment"]
    assert data["__typename"] == "StartPaymentSuccess"
    assert data["checkout"]["amountPaise"] == 80_000
    assert data["checkout"]["prefill"]["email"] == "asha@example.com"
    paid = await checkout(sandbox, data["checkout"]["orderId"])
    confirmed = await run(
        pay_settings, me, CONFIRM, o=paid["razorpay_order_id"], p=paid["razorpay_payment_id"],
        s=paid["razorpay_signature"],
    )  # fmt: skip
    assert confirmed.data["confirmPayment"]["payment"]["status"] == "CAPTURED"
    bad = await run(pay_settings, me, CONFIRM, o=paid["razorpay_order_id"], p="pay_x", s="0" * 64)
    assert bad.data["confirmPayment"] == {
        "__typename": "PaymentError", "code": "VERIFICATION_FAILED",
        "message": "the payment signature does not verify",
    }  # fmt: skip

    statement = await run(pay_settings, me, STATEMENT, a=str(account.id))
    assert statement.data["accountStatement"]["closingBalancePaise"] == -80_000

    other = await make_account("ACC-OTHER")
    refused = await run(pay_settings, me, START, a=str(other.id))
    assert refused.data["startPayment"]["code"] == "NOT_FOUND"
    hidden = await run(pay_settings, me, STATEMENT, a=str(other.id))
    assert hidden.errors[0].extensions["code"] == "NOT_FOUND"
    partner = await run(pay_settings, PARTNER, START, a=str(account.id))
    assert partner.errors[0].extensions["code"] == "FORBIDDEN"


async def test_staff_record_counter_payments(db: TortoiseContext, pay_settings: Settings) -> None:
    account = await make_account()
    holder = await AccountHolder.get(account=account)
    forbidden = await run(
        pay_settings, customer(holder.customer_id, user_id=424242), RECORD, a=str(account.id)
    )  # type: ignore[attr-defined]
    assert forbidden.errors[0].extensions["code"] == "FORBIDDEN"
    recorded = await run(pay_settings, STAFF, RECORD, a=str(account.id))
    assert recorded.errors is None, recorded.errors
    payment = recorded.data["recordOfflinePayment"]["payment"]
    assert payment["receiptNumber"] == "RC/2025-26/000001" and payment["status"] == "CAPTURED"
    receipt = await run(
        pay_settings,
        STAFF,
        "query($r: String!) { paymentReceipt(reference: $r) }",
        r=payment["reference"],
    )
    assert "RC/2025-26/000001" in receipt.data["paymentReceipt"]
    missing = await run(pay_settings, STAFF, RECORD, a="999999")
    assert missing.data["recordOfflinePayment"]["code"] == "NOT_FOUND"
    bounce = await run(
        pay_settings, STAFF,
        'mutation($r: String!) { bounceCheque(input: {reference: $r, bouncedOn: "2026-03-11"}) '
        "{ __typename ... on PaymentError { code } } }",
        r=payment["reference"],
    )  # fmt: skip
    assert bounce.data["bounceCheque"] == {"__typename": "PaymentError", "code": "INVALID_STATE"}
    assert await Payment.filter(received_on=date(2026, 3, 10)).count() == 1

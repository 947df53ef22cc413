"""Online payments end to end: our services and webhook endpoint against the sandbox over HTTP."""

from __future__ import annotations

import asyncio
import json

import httpx2
import pytest
from payments_helpers import FIXTURES, checkout, make_account, wait_delivered
from tortoise.context import TortoiseContext

from domain.enums import PaymentStatus
from gateway import SandboxGateway, sign_webhook
from gridbill.settings import Settings
from services.errors import Refused
from services.payments.online import confirm_payment, start_payment
from store.models import (
    Bill,
    GatewayEvent,
    LedgerEntry,
    OutboxMessage,
    Payment,
    PaymentAllocation,
)
from tests.payment_sandbox import WEBHOOK_SECRET


async def ledger_keys() -> list[str]:
    return [e.source_key for e in await LedgerEntry.all().order_by("id")]


async def test_pay_a_bill_end_to_end(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    account = await make_account()
    oldest = await Bill.filter(account=account).order_by("period_start").first()
    assert oldest is not None
    started = await start_payment(pay_settings, account_id=account.id, bill_id=oldest.id)
    assert started.amount_paise == 50_000 and started.order_id.startswith("order_")
    assert started.prefill["email"] == "asha@example.com"
    assert sandbox.state.orders[started.order_id]["receipt"] == started.reference

    result = await checkout(sandbox, started.order_id)
    payment = await confirm_payment(pay_settings, **result)
    assert payment.status == PaymentStatus.CAPTURED
    await wait_delivered(sandbox)

    await oldest.refresh_from_db()
    assert oldest.paid_paise == 50_000
    assert await ledger_keys() == [f"payment:{started.reference}"]
    outbox = await OutboxMessage.all()
    assert [(o.event, o.recipient) for o in outbox] == [("payment.captured", "asha@example.com")]
    events = await GatewayEvent.all().order_by("id")
    assert sorted(e.event_type for e in events) == [
        "order.paid",
        "payment.authorized",
        "payment.captured",
    ]
    assert all(d.delivered and d.attempts == 1 for d in sandbox.state.deliveries)
    assert payment.gateway_payment_id == result["razorpay_payment_id"]


async def test_failed_checkout_posts_nothing(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id, amount_paise=20_000)
    result = await checkout(sandbox, started.order_id, outcome="failure")
    assert result["error"]["reason"] == "payment_failed"
    await wait_delivered(sandbox)
    payment = await Payment.get(reference=started.reference)
    assert payment.status == PaymentStatus.FAILED
    assert payment.failure_reason == "Payment failed"
    assert await ledger_keys() == []
    assert await PaymentAllocation.all().count() == 0

    # the customer tries again on the same order and succeeds: failed -> captured
    result = await checkout(sandbox, started.order_id)
    await wait_delivered(sandbox)
    payment = await Payment.get(reference=started.reference)
    assert payment.status == PaymentStatus.CAPTURED
    assert payment.gateway_payment_id == result["razorpay_payment_id"]
    assert await ledger_keys() == [f"payment:{started.reference}"]


async def test_webhook_replayed_five_times_is_one_payment(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id)
    await checkout(sandbox, started.order_id)
    await wait_delivered(sandbox)
    captured = next(d for d in sandbox.state.deliveries if d.event == "payment.captured")
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{sandbox.url}/sandbox/events/{captured.event_id}/redeliver", params={"times": 5}
        )
    assert response.json() == {"redelivering": 5}
    await wait_delivered(sandbox)
    assert (
        sum(d.event_id == captured.event_id and d.delivered for d in sandbox.state.deliveries) == 6
    )
    assert await ledger_keys() == [f"payment:{started.reference}"]
    assert await GatewayEvent.filter(event_id=captured.event_id).count() == 1
    assert await OutboxMessage.all().count() == 1
    bills = await Bill.filter(account=account).order_by("period_start")
    assert [b.paid_paise for b in bills] == [50_000, 30_000]


async def test_webhooks_before_callback_and_out_of_order(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    sandbox.config.out_of_order = True
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id, amount_paise=90_000)
    result = await checkout(sandbox, started.order_id)
    await wait_delivered(sandbox)  # order.paid, then payment.captured, then authorized
    payment = await Payment.get(reference=started.reference)
    assert payment.status == PaymentStatus.CAPTURED
    confirmed = await confirm_payment(pay_settings, **result)  # the app's callback, late
    assert confirmed.status == PaymentStatus.CAPTURED
    assert await ledger_keys() == [f"payment:{started.reference}"]
    rows = await PaymentAllocation.all().order_by("id")
    assert [(r.bill_id is None, r.amount_paise) for r in rows] == [
        (False, 50_000),
        (False, 30_000),
        (True, 10_000),  # overpayment held as credit
    ]


async def test_duplicate_deliveries_at_once(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    sandbox.config.duplicate = True
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id)
    await checkout(sandbox, started.order_id)
    await wait_delivered(sandbox)
    assert len(sandbox.state.deliveries) == 6
    assert all(d.delivered for d in sandbox.state.deliveries)
    assert await GatewayEvent.all().count() == 3
    assert await ledger_keys() == [f"payment:{started.reference}"]


async def test_two_callbacks_at_once_make_one_payment(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway, webhook_server: str
) -> None:
    sandbox.config.drop_webhooks = True
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id)
    result = await checkout(sandbox, started.order_id)
    first, second = await asyncio.gather(
        confirm_payment(pay_settings, **result), confirm_payment(pay_settings, **result)
    )
    assert first.id == second.id and first.status == second.status == PaymentStatus.CAPTURED
    assert await ledger_keys() == [f"payment:{started.reference}"]
    assert await PaymentAllocation.all().count() == 2
    assert await OutboxMessage.all().count() == 1


async def test_bad_callback_signature_is_refused(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway
) -> None:
    sandbox.config.drop_webhooks = True
    account = await make_account()
    started = await start_payment(pay_settings, account_id=account.id)
    result = await checkout(sandbox, started.order_id)
    result["razorpay_signature"] = "0" * 64
    with pytest.raises(Refused) as caught:
        await confirm_payment(pay_settings, **result)
    assert caught.value.code == "VERIFICATION_FAILED"
    assert (await Payment.get(reference=started.reference)).status == PaymentStatus.CREATED


async def post_event(
    url: str, body: bytes, *, event_id: str, signature: str | None = None
) -> httpx2.Response:
    headers = {
        "Content-Type": "application/json",
        "X-Razorpay-Signature": signature or sign_webhook(WEBHOOK_SECRET, body),
        "X-Razorpay-Event-Id": event_id,
    }
    async with httpx2.AsyncClient() as http:
        return await http.post(url, content=body, headers=headers)


async def test_tampered_webhook_is_400_and_records_nothing(
    db: TortoiseContext, pay_settings: Settings, webhook_server: str
) -> None:
    account = await make_account()
    await Payment.create(
        reference="PAY-T-1", account=account, method="razorpay", amount_paise=100,
        gateway_order_id="order_DESxiijbl9xjDB",
    )  # fmt: skip
    body = (FIXTURES / "payment_captured__upi.json").read_bytes()
    signature = sign_webhook(WEBHOOK_SECRET, body)
    tampered = body.replace(b'"amount": 100,', b'"amount": 1,', 1)
    response = await post_event(webhook_server, tampered, event_id="evt_t1", signature=signature)
    assert response.status_code == 400
    stripped = await post_event(
        webhook_server, body.rstrip(b"\n"), event_id="evt_t2", signature=signature
    )
    assert stripped.status_code == 400
    unsigned = await post_event(webhook_server, body, event_id="evt_t3", signature="x")
    assert unsigned.status_code == 400
    assert await GatewayEvent.all().count() == 0
    assert await ledger_keys() == []
    # the untouched body is accepted and captures our payment
    response = await post_event(webhook_server, body, event_id="evt_t4", signature=signature)
    assert response.status_code == 200, response.text
    assert (await Payment.get(reference="PAY-T-1")).status == PaymentStatus.CAPTURED


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.json")))
async def test_real_razorpay_samples_are_accepted(
    db: TortoiseContext, pay_settings: Settings, webhook_server: str, name: str
) -> None:
    body = (FIXTURES / name).read_bytes()
    response = await post_event(webhook_server, body, event_id=f"evt_{name[:40]}")
    assert response.status_code == 200, response.text
    event = await GatewayEvent.get(event_id=f"evt_{name[:40]}")
    assert event.event_type == json.loads(body)["event"]
    stored = json.dumps(event.payload)
    assert "last4" not in stored and '"card":' not in stored  # no card data is stored


async def test_without_a_webhook_secret_every_webhook_is_refused(
    db: TortoiseContext, pay_settings: Settings
) -> None:
    from dataclasses import replace

    from services.payments.online import handle_webhook

    body = (FIXTURES / "payment_captured__upi.json").read_bytes()
    unset = replace(pay_settings, razorpay_webhook_secret="", razorpay_key_secret="")
    result = await handle_webhook(
        unset, body=body, signature=sign_webhook("", body), event_id="evt_x"
    )
    assert result.status_code == 400
    ok = await handle_webhook(
        replace(pay_settings, razorpay_key_secret=""),
        body=body,
        signature=sign_webhook(WEBHOOK_SECRET, body),
        event_id="evt_" + "y" * 80,
    )
    assert ok.status_code == 200  # the key secret is not needed to verify webhooks
    assert await GatewayEvent.filter(event_id="evt_" + "y" * 60).count() == 1

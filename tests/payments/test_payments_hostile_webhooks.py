"""Hostile but correctly signed webhooks: refused whole with a 400, never a 500, never half-applied.

Regression tests for issue 12 (payload a string or a list, amount ``"abc"`` or
``10000.5``, nesting 50,000 deep, a payment id already captured on another order) and a
Hypothesis property over arbitrary signed bodies: whatever arrives, the answer is 200 or
400, and a 400 leaves the event log and every payment exactly as they were.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payments_helpers import make_account
from tortoise.context import TortoiseContext

from domain.enums import PaymentMethod, PaymentStatus
from gateway import sign_webhook
from gridbill.settings import Settings
from services.payments.online import handle_webhook
from store.models import Account, GatewayEvent, Payment
from tests.payment_sandbox import WEBHOOK_SECRET

ORDER = "order_hostile0001"


async def a_payment(account: Account, order: str = ORDER, amount: int = 10_000) -> Payment:
    return await Payment.create(
        reference=f"ref-{order}", account=account, method=PaymentMethod.RAZORPAY,
        amount_paise=amount, gateway_order_id=order,
    )  # fmt: skip


def captured(amount: Any, *, order: str = ORDER, payment_id: str = "pay_hostile0001") -> Any:
    entity = {"id": payment_id, "order_id": order, "amount": amount, "currency": "INR",
              "status": "captured", "method": "upi"}  # fmt: skip
    return {"event": "payment.captured", "payload": {"payment": {"entity": entity}}}


async def deliver(settings: Settings, body: bytes, event_id: str = "") -> tuple[int, str]:
    result = await handle_webhook(
        settings, body=body, signature=sign_webhook(WEBHOOK_SECRET, body), event_id=event_id
    )
    return result.status_code, result.outcome


async def snapshot() -> Any:
    payments = await Payment.all().order_by("id").values("id", "status", "gateway_payment_id")
    return payments, await GatewayEvent.all().count()


async def test_misshapen_signed_bodies_are_refused_whole(
    db: TortoiseContext, pay_settings: Settings
) -> None:
    await a_payment(await make_account())
    before = await snapshot()
    bodies = [
        {"event": "payment.captured", "payload": "a string"},
        {"event": "payment.captured", "payload": ["a", "list"]},
        captured("abc"),
        captured(10000.5),
        captured(True),
        captured(10_000, order="o" * 500),
        ["not", "an", "object"],
        "just a string",
        None,
        {"event": "payment.captured", "note\x00": 1},  # PostgreSQL cannot store a NUL
        {**captured(10_000), "contains": "a\x00b"},
    ]
    for body in bodies:
        status, outcome = await deliver(pay_settings, json.dumps(body).encode())
        assert status == 400, (body, outcome)
        assert outcome.startswith("not a Razorpay event"), outcome
    nested = b'{"event": "payment.captured", "payload": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert (await deliver(pay_settings, nested))[0] == 400
    assert await snapshot() == before


async def test_a_fractional_amount_is_never_truncated_onto_an_order(
    db: TortoiseContext, pay_settings: Settings
) -> None:
    payment = await a_payment(await make_account())
    status, _ = await deliver(pay_settings, json.dumps(captured(10000.5)).encode())
    assert status == 400
    await payment.refresh_from_db()
    assert payment.status == PaymentStatus.CREATED and payment.gateway_payment_id is None
    status, outcome = await deliver(pay_settings, json.dumps(captured(10_000)).encode())
    assert (status, outcome) == (200, "created -> captured")


async def test_a_payment_id_captured_on_another_order_is_not_applied(
    db: TortoiseContext, pay_settings: Settings
) -> None:
    account = await make_account()
    first = await a_payment(account, "order_first000001")
    second = await a_payment(account, "order_second00001")
    body = json.dumps(captured(10_000, order="order_first000001", payment_id="pay_same")).encode()
    assert (await deliver(pay_settings, body, "evt_1"))[0] == 200
    again = json.dumps(captured(10_000, order="order_second00001", payment_id="pay_same")).encode()
    status, outcome = await deliver(pay_settings, again, "evt_2")
    assert status == 200 and "already recorded on another order" in outcome
    await first.refresh_from_db()
    await second.refresh_from_db()
    assert (first.status, first.gateway_payment_id) == (PaymentStatus.CAPTURED, "pay_same")
    assert (second.status, second.gateway_payment_id) == (PaymentStatus.CREATED, None)
    logged = await GatewayEvent.get(event_id="evt_2")
    assert logged.outcome == outcome


def json_values(depth: int = 3) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text(max_size=12)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=8,
    )


entities = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.just("pay_prop"), json_values()),
        "order_id": st.one_of(st.just(ORDER), json_values()),
        "amount": st.one_of(st.just(10_000), st.integers(), json_values()),
        "currency": st.one_of(st.just("INR"), json_values()),
        "status": st.one_of(st.sampled_from(["captured", "failed", "authorized"]), json_values()),
    },
)
events = st.fixed_dictionaries(
    {"event": st.one_of(st.sampled_from(["payment.captured", "payment.failed"]), json_values())},
    optional={
        "payload": st.one_of(
            json_values(),
            st.fixed_dictionaries(
                {"payment": st.one_of(json_values(), st.fixed_dictionaries({"entity": entities}))}
            ),
        )
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(events, json_values()))
async def test_any_signed_body_is_answered_200_or_400_and_a_400_changes_nothing(
    db: TortoiseContext, pay_settings: Settings, body: Any
) -> None:
    if not await Account.exists():
        await a_payment(await make_account())
    before = await snapshot()
    status, outcome = await deliver(pay_settings, json.dumps(body).encode())
    assert status in (200, 400), outcome
    after = await snapshot()
    if status == 400:
        assert after == before
    else:
        assert after[1] in (before[1], before[1] + 1)  # one event row, or a duplicate

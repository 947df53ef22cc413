"""Subscriptions over graphql-transport-ws: authenticated at connection, only your own events,
and events published by another process reach the subscriber (LISTEN/NOTIFY on PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
from datetime import date
from typing import Any

import asyncpg
import pytest
from api_helpers import Api
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from services import events
from tests import factories as f

PROTOCOL = "graphql-transport-ws"
BILL_EVENTS = "subscription { billEvents { event billId bill { number status } } }"


def connect(ws: WebSocketTestSession, token: str | None) -> dict[str, Any]:
    payload = {"Authorization": f"Bearer {token}"} if token else {}
    ws.send_json({"type": "connection_init", "payload": payload})
    message: dict[str, Any] = ws.receive_json()
    return message


def wait_for_subscribers(count: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hub = events.hub()
        if hub is not None and len(hub.queues) >= count:
            return
        time.sleep(0.01)
    raise AssertionError("the subscription did not start")


async def notify_from_elsewhere(database_url: str, event: events.Event) -> None:
    """What another server process or a worker does: NOTIFY on its own connection."""
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT pg_notify($1, $2)", events.CHANNEL, event.encode())
    finally:
        await connection.close()


def test_a_customer_hears_of_their_own_bills_only(api: Api, backend: str) -> None:
    home, neighbour = api.run(f.household), api.run(f.household)
    bill = api.run(f.bill, home, date(2020, 1, 1))
    theirs = api.run(f.bill, neighbour, date(2020, 1, 1))
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        assert connect(ws, api.token(home.user))["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": BILL_EVENTS}})
        wait_for_subscribers(1)
        neighbours = events.Event("bill.issued", neighbour.customer.id, {"bill_id": theirs.id})
        mine = events.Event("bill.issued", home.customer.id, {"bill_id": bill.id})
        if backend == "postgres":
            for event in (neighbours, mine):
                asyncio.run(notify_from_elsewhere(api.settings.database_url, event))
        else:
            api.run(
                events.publish, "bill.issued", customer_id=neighbour.customer.id, bill_id=theirs.id
            )
            api.run(events.publish, "bill.issued", customer_id=home.customer.id, bill_id=bill.id)
        message = ws.receive_json()
        assert message["type"] == "next" and message["id"] == "1"
        assert message["payload"]["data"]["billEvents"] == {
            "event": "bill.issued", "billId": str(bill.id), "bill": {"number": bill.number, "status": "ISSUED"},
        }  # fmt: skip
        ws.send_json({"id": "1", "type": "complete"})


def test_payment_events_from_the_payments_code(api: Api) -> None:
    home = api.run(f.household)
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        connect(ws, api.token(home.user))
        ws.send_json({"id": "p", "type": "subscribe", "payload": {
            "query": "subscription { paymentEvents { event paymentId amountPaise status } }"}})  # fmt: skip
        wait_for_subscribers(1)
        api.run(events.publish, "payment.captured", customer_id=home.customer.id, payment_id=7,
                amount_paise=150_000, status="captured")  # fmt: skip
        data = ws.receive_json()["payload"]["data"]["paymentEvents"]
        assert data == {
            "event": "payment.captured",
            "paymentId": "7",
            "amountPaise": 150_000,
            "status": "captured",
        }


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_a_socket_without_a_valid_token_is_refused(api: Api, token: str | None) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        ws.send_json({"type": "connection_init", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4403


def test_staff_cannot_subscribe_to_customer_events(api: Api) -> None:
    from domain.enums import Role

    staff = api.run(f.user, Role.STAFF)
    with api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        connect(ws, api.token(staff))
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": BILL_EVENTS}})
        message = ws.receive_json()
        assert message["type"] == "error"
        assert message["payload"][0]["extensions"]["code"] == "FORBIDDEN"

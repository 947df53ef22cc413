"""Issue 21: a WebSocket never outlives its token, its bearer's standing, or its limits.

The server closes the socket with 4401 when the access token expires, and 4403 when the
person is deactivated (found by the watchdog or by the next operation); a socket holds at
most GRIDBILL_WS_MAX_SUBSCRIPTIONS operations and a person GRIDBILL_WS_MAX_SOCKETS_PER_USER
sockets. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from api_helpers import Api, MakeApi
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from domain.enums import Role
from services.identity.tokens import issue_user_token
from store.models import User
from tests import factories as f

PROTOCOL = "graphql-transport-ws"
BILL_EVENTS = "subscription { billEvents { event billId } }"


def open_socket(api: Api, token: str) -> Any:
    return api.client.websocket_connect("/graphql", subprotocols=[PROTOCOL])


def init(ws: WebSocketTestSession, token: str) -> dict[str, Any]:
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    message: dict[str, Any] = ws.receive_json()
    return message


def closed_with(ws: WebSocketTestSession) -> tuple[int, str]:
    """Read until the server closes the socket; its close code and reason."""
    with pytest.raises(WebSocketDisconnect) as closed:
        while True:
            ws.receive_json()
    return closed.value.code, closed.value.reason


def short_lived(api: Api, user: User, seconds: float) -> str:
    ttl = api.settings.access_token_ttl_s
    token, _ = issue_user_token(
        api.settings, user_id=user.id, role=Role(user.role),
        customer_id=user.customer_id,  # type: ignore[attr-defined]
        now=time.time() - ttl + seconds,
    )  # fmt: skip
    return token


def test_the_socket_closes_with_4401_when_the_token_expires(api: Api) -> None:
    home = api.run(f.household)
    assert home.user is not None
    with open_socket(api, "") as ws:
        assert init(ws, short_lived(api, home.user, 2))["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": BILL_EVENTS}})
        started = time.monotonic()
        code, reason = closed_with(ws)
    assert code == 4401 and "expired" in reason
    assert time.monotonic() - started < 6


def test_an_operation_after_deactivation_closes_the_socket_with_4403(make_api: MakeApi) -> None:
    api = make_api(GRIDBILL_SESSION_CHECK_TTL="0")
    home = api.run(f.household)
    assert home.user is not None
    with open_socket(api, "") as ws:
        assert init(ws, api.token(home.user))["type"] == "connection_ack"
        ws.send_json({"id": "q1", "type": "subscribe", "payload": {"query": "{ me { role } }"}})
        assert ws.receive_json()["payload"]["data"] == {"me": {"role": "CUSTOMER"}}
        assert ws.receive_json()["type"] == "complete"
        api.run(User.filter(id=home.user.id).update, is_active=False)
        ws.send_json({"id": "q2", "type": "subscribe", "payload": {"query": "{ me { role } }"}})
        code, reason = closed_with(ws)
    assert (code, reason) == (4403, "this account is not active")


def test_the_watchdog_closes_a_listening_socket_after_deactivation(make_api: MakeApi) -> None:
    api = make_api(GRIDBILL_SESSION_CHECK_TTL="0", GRIDBILL_WS_RECHECK="1")
    home = api.run(f.household)
    assert home.user is not None
    with open_socket(api, "") as ws:
        assert init(ws, api.token(home.user))["type"] == "connection_ack"
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": BILL_EVENTS}})
        api.run(User.filter(id=home.user.id).update, is_active=False)
        assert closed_with(ws) == (4403, "this account is not active")


def test_subscriptions_per_socket_and_sockets_per_person_are_limited(make_api: MakeApi) -> None:
    api = make_api(GRIDBILL_WS_MAX_SUBSCRIPTIONS="2", GRIDBILL_WS_MAX_SOCKETS_PER_USER="1")
    home = api.run(f.household)
    assert home.user is not None
    token = api.token(home.user)
    with open_socket(api, token) as ws:
        assert init(ws, token)["type"] == "connection_ack"
        for n in ("1", "2", "3"):
            ws.send_json({"id": n, "type": "subscribe", "payload": {"query": BILL_EVENTS}})
        refused = ws.receive_json()
        assert (refused["id"], refused["type"]) == ("3", "error")
        assert refused["payload"][0]["extensions"] == {"code": "TOO_MANY_SUBSCRIPTIONS", "limit": 2}
        with open_socket(api, token) as second:
            second.send_json({"type": "connection_init", "payload": {"token": token}})
            code, reason = closed_with(second)
        assert (code, reason) == (4429, "at most 1 open sockets per person")
        ws.send_json({"id": "1", "type": "complete"})
        ws.send_json({"id": "4", "type": "subscribe", "payload": {"query": "{ me { role } }"}})
        assert ws.receive_json()["payload"]["data"] == {"me": {"role": "CUSTOMER"}}
    with open_socket(api, token) as again:  # the closed socket no longer counts
        assert init(again, token)["type"] == "connection_ack"

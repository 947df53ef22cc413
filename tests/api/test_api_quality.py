"""How the API behaves under abuse and failure: limits, masking, request ids, the answer cache."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from api_helpers import Api, error_codes

from services import events
from tests import factories as f

BILLS = (
    "{ myBills(first: 12) { edges { node { id number totalPaise lines { code amountPaise } } } } }"
)


def test_query_depth_is_limited(api: Api) -> None:
    nested = "number"
    for _ in range(6):
        nested = f"account {{ bills {{ edges {{ node {{ {nested} }} }} }} }}"
    body = api.gql(f"{{ myBills {{ edges {{ node {{ {nested} }} }} }} }}")
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


def test_aliases_are_limited(api: Api) -> None:
    query = "{ " + " ".join(f"a{i}: health {{ status }}" for i in range(31)) + " }"
    body = api.gql(query)
    assert "aliases found" in body["errors"][0]["message"].lower()
    assert "data" not in body or body["data"] is None


def test_tokens_are_limited(api: Api) -> None:
    query = "{ health { " + " ".join(["status"] * 5000) + " } }"
    body = api.gql(query)
    assert "more than 4000 tokens" in body["errors"][0]["message"]


def test_request_bodies_are_limited(api: Api) -> None:
    big = "x" * (api.settings.api_max_body_bytes + 1)
    response = api.client.post(
        "/graphql", json={"query": "{ health { status } }", "variables": {"pad": big}}
    )
    assert response.status_code == 413
    response = api.client.post(
        "/graphql", content=b"{" + b" " * (api.settings.api_max_body_bytes + 10) + b"}",
        headers={"content-type": "application/json", "transfer-encoding": "chunked"},
    )  # fmt: skip
    assert response.status_code == 413


def test_unexpected_errors_are_masked_and_logged_with_the_request_id(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    home = api.run(f.household)

    async def broken(user_id: int) -> list[object]:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr("services.notifications.preferences.preferences", broken)
    with caplog.at_level(logging.ERROR, logger="gridbill.api"):
        response = api.post("{ notificationPreferences { event } }", token=api.token(home.user),
                            headers={"X-Request-ID": "req-12345678"})  # fmt: skip
    body = response.json()
    assert response.headers["x-request-id"] == "req-12345678"
    assert body["errors"] == [
        {"message": "Internal server error", "locations": [{"line": 1, "column": 3}],
         "path": ["notificationPreferences"], "extensions": {"code": "INTERNAL", "requestId": "req-12345678"}}
    ]  # fmt: skip
    assert "hunter2" not in response.text and "Traceback" not in response.text
    logged = [r for r in caplog.records if "req-12345678" in r.getMessage()]
    assert logged and logged[0].exc_info is not None and "hunter2" in str(logged[0].exc_info[1])


def test_every_response_has_a_request_id(api: Api) -> None:
    first = api.client.get("/healthz").headers["x-request-id"]
    second = api.client.get("/healthz").headers["x-request-id"]
    assert first != second and len(first) == 16
    assert (
        api.client.get("/healthz", headers={"X-Request-ID": "bad id!"}).headers["x-request-id"]
        != "bad id!"
    )


def test_validation_errors_are_not_masked(api: Api) -> None:
    body = api.gql("{ myBills { nope } }")
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]


def test_answers_are_cached_per_customer_until_one_of_their_events(api: Api) -> None:
    home, other = api.run(f.household), api.run(f.household)
    api.run(f.bill, home, date(2020, 1, 1))
    api.run(f.bill, other, date(2020, 1, 1))
    cache = api.client.app.state.response_cache  # type: ignore[attr-defined]
    token, other_token = api.token(home.user), api.token(other.user)

    first = api.data(BILLS, token=token)
    hits = cache.hits
    assert api.data(BILLS, token=token) == first and cache.hits == hits + 1
    theirs = api.data(BILLS, token=other_token)  # another customer: never my cached answer
    assert theirs != first

    api.run(f.bill, home, date(2020, 2, 1))  # a new bill, not yet announced
    assert len(api.data(BILLS, token=token)["myBills"]["edges"]) == 1
    api.run(events.publish, "bill.issued", customer_id=home.customer.id, bill_id=0)
    assert len(api.data(BILLS, token=token)["myBills"]["edges"]) == 2
    # the neighbour's cached answer survived my event
    hits = cache.hits
    assert api.data(BILLS, token=other_token) == theirs and cache.hits == hits + 1


def test_what_is_not_cached(api: Api) -> None:
    home = api.run(f.household)
    cache = api.client.app.state.response_cache  # type: ignore[attr-defined]
    token = api.token(home.user)
    for query in (
        "{ me { email } }",
        "{ myBills { edges { cursor } } me { email } }",
        '{ bill(id: "999") { id } }',
    ):
        api.gql(query, token=token)
        api.gql(query, token=token)
    assert cache.hits == 0 and len(cache.entries) == 0
    assert error_codes(api.gql('{ bill(id: "999") { id } }', token=token)) == ["NOT_FOUND"]


def test_routes_with_their_own_limits_are_not_capped_here() -> None:
    from api.limits import BodySizeLimit

    seen: list[int] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        message = await receive()  # type: ignore[operator]
        seen.append(len(message["body"]))

    limited = BodySizeLimit(app, max_bytes=10)  # type: ignore[arg-type]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"x" * 100, "more_body": False}

    async def send(message: object) -> None:
        seen.append(-1)

    import asyncio

    asyncio.run(limited({"type": "http", "path": "/sync/v1/push", "headers": []}, receive, send))
    assert seen == [100]

"""Issue 12 and 21: every input that used to reach a 500 (or a masked INTERNAL) is a clear 4xx.

Each reproduction from the two outside tests is here, on SQLite and PostgreSQL: PDF links
with a non-ASCII or repeated signature, GraphQL bodies that are not objects or nest
50,000 deep, over-long strings, NUL bytes, integers past a column's range, a BigInt past
64 bits, and a non-ASCII webhook signature header.
"""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import Api, MakeApi, error_codes
from starlette.testclient import TestClient

from api import http
from api.app import create_app
from domain.enums import Role
from gridbill.settings import Settings
from services.billing.downloads import PURPOSE
from services.identity.tokens import sign_link
from tests import factories as f


def post_raw(api: Api, body: bytes) -> Any:
    return api.client.post("/graphql", content=body, headers={"content-type": "application/json"})


def staff_token(api: Api) -> str:
    return api.token(api.run(f.user, Role.STAFF))


def test_pdf_links_with_a_non_ascii_or_repeated_signature_are_refused(api: Api) -> None:
    expires, sig = sign_link(api.settings, PURPOSE, 7)
    response = api.client.get(f"/bills/7/pdf?expires={expires}&sig=%C3%A9{sig[2:]}")
    assert (response.status_code, response.json()) == (403, {"error": "bad signature"})
    for query in (
        f"expires={expires}&sig=0{sig[1:]}&sig={sig}",
        f"expires={expires}&sig={sig}&sig=0{sig[1:]}",
        f"expires={expires}&expires={expires}&sig={sig}",
    ):
        response = api.client.get(f"/bills/7/pdf?{query}")
        assert response.status_code == 400, query
        assert "once" in response.json()["error"]
    assert api.client.get(f"/bills/7/pdf?expires={expires}&sig={sig}").status_code == 404


@pytest.mark.parametrize("env", ["test", "production"])
def test_graphql_bodies_that_are_not_objects_or_nest_too_deep_are_400(
    make_api: MakeApi, env: str
) -> None:
    api = make_api(GRIDBILL_ENV=env)
    for body in (b"null", b"5", b'"x"', b"[1, 2]", b"{", b"\xff\xfe"):
        response = post_raw(api, body)
        assert response.status_code == 400, body
    named = post_raw(api, b'{"query": "{ __typename }", "operationName": 5}')
    assert (named.status_code, named.text) == (400, "operationName must be a string or null")
    deep = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 50_000 + b"]" * 50_000
    response = post_raw(api, deep + b"}}")
    assert response.status_code == 400 and "not valid JSON" in response.text
    fairly = b'{"query": "{ __typename }", "variables": {"v": ' + b"[" * 40 + b"]" * 40 + b"}}"
    response = post_raw(api, fairly)
    assert response.status_code == 400 and "nests deeper than 32" in response.text
    assert post_raw(api, b'{"query": "{ __typename }"}').json() == {"data": {"__typename": "Query"}}


def test_string_arguments_longer_than_their_column_are_bad_input(api: Api) -> None:
    token = staff_token(api)
    body = api.gql('{ meterBySerial(serial: "%s") { id } }' % ("M" * 41), token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "serial"
    assert "longer than 40" in body["errors"][0]["message"]
    created = api.data(
        "mutation($s: String!) { createMeter(input: {serial: $s, kind: SMART}) {"
        " __typename ... on Error { code field message } } }",
        {"s": "S" * 41},
        token=token,
    )["createMeter"]
    assert (created["code"], created["field"]) == ("INVALID_INPUT", "serial")


def test_nul_bytes_are_bad_input_in_any_string_argument(api: Api) -> None:
    token = staff_token(api)
    body = api.gql("query($s: String!) { meterBySerial(serial: $s) { id } }", {"s": "M1\x00"},
                   token=token)  # fmt: skip
    assert error_codes(body) == ["BAD_USER_INPUT"] and "NUL" in body["errors"][0]["message"]
    literal = api.gql('{ meterBySerial(serial: "M1\\u0000") { id } }', token=token)
    assert error_codes(literal) == ["BAD_USER_INPUT"]
    home = api.run(f.household)
    confirm = api.data(
        "mutation($o: String!) { confirmPayment(input: {razorpayOrderId: $o, "
        'razorpayPaymentId: "pay_1", razorpaySignature: "00"}) { __typename '
        "... on Error { code field } } }",
        {"o": "order_\x00"},
        token=api.token(home.user),
    )["confirmPayment"]
    assert (confirm["code"], confirm["field"]) == ("INVALID_INPUT", "razorpayOrderId")


def test_integers_past_a_columns_range_are_bad_input(api: Api) -> None:
    token = staff_token(api)
    for field, value in (("manufacturedYear", 70945), ("phases", 40000), ("phases", -40000)):
        created = api.data(
            'mutation($v: Int!) { createMeter(input: {serial: "Y1", kind: SMART, FIELD: $v}) {'
            " __typename ... on Error { code field message } } }".replace("FIELD", field),
            {"v": value},
            token=token,
        )["createMeter"]
        assert (created["code"], created["field"]) == ("INVALID_INPUT", field), created
    ok = api.data(
        'mutation { createMeter(input: {serial: "Y1", kind: SMART, manufacturedYear: 2024}) {'
        " __typename } }",
        token=token,
    )
    assert ok["createMeter"]["__typename"] != "OperationError"


def test_a_big_int_past_64_bits_or_fractional_is_refused_before_any_resolver(api: Api) -> None:
    home = api.run(f.household)
    token = api.token(home.user)
    literal = api.gql(
        f'mutation {{ startPayment(input: {{accountId: "{home.account.id}", '
        "amountPaise: 9223372036854775808}) { __typename } }",
        token=token,
    )
    assert literal["data"] is None and "INTERNAL" not in error_codes(literal)
    for value in (9223372036854775808, 10000.5, True, "abc"):
        body = api.gql(
            "mutation($a: ID!, $p: BigInt) { startPayment(input: {accountId: $a, "
            "amountPaise: $p}) { __typename } }",
            {"a": str(home.account.id), "p": value},
            token=token,
        )
        assert body.get("data") is None and "INTERNAL" not in error_codes(body), value
        assert "BigInt" in body["errors"][0]["message"]


def test_a_non_ascii_webhook_signature_header_is_400(make_api: MakeApi) -> None:
    api = make_api(RAZORPAY_WEBHOOK_SECRET="a-webhook-secret")
    response = api.client.post(
        "/webhooks/razorpay",
        content=b'{"event": "payment.captured"}',
        headers={"X-Razorpay-Signature": "\u00e9abc".encode()},  # type: ignore[dict-item]
    )
    assert (response.status_code, response.json()["status"]) == (400, "rejected")


def test_a_bug_outside_graphql_is_a_500_with_the_request_id_and_no_traceback(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("a bug with a secret in its message")

    monkeypatch.setattr(http, "check_link", broken)  # a deliberate bug: there is no real one
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        expires, sig = sign_link(settings, PURPOSE, 7)
        response = client.get(
            f"/bills/7/pdf?expires={expires}&sig={sig}", headers={"X-Request-ID": "req-12345678"}
        )
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error", "requestId": "req-12345678"}
    assert response.headers["x-request-id"] == "req-12345678"
    assert "secret" not in response.text and "Traceback" not in response.text


def test_hostile_credentials_and_token_bodies_are_4xx(api: Api) -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    response = api.client.post(
        "/oauth/token", content=deep, headers={"content-type": "application/json"}
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
    odd = "\u00e9\u0000\U0001f600".encode()
    for path, method in (("/graphql", "POST"), ("/oauth/token", "POST"),
                         ("/ingest/readings", "POST"), ("/sync/v1/pull", "GET")):  # fmt: skip
        for scheme in (b"Bearer ", b"Basic ", b"Device "):
            response = api.client.request(
                method, path, headers={"authorization": scheme + odd}, content=b"{}"
            )
            assert response.status_code < 500, (path, scheme, response.text)

"""What a newcomer does after `make run`: sign in with the demo details printed, explore."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import date

import pytest
from api_helpers import Api
from starlette.testclient import TestClient

from api.app import create_app
from demo.loader import load_demo_data
from gridbill.settings import Settings
from services.bill_run import run_bill_run
from services.billing import draft_ids, issue_bills
from services.viewer import acting_as

SIGN_IN = """mutation($login: String!, $password: String!) { signIn(input: {login: $login, password: $password}) {
  __typename ... on AuthPayload { accessToken user { role } } ... on AuthError { code } } }"""


@pytest.fixture
def demo(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Iterator[tuple[Api, str]]:
    """The demo utility loaded as `make run` does, then the server started on it."""
    asyncio.run(load_demo_data(settings, customers=20, progress=False, today=date(2026, 5, 10)))
    printed = capsys.readouterr().out
    with TestClient(create_app(settings)) as client:
        yield Api(client, settings), printed


def sign_in(api: Api, login: str, password: str) -> str:
    answer = api.data(SIGN_IN, {"login": login, "password": password})["signIn"]
    assert answer["__typename"] == "AuthPayload", answer
    token: str = answer["accessToken"]
    return token


def test_the_demo_sign_ins_work_for_every_audience(demo: tuple[Api, str], on_sqlite: None) -> None:
    api, printed = demo
    people = dict(
        re.findall(
            r"^\s+(?:admin|staff|meter reader|customer)\s+(\S+@\S+)\s+(\S+)", printed, re.MULTILINE
        )
    )
    assert "admin@gridbill.example" in people
    admin = sign_in(api, "admin@gridbill.example", people["admin@gridbill.example"])
    found = api.data(
        '{ customers(search: "BP") { edges { node { number } } } tariffs { code } }', token=admin
    )
    assert found["customers"]["edges"] and {t["code"] for t in found["tariffs"]} >= {"LT-1A"}

    # bill the demo's last month as staff would, so the customers have something to read
    for cycle in ("CYC-01", "CYC-02", "CYC-03", "CYC-04"):
        api.run(run_bill_run, cycle_code=cycle, period="2026-04", zone=api.settings.zone)
        ids = api.run(draft_ids, cycle_code=cycle, period="2026-04")
        api.run(
            issue_bills,
            acting_as("test"),
            ids,
            issue_date=date(2026, 5, 8),
            utility_name=api.settings.utility_name,
            payee_vpa=api.settings.upi_vpa,
        )

    customer_email, password = next((e, p) for e, p in people.items() if p == "demo-customer-1")
    customer = sign_in(api, customer_email, password)
    mine = api.data(
        """{ me { customer { number } } myAccounts { id number tariff { code } }
             myBills(first: 12) { edges { node { number lines { description amountPaise } pdfUrl } } } }""",
        token=customer,
    )
    account = mine["myAccounts"][0]["id"]
    assert mine["myBills"]["edges"][0]["node"]["lines"]
    usage = api.data(
        'query($a: ID!) { usage(accountId: $a, granularity: MONTHLY, from: "2025-11-01", to: "2026-05-01") '
        "{ current { totalKwh source points { start kwh } } } }",
        {"a": account}, token=customer,
    )["usage"]["current"]  # fmt: skip
    assert usage["source"] != "none" and usage["points"]
    estimate = api.data(
        'query($a: ID!) { billEstimate(accountId: $a, kwh: "250") { __typename ... on BillEstimate { total } '
        "... on EstimateError { code message } } }",
        {"a": account}, token=customer,
    )["billEstimate"]  # fmt: skip
    assert estimate["__typename"] == "BillEstimate", estimate

    secret = re.search(r"client_secret\s+(\S+)", printed)
    client = re.search(r"client_id\s+(\S+)", printed)
    assert secret and client
    token = api.client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.group(1),
            "client_secret": secret.group(1),
        },
    ).json()["access_token"]
    partner = api.data(
        "{ myAccounts { number } myBills(first: 5) { edges { cursor } } }", token=token
    )
    assert len(partner["myAccounts"]) == 5  # the five signed-up customers consented

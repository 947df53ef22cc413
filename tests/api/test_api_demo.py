"""What a newcomer does after `make run`: sign in with the demo details printed, explore."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from api_helpers import Api
from starlette.testclient import TestClient

from api.app import create_app
from demo.loader import load_demo_data
from gridbill.settings import Settings

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
    # docs/api.md's usage example names an account the demo partner may read
    doc = (Path(__file__).resolve().parents[2] / "docs/api.md").read_text()
    example = re.search(r"-d '(\{\"query\": \"query\(\$a: ID!\) \{ usage.*\})'", doc)
    assert example, "the partner usage example is in docs/api.md"
    body = json.loads(example.group(1))
    usage = api.data(body["query"], body["variables"], token=token)["usage"]
    assert usage["current"]["points"]


STORY = """{ myBills(first: 12) { edges { node { number status isEstimated lateFeePaise payablePaise
  paidPaise pdfUrl } } }
  myPayments(first: 12) { edges { node { method status amountPaise } } }
  mySupportRequests(first: 5) { edges { node { number } } } }"""


def test_the_demo_customers_have_bills_payments_and_a_past(
    demo: tuple[Api, str], on_sqlite: None
) -> None:
    """Signed up, each demo customer sees issued bills at once, each with a story."""
    api, printed = demo
    people = re.findall(r"^\s+customer\s+(\S+@\S+)\s+(\S+)", printed, re.MULTILINE)
    assert re.search(r"bills\s+40 issued for 2026-03 to 2026-04 \(1 estimated", printed)
    assert "CYC-01 (read on day 1)" in printed and "gridbill serve" in printed
    seen = []
    for email, password in people:
        token = sign_in(api, email, password)
        seen.append(api.data(STORY, token=token))
    bills = [[e["node"] for e in s["myBills"]["edges"]] for s in seen]
    payments = [[e["node"] for e in s["myPayments"]["edges"]] for s in seen]
    assert all(
        len(b) == 2 and all(x["status"] == "ISSUED" and x["pdfUrl"] for x in b) for b in bills
    )
    online, counter, estimated = payments[0], payments[1], bills[3]
    assert online and {p["method"] for p in online} == {"RAZORPAY"}
    assert counter and {p["method"] for p in counter} <= {"CASH", "CHEQUE"}
    assert payments[2] == [] and any(b["lateFeePaise"] > 0 for b in bills[2])
    assert [b["isEstimated"] for b in estimated].count(True) == 1
    assert seen[0]["mySupportRequests"]["edges"]
    pdf = api.client.get(bills[0][0]["pdfUrl"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_the_demo_ledger_adds_up(
    settings: Settings, demo: tuple[Api, str], on_sqlite: None
) -> None:
    """Every account's ledger is its bills and late fees less what was paid and the
    prompt-payment rebates earned, to the paisa."""
    api, _ = demo

    async def sums() -> tuple[int, int, int, int, int]:
        from store.models import Bill, LedgerEntry, Payment, ValidationException

        entries = await LedgerEntry.all()
        ledger = sum(e.amount_paise for e in entries)
        rebates = sum(e.amount_paise for e in entries if e.source_key.startswith("prompt_rebate"))
        billed = sum(b.total_paise + b.late_fee_paise for b in await Bill.filter(status="issued"))
        paid = sum(p.amount_paise for p in await Payment.filter(status="captured"))
        exceptions = await ValidationException.filter(status="open").count()
        return ledger, billed, paid, rebates, exceptions

    ledger, billed, paid, rebates, exceptions = api.run(sums)
    assert ledger == billed - paid + rebates and paid > 0 and rebates < 0
    assert exceptions >= 1

"""Staff billing over HTTP: start a bill run, review its drafts, issue, cancel, rebill, adjust."""

from __future__ import annotations

import time
from datetime import date, datetime
from datetime import time as clock
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_helpers import Api
from tortoise.connection import get_connection

from domain.enums import BillRunStatus, Role
from jobs.procrastinate_app import ensure_schema
from services.billing.runs import run_bill_run
from store.models import AuditLog, BillRun
from tests import factories as f

ZONE = ZoneInfo("Asia/Kolkata")
RUN = """query($id: ID!) { billRun(id: $id) { status progressPercent billsCreated accountsTotal
  bills { edges { node { id status totalPaise lines { code } } } } } }"""


@pytest.fixture
def staff(api: Api) -> str:
    return api.token(api.run(f.user, Role.STAFF))


async def todo_tasks() -> list[dict[str, object]]:
    """Procrastinate's queued jobs (PostgreSQL only), read on the app's own connection."""
    sql = "SELECT task_name FROM procrastinate_jobs WHERE status = 'todo'"
    return await get_connection("default").execute_query_dict(sql)


def billed_household(api: Api) -> f.Site:
    home = api.run(f.household)
    for day, kwh in ((date(2024, 1, 1), 1000), (date(2024, 2, 1), 1180), (date(2024, 3, 1), 1430)):
        api.run(f.read, home.register, kwh, datetime.combine(day, clock(0), ZONE))
    return home


def run_to_completion(api: Api, staff: str, backend: str) -> dict[str, Any]:
    if backend == "postgres":
        api.run(ensure_schema, api.settings)  # procrastinate's queue (`gridbill migrate` makes it)
    started = api.data(
        """mutation { startBillRun(input: {cycleCode: "C1", period: "2024-03"}) { __typename
             ... on BillRunSuccess { queued billRun { id status } } ... on OperationError { code message } } }""",
        token=staff,
    )["startBillRun"]
    assert started["__typename"] == "BillRunSuccess", started
    run_id = started["billRun"]["id"]
    if backend == "postgres":  # queued for procrastinate workers: do a worker's job here
        queued = api.run(todo_tasks)
        assert [row["task_name"] for row in queued] == ["bill_run"]
        api.run(run_bill_run, cycle_code="C1", period="2024-03", zone=ZONE)
    deadline = time.monotonic() + 20
    while True:
        run = api.data(RUN, {"id": run_id}, token=staff)["billRun"]
        if run["status"] == "COMPLETED" or time.monotonic() > deadline:
            return {"id": run_id, **run}
        time.sleep(0.05)


def test_bill_run_review_issue_cancel_rebill_and_adjust(api: Api, staff: str, backend: str) -> None:
    home = billed_household(api)
    run = run_to_completion(api, staff, backend)
    assert (run["status"], run["progressPercent"], run["billsCreated"]) == ("COMPLETED", 100, 1)
    draft = run["bills"]["edges"][0]["node"]
    assert draft["status"] == "DRAFT" and draft["lines"]
    customer = api.token(home.user)
    assert api.data("{ myBills { edges { cursor } } }", token=customer)["myBills"]["edges"] == []

    issued = api.data(
        """mutation($ids: [ID!]!) { issueBills(input: {billIds: $ids, issueDate: "2024-03-05"}) { __typename
             ... on IssueBillsSuccess { issuedCount numbers payablePaise } ... on OperationError { code message } } }""",
        {"ids": [draft["id"]]}, token=staff,
    )["issueBills"]  # fmt: skip
    assert issued["issuedCount"] == 1 and issued["numbers"][0].startswith("BL/2023-24/")
    mine = api.data("{ myBills { edges { node { id number status dueDate } } } }", token=customer)
    assert mine["myBills"]["edges"][0]["node"]["number"] == issued["numbers"][0]

    cancel = """mutation($i: CancelBillInput!) { cancelBill(input: $i) { __typename
      ... on CancelBillSuccess { creditNoteNumber bill { status } } ... on OperationError { code message } } }"""
    rebill = """mutation($i: CancelBillInput!) { rebill(input: $i) { __typename
      ... on RebillSuccess { cancelled { status } draft { id status replaces { id } } }
      ... on OperationError { code message } } }"""
    no_reason = api.data(cancel, {"i": {"billId": draft["id"], "reason": " "}}, token=staff)[
        "cancelBill"
    ]
    assert no_reason["code"] == "INVALID_STATE"
    redone = api.data(
        rebill, {"i": {"billId": draft["id"], "reason": "meter misread"}}, token=staff
    )["rebill"]
    assert redone["cancelled"]["status"] == "CANCELLED", redone
    assert redone["draft"]["status"] == "DRAFT" and redone["draft"]["replaces"]["id"] == draft["id"]
    again = api.data(cancel, {"i": {"billId": draft["id"], "reason": "again"}}, token=staff)[
        "cancelBill"
    ]
    assert again["code"] == "INVALID_STATE"

    balance = "query($a: ID!) { account(id: $a) { balancePaise } }"
    before = api.data(balance, {"a": str(home.account.id)}, token=staff)["account"]["balancePaise"]
    note = api.data(
        """mutation($i: RaiseAdjustmentInput!) { raiseAdjustment(input: $i) { __typename
             ... on AdjustmentSuccess { adjustment { number kind amountPaise } } ... on OperationError { code field } } }""",
        {"i": {"accountId": str(home.account.id), "kind": "WAIVER", "amountPaise": 5000, "reason": "goodwill"}},
        token=staff,
    )["raiseAdjustment"]  # fmt: skip
    assert note["adjustment"]["amountPaise"] == -5000 and note["adjustment"]["number"].startswith(
        "CN/"
    )
    after = api.data(balance, {"a": str(home.account.id)}, token=staff)["account"]["balancePaise"]
    assert after == before - 5000
    actions = set(api.run(AuditLog.all().values_list, "action", flat=True))
    assert {"bill_run.started", "bills.issued", "bill.rebilled", "adjustment.raised"} <= actions


def test_issuing_a_run_is_queued_only_once_it_completed(api: Api, staff: str) -> None:
    run = api.run(BillRun.create, cycle=api.run(f.cycle), period_start=date(2024, 3, 1),
                  period_end=date(2024, 3, 31), status=BillRunStatus.RUNNING)  # fmt: skip
    answer = api.data(
        "mutation($id: ID!) { issueBillRun(input: {billRunId: $id}) { __typename ... on OperationError { code } } }",
        {"id": str(run.id)}, token=staff,
    )  # fmt: skip
    assert answer["issueBillRun"] == {"__typename": "OperationError", "code": "INVALID_STATE"}
    bad = api.data(
        'mutation { startBillRun(input: {cycleCode: "NOPE", period: "2024-03"}) { ... on OperationError { code message } } }',
        token=staff,
    )
    assert (
        bad["startBillRun"]["code"] == "UNKNOWN_CYCLE" and "NOPE" in bad["startBillRun"]["message"]
    )

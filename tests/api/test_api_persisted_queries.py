"""The customer app's persisted bills query (``api.persisted_queries``) answers exactly what
the general executor answers, and only ever the caller's own bills.

The property test builds random customers with random bills (every status, periods that
repeat, lines and payments or none), then walks one customer's pages with a random page
size, asking each page three ways: the persisted text over HTTP (the fast path), the same
document under another text over HTTP (the general executor), and ``answer()`` directly
(proving the fast path answered rather than fell back). All three must agree as JSON, and
the pages together must be that customer's visible bills, newest first.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from api_helpers import Api, MakeApi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.auth import viewer_from_token
from api.pagination import encode_cursor
from api.persisted_queries import MY_BILLS, answer
from domain.enums import BillStatus, PaymentMethod, PaymentStatus, Role
from services.viewer import CUSTOMER_VISIBLE_BILLS
from store.models import Bill, BillLine, Payment
from tests import factories as f

GENERAL = MY_BILLS + "\n# another text: the general executor answers"

MONTHS = [date(2025, m, 1) for m in range(1, 13)]
LINE = st.tuples(
    st.sampled_from(["EC1", "FC", "ED", "ROUND"]),
    st.text(alphabet="abc xyz₹", max_size=12),
    st.sampled_from(["", "100", "12.5", "0.001"]),
    st.sampled_from(["", "kWh", "kW", "month"]),
    st.sampled_from(["", "3.46", "7.1"]),
    st.integers(-(10**9), 10**12),
)
BILL = st.fixed_dictionaries({
    "month": st.sampled_from(MONTHS[:5]),  # few months: periods repeat, the id breaks ties
    "status": st.sampled_from(list(BillStatus)),
    "numbered": st.booleans(),
    "due": st.booleans(),
    "total": st.integers(0, 10**10),
    "paid": st.integers(0, 10**10),
    "lines": st.lists(LINE, max_size=3),
    "payments": st.lists(
        st.tuples(st.sampled_from(list(PaymentStatus)), st.integers(1, 10**9)), max_size=2
    ),
})  # fmt: skip
UTILITY = st.lists(st.lists(BILL, max_size=6), min_size=1, max_size=3)  # customers' bills


async def build(plan: list[list[dict[str, Any]]]) -> list[tuple[Any, list[Bill]]]:
    """Each customer (a signed-up household) with their bills, as the plan says."""
    made = []
    for bills in plan:
        home = await f.household()
        rows = []
        for spec in bills:
            start = spec["month"]
            end = (start + timedelta(days=31)).replace(day=1) - timedelta(days=1)
            bill = await Bill.create(
                account=home.account, customer=home.customer, period_start=start,
                period_end=end, status=spec["status"],
                number=f"BL/T/{uuid.uuid4().hex[:12]}" if spec["numbered"] else None,
                total_paise=spec["total"], payable_paise=spec["total"], paid_paise=spec["paid"],
                due_date=end + timedelta(days=20) if spec["due"] else None,
            )  # fmt: skip
            for position, (code, text, quantity, unit, rate, amount) in enumerate(spec["lines"]):
                await BillLine.create(
                    bill=bill, position=position + 1, component="energy", code=code,
                    description=text, quantity=quantity, unit=unit, rate=rate,
                    amount_paise=amount,
                )  # fmt: skip
            for status, amount in spec["payments"]:
                await Payment.create(
                    reference=f"PAY-{uuid.uuid4().hex[:12]}", account=home.account, bill=bill,
                    method=PaymentMethod.CASH, status=status, amount_paise=amount,
                    received_on=end, captured_at=datetime.now(UTC),
                )  # fmt: skip
            rows.append(bill)
        made.append((home, rows))
    return made


@pytest.fixture
def uncached(make_api: MakeApi) -> Iterator[Api]:
    """The app without the answer cache: every answer is computed (one app for all examples)."""
    yield make_api(GRIDBILL_API_CACHE_TTL="0")


def visible_newest_first(bills: list[Bill]) -> list[str]:
    shown = [b for b in bills if b.status in CUSTOMER_VISIBLE_BILLS]
    return [str(b.id) for b in sorted(shown, key=lambda b: (b.period_start, b.id), reverse=True)]


@settings(
    max_examples=10, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
@given(plan=UTILITY, pick=st.integers(0, 2), size=st.sampled_from([None, 1, 2, 3, 100]),
       extra=st.booleans())  # fmt: skip
def test_the_persisted_query_answers_what_the_general_executor_answers(
    uncached: Api, plan: list[list[dict[str, Any]]], pick: int, size: int | None, extra: bool
) -> None:
    api = uncached
    made = api.run(build, plan)
    home, bills = made[pick % len(made)]
    token = api.token(home.user)
    viewer = viewer_from_token(api.settings, token)
    seen: list[str] = []
    variables: dict[str, Any] = {"first": size} if size is not None else {}
    if extra:
        variables["unused"] = "declared nowhere: ignored by both"
    for _ in range(len(bills) + 2):
        persisted = api.gql(MY_BILLS, variables, token=token)
        general = api.gql(GENERAL, variables, token=token)
        assert persisted == general
        direct = api.run(answer, viewer, MY_BILLS, None, variables)
        assert direct == general["data"]  # the fast path answered, and the same
        page = general["data"]["myBills"]
        seen += [edge["node"]["id"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables = {**variables, "after": page["pageInfo"]["endCursor"]}
    assert seen == visible_newest_first(bills)  # the caller's own, newest first, no repeats


def test_what_the_fast_path_does_not_answer_the_general_executor_refuses_alike(
    api: Api,
) -> None:
    home = api.run(f.household)
    other = api.run(f.household)
    api.run(f.bill, other, date(2025, 1, 1))
    token = api.token(home.user)
    viewer = viewer_from_token(api.settings, token)
    refused: list[dict[str, Any] | None] = [
        {"first": 0}, {"first": 101}, {"first": True}, {"after": "not-a-cursor"},
        {"after": "nul\x00byte"}, {"after": ""},
    ]  # fmt: skip
    for variables in refused:
        assert api.run(answer, viewer, MY_BILLS, None, variables) is None, variables
        assert api.gql(MY_BILLS, variables, token=token) == api.gql(GENERAL, variables, token=token)
    anonymous = api.gql(MY_BILLS)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert api.run(answer, viewer, MY_BILLS, "Other", None) is None
    named = api.client.post(
        "/graphql", json={"query": MY_BILLS, "operationName": "Other"},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert named.status_code == 400  # strawberry: "Unknown operation named 'Other'."
    # another customer's bills never show: this customer has none
    assert api.data(MY_BILLS, token=token)["myBills"]["edges"] == []
    staff = viewer_from_token(api.settings, api.token(api.run(f.user, Role.STAFF)))
    assert api.run(answer, staff, MY_BILLS, None, None) is None  # staff: the executor
    assert len(api.data(MY_BILLS, token=api.token(other.user))["myBills"]["edges"]) == 1


def test_a_failure_inside_the_fast_path_is_the_executors_typed_error_never_a_500(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    home = api.run(f.household)
    api.run(f.bill, home, date(2025, 1, 1))
    token = api.token(home.user)
    # a well-formed cursor whose id no database integer holds: the statement itself fails
    variables = {"after": encode_cursor(date(2025, 2, 1), 10**30)}
    same_id = {"X-Request-ID": "persisted-failure-1"}  # the errors carry the request id
    with caplog.at_level(logging.ERROR, logger="api.persisted_queries"):
        response = api.post(MY_BILLS, variables, token=token, headers=same_id)
    assert response.status_code == 200, response.text
    assert response.json() == api.gql(GENERAL, variables, token=token, headers=same_id)
    assert response.json()["errors"][0]["extensions"]["code"]
    assert "persisted query MyBills failed" in caplog.text

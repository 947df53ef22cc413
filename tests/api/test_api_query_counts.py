"""No N+1 in the customer app: every list it shows costs as many SQL statements for 20 rows
as for one.

Each case builds one customer with a single row of the list and another with ``MANY``
rows, runs the same query for both (the second time, so per-process warm-ups are out of
the count) and compares the statements the database client executed. Relations are read
through the request's DataLoaders (``api/loaders.py``); a field that loads per row makes its
case fail with both counts in the message. Both databases.

The customer root fields with a list: ``myAccounts`` (and ``me.customer.accounts``),
``myBills`` and a bill's line items, reads and payments, ``myPayments``, ``usage``,
``mySupportRequests``, ``myNotifications``, ``myConsents``, ``accountStatement``.
``notificationPreferences`` is left out: its length is the fixed catalogue of events and
channels, not the customer's rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from api_helpers import Api, MakeApi, count_queries
from tortoise.connection import get_connection

from domain.enums import LedgerKind, NotificationChannel, OutboxStatus, Role
from services.notifications.outbox import notify_bills_issued
from store.models import (
    Consent,
    LedgerEntry,
    OutboxMessage,
    SupportMessage,
    SupportRequest,
    TariffAssignment,
)
from tests import factories as f

MANY = 20
IST = ZoneInfo("Asia/Kolkata")
Variables = dict[str, Any]


def month(i: int, start: date = date(2020, 1, 1)) -> date:
    """The first day of the ``i``-th month after ``start``."""
    years, months = divmod(start.month - 1 + i, 12)
    return date(start.year + years, months + 1, 1)


@dataclass(frozen=True)
class Case:
    query: str
    build: Callable[[f.Site, int], Awaitable[Variables]]
    """Gives the customer ``n`` rows of the list; returns the query's variables."""
    rows: Callable[[Any], int]
    """How many rows of the list the answer holds (so the test sees them all come back)."""


# --- builders: n rows of each list for one household ------------------------------------------


async def accounts(home: f.Site, n: int) -> Variables:
    """n accounts, each on the tariff with one bill."""
    await f.bill(home, date(2024, 1, 1), lines=1, payments=1)
    for _ in range(n - 1):
        other = await f.second_account(home)
        await TariffAssignment.create(
            account=other.account, tariff=await f.domestic_tariff(), effective_from=date(2020, 4, 1)
        )
        await f.bill(other, date(2024, 1, 1), lines=1, payments=1)
    return {}


async def bills(home: f.Site, n: int) -> Variables:
    for i in range(n):
        await f.bill(home, month(i), lines=2, payments=2)
    return {}


async def bill_lines(home: f.Site, n: int) -> Variables:
    """One bill with n line items, n payments (and its reads)."""
    bill = await f.bill(home, date(2024, 1, 1), lines=n, payments=n)
    return {"id": str(bill.id)}


async def payments(home: f.Site, n: int) -> Variables:
    for i in range(n):
        await f.bill(home, month(i), lines=1, payments=1)
    return {}


async def usage(home: f.Site, n: int) -> Variables:
    """Reads on the first of n + 1 months: n monthly points."""
    for i in range(n + 1):
        day = month(i, date(2024, 1, 1))
        await f.read(home.register, 100 * i, datetime(day.year, day.month, 1, tzinfo=IST))
    return {"a": str(home.account.id)}


async def support_requests(home: f.Site, n: int) -> Variables:
    """n requests on the account, each with the customer's message and a staff reply."""
    staff = await f.user(Role.STAFF)
    for i in range(n):
        request = await SupportRequest.create(
            number=f"SR-{uuid.uuid4().hex[:10]}", customer=home.customer, account=home.account,
            category="billing", subject=f"Question {i}",
        )  # fmt: skip
        await SupportMessage.create(request=request, author=home.user, body="Why so high?")
        await SupportMessage.create(request=request, author=staff, body="Summer use.")
    return {}


async def notifications(home: f.Site, n: int) -> Variables:
    """n bills issued (the real outbox rows for them), their in-app messages delivered."""
    issued = [await f.bill(home, month(i), lines=1, payments=0, reads=False) for i in range(n)]
    await notify_bills_issued([bill.id for bill in issued])
    await OutboxMessage.filter(
        customer_id=home.customer.id if home.customer else 0, channel=NotificationChannel.INAPP
    ).update(status=OutboxStatus.SENT, sent_at=datetime.now(UTC))
    return {}


async def consents(home: f.Site, n: int) -> Variables:
    """n partner applications, each allowed to read the account's bills."""
    for _ in range(n):
        partner = await f.partner(["bills:read"])
        await Consent.create(
            partner=partner, customer=home.customer, account=home.account, scopes=["bills:read"],
            granted_at=datetime.now(UTC),
        )  # fmt: skip
    return {}


async def statement(home: f.Site, n: int) -> Variables:
    """n bills posted to the account's ledger."""
    for i in range(n):
        bill = await f.bill(home, month(i), lines=1, payments=0, reads=False)
        await LedgerEntry.create(
            account=home.account, kind=LedgerKind.BILL, amount_paise=bill.total_paise,
            effective_on=month(i) + timedelta(days=35), source_key=f"bill:{bill.id}",
            description=f"Bill {bill.number}", bill=bill,
        )  # fmt: skip
    return {"a": str(home.account.id)}


ACCOUNT_FIELDS = """number status servicePoint { code } premise { city } billingCycle { code }
  meters { meter { serial registers { obisCode } installations { installedAt } } }
  tariff { code name } balancePaise
  bills(first: 5) { edges { node { number lines { code } payments { reference } } } }"""

CASES = {
    "myAccounts": Case(
        f"{{ myAccounts {{ {ACCOUNT_FIELDS} }} }}", accounts, lambda d: len(d["myAccounts"])
    ),
    "me.customer.accounts": Case(
        "{ me { email customer { name accounts { number tariff { code } meters { meter { serial } }"
        " } } } }",
        accounts,
        lambda d: len(d["me"]["customer"]["accounts"]),
    ),
    "myBills": Case(
        """{ myBills(first: 50) { edges { node { number totalPaise paidPaise balanceDuePaise
             account { number } lines { code amountPaise } payments { reference amountPaise }
             readsUsed { obisCode meterSerial openingMilli closingMilli } } } } }""",
        bills,
        lambda d: len(d["myBills"]["edges"]),
    ),
    "bill.lines": Case(
        """query($id: ID!) { bill(id: $id) { number lines { position code amountPaise }
             payments { reference } readsUsed { meterSerial } } }""",
        bill_lines,
        lambda d: len(d["bill"]["lines"]),
    ),
    "myPayments": Case(
        """{ myPayments(first: 50) { nodes { reference status method amountPaise receiptNumber
             bill { number } account { number } } } }""",
        payments,
        lambda d: len(d["myPayments"]["nodes"]),
    ),
    "usage": Case(
        """query($a: ID!) { usage(accountId: $a, granularity: MONTHLY, from: "2024-01-01",
             to: "2026-01-01") { current { points { start wh averaged } totalWh source }
             lastYear { points { wh } } changePercent } }""",
        usage,
        lambda d: len(d["usage"]["current"]["points"]),
    ),
    "mySupportRequests": Case(
        """{ mySupportRequests(first: 50) { nodes { number subject status slaBreached
             account { number } customer { name } messages { body authorName fromStaff } } } }""",
        support_requests,
        lambda d: len(d["mySupportRequests"]["nodes"]),
    ),
    "myNotifications": Case(
        "{ myNotifications(first: 50) { nodes { event channel subject body readAt } } }",
        notifications,
        lambda d: len(d["myNotifications"]["nodes"]),
    ),
    "myConsents": Case(
        "{ myConsents { scopes accountId partnerName clientId grantedAt } }",
        consents,
        lambda d: len(d["myConsents"]),
    ),
    "accountStatement": Case(
        """query($a: ID!) { accountStatement(accountId: $a) { accountNumber closingBalancePaise
             lines { kind description debitPaise creditPaise balancePaise } } }""",
        statement,
        lambda d: len(d["accountStatement"]["lines"]),
    ),
}


def statements(api: Api, case: Case, token: str, variables: Variables) -> tuple[int, Any]:
    """SQL statements of the query's second run (each run starts with an empty answer cache)."""
    cache = api.client.app.state.response_cache  # type: ignore[attr-defined]
    cache.entries.clear()
    api.data(case.query, variables, token=token)
    cache.entries.clear()
    with count_queries() as executed:
        data = api.data(case.query, variables, token=token)
    return len(executed), data


@pytest.mark.parametrize("name", list(CASES))
def test_a_customer_list_costs_as_many_queries_for_20_rows_as_for_one(
    make_api: MakeApi, name: str
) -> None:
    api = make_api(GRIDBILL_SESSION_CHECK_TTL="0")  # every request checks its session: alike
    case = CASES[name]
    counted = {}
    for n in (1, MANY):
        home = api.run(f.household)
        assert home.user is not None
        variables = api.run(case.build, home, n)
        counted[n], data = statements(api, case, api.token(home.user), variables)
        assert case.rows(data) == n, data
    assert counted[1] == counted[MANY], (
        f"{name}: {counted[1]} statements for 1 row but {counted[MANY]} for {MANY}: an N+1"
    )
    assert counted[MANY] <= 25, f"{name}: {counted[MANY]} statements for one screen"


async def test_the_counter_sees_every_statement(db: object) -> None:
    """The counter itself, on both databases: five statements are five (so a per-row
    query in a case above could not go unseen)."""
    with count_queries() as executed:
        for i in range(5):
            await get_connection("default").execute_query(f"SELECT {i}")
    assert len(executed) == 5

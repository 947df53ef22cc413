"""Who may do what: every role (and a partner, and nobody) against every kind of operation.

``+`` allowed, ``U`` UNAUTHENTICATED, ``F`` FORBIDDEN. Row-level refusals (another
customer's bill) are NOT_FOUND and are tested with the data they protect.
"""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import Api, error_codes

from domain.enums import Role
from tests import factories as f

CALLERS = ("anonymous", "customer", "meter_reader", "staff", "admin", "partner")

# operation: (query, expected for anonymous, customer, meter reader, staff, admin, partner)
MATRIX: dict[str, tuple[str, str]] = {
    "me": ("{ me { id } }", "U++++F"),
    "my bills": ("{ myBills { edges { cursor } } }", "U+F+++"),
    "my accounts": ("{ myAccounts { id } }", "U+F+++"),
    "usage": ("query($a: ID!) { usage(accountId: $a) { accountId } }", "U+F++F"),
    "bill estimate": (
        'query($a: ID!) { billEstimate(accountId: $a, kwh: "100") { __typename } }',
        "U+F++F",
    ),
    "notification preferences": ("{ notificationPreferences { event } }", "U++++F"),
    "my support requests": ("{ mySupportRequests { edges { cursor } } }", "U+FFFF"),
    "open support request": (
        'mutation { openSupportRequest(input: {category: "billing", subject: "s", message: "m"}) { __typename } }',
        "U+FFFF",
    ),
    "all support requests": ("{ supportRequests { edges { cursor } } }", "UFF++F"),
    "my consents": ("{ myConsents { id } }", "U+FFFF"),
    "my routes": ("{ myRoutes { id } }", "UF+FFF"),
    "search customers": ('{ customers(search: "Customer") { edges { cursor } } }', "UFF++F"),
    "move out": (
        'mutation($a: ID!) { moveOut(input: {accountId: $a, on: "2024-06-30"}) { __typename } }',
        "UFF++F",
    ),
    "create meter": (
        'mutation { createMeter(input: {serial: "X1", kind: SMART}) { __typename } }',
        "UFF++F",
    ),
    "routes": ("{ routes { edges { cursor } } }", "UFF++F"),
    "field devices": ("{ fieldDevices { deviceUid } }", "UFF++F"),
    "sync batches": ('{ syncBatches(deviceUid: "dev_x") { edges { cursor } } }', "UFF++F"),
    "reader messages": ('{ readerMessages(readerId: "1") { edges { cursor } } }', "UFF++F"),
    "send reader message": (
        'mutation { sendReaderMessage(input: {readerId: "1", body: "hi"}) { __typename } }',
        "UFF++F",
    ),
    "reorder route stop": (
        'mutation { reorderRouteStop(input: {stopId: "1", sequence: 5}) { __typename } }',
        "UFF++F",
    ),
    "tariffs": ("{ tariffs { code } }", "UFF++F"),
    "create tariff version": (
        'mutation { createTariffVersion(input: {document: {}, effectiveFrom: "2030-01-01", category: DOMESTIC}) { __typename } }',
        "UFFF+F",
    ),
    "bill runs": ("{ billRuns { edges { cursor } } }", "UFF++F"),
    "cancel bill": (
        'mutation { cancelBill(input: {billId: "999999", reason: "r"}) { __typename } }',
        "UFF++F",
    ),
    "audit log": ("{ auditLog { edges { cursor } } }", "UFF++F"),
    "partner clients": ("{ partnerClients { id } }", "UFFF+F"),
    **{
        f"report {name}": (f"{{ report(name: {name}) {{ asOf }} }}", "UFF++F")
        for name in (
            "BILLING_SUMMARY",
            "COLLECTIONS",
            "AGEING",
            "READING_COMPLETION",
            "USAGE",
            "RECONCILIATION",
        )
    },
}


@pytest.fixture
def tokens(api: Api) -> dict[str, Any]:
    home = api.run(f.household)
    client = api.run(f.partner, ["bills:read"])
    return {
        "anonymous": None,
        "customer": api.token(home.user),
        "meter_reader": api.token(api.run(f.user, Role.METER_READER)),
        "staff": api.token(api.run(f.user, Role.STAFF)),
        "admin": api.token(api.run(f.user, Role.ADMIN)),
        "partner": api.partner_token(client),
        "account": str(home.account.id),
    }


def outcome(body: dict[str, Any]) -> str:
    codes = set(error_codes(body))
    if "UNAUTHENTICATED" in codes:
        return "U"
    if "FORBIDDEN" in codes:
        return "F"
    return "+"


def test_every_role_against_every_operation(api: Api, tokens: dict[str, Any]) -> None:
    found: dict[str, str] = {}
    for name, (query, _) in MATRIX.items():
        variables = {"a": tokens["account"]} if "$a" in query else {}
        found[name] = "".join(outcome(api.gql(query, variables, token=tokens[c])) for c in CALLERS)
    expected = {name: row for name, (_, row) in MATRIX.items()}
    assert found == expected


def test_customers_and_partners_do_not_see_staff_only_fields(
    api: Api, tokens: dict[str, Any]
) -> None:
    query = "query($a: ID!) { account(id: $a) { number holders { moveInOn } } }"
    body = api.gql(query, {"a": tokens["account"]}, token=tokens["customer"])
    assert error_codes(body) == ["FORBIDDEN"]
    staff = api.gql(query, {"a": tokens["account"]}, token=tokens["staff"])
    assert (
        "errors" not in staff and staff["data"]["account"]["holders"][0]["moveInOn"] == "2024-01-01"
    )

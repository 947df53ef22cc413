"""Every console page by role: staff and admins in (as the API allows them), others out.

The matrix walks ``console.routes.PAGES``, the table the router is built from, so a new
page is covered the day it is added. Customers and meter readers cannot hold a console
session even with a live refresh-token row (a GraphQL sign-in), partners' tokens and
anonymous requests are sent to the sign-in page, and a role lacking a page's operation
(``domain.access``) is answered 403.
"""

from __future__ import annotations

import re

import pytest

from console.routes import PAGES
from domain.access import ROLE_OPERATIONS
from domain.enums import Role
from services.identity.tokens import issue_partner_token
from store.models import (
    Bill,
    BillRun,
    PartnerClient,
    Payment,
    Route,
    RouteStop,
    SupportRequest,
    User,
    ValidationException,
)
from tests.console.conftest import ConsoleClient

ALLOWED = {Role.ADMIN: "admin@gridbill.example", Role.STAFF: "staff1@gridbill.example"}


def concrete(console: ConsoleClient, path: str) -> str:
    """A page path with real ids of the demo put in."""
    ids = {
        "account_id": 1,
        "bill_id": console.run(Bill.all().order_by("id").first).id,  # type: ignore[union-attr]
        "run_id": console.run(BillRun.all().order_by("id").first).id,  # type: ignore[union-attr]
        "reference": console.run(
            Payment.filter(receipt_number__isnull=False).order_by("id").first
        ).reference,  # type: ignore[union-attr]
        "exception_id": console.run(ValidationException.all().order_by("id").first).id,  # type: ignore[union-attr]
        "route_id": console.run(Route.all().order_by("id").first).id,  # type: ignore[union-attr]
        "stop_id": console.run(RouteStop.all().order_by("id").first).id,  # type: ignore[union-attr]
        "user_id": console.user("staff2@gridbill.example").id,
        "name": "ageing",
        "request_id": console.run(SupportRequest.all().order_by("id").first).id,  # type: ignore[union-attr]
    }
    return "/console" + re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(ids[m.group(1)]), path)


def request(console: ConsoleClient, method: str, path: str, **kwargs: object) -> int:
    """The status, with a redirect to the sign-in page told apart (as 401)."""
    sent = console.client.request(method, path, follow_redirects=False, **kwargs)  # type: ignore[arg-type]
    if sent.status_code == 303 and sent.headers["location"].startswith("/console/sign-in"):
        return 401
    return sent.status_code


@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF])
def test_staff_and_admins_reach_each_page_their_role_allows(
    console: ConsoleClient, role: Role
) -> None:
    console.as_user(ALLOWED[role])
    csrf = console.csrf()
    for page in PAGES:
        path = concrete(console, page.path)
        for method in page.methods:
            # An allowed empty POST is refused for what it lacks (400) or done (303: issuing
            # needs no input); GET pages answer 200; a role without the operation gets 403.
            status = request(
                console, method, path, data={"csrf": csrf} if method == "POST" else None
            )
            allowed = page.operation in ROLE_OPERATIONS[role]
            expected = ({200} if method == "GET" else {303, 400}) if allowed else {403}
            assert status in expected, (role, method, path, status)


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.METER_READER])
def test_customers_and_meter_readers_never_get_in(console: ConsoleClient, role: Role) -> None:
    user = console.run(User.filter(role=role).order_by("id").first)
    assert user is not None
    console.client.cookies.set("gridbill_console", console.cookie(user))
    for page in PAGES:
        for method in page.methods:
            status = request(console, method, concrete(console, page.path), data={})
            assert status == 401, (role, method, page.path, status)


def test_anonymous_callers_and_partner_tokens_are_sent_to_sign_in(console: ConsoleClient) -> None:
    partner = console.run(PartnerClient.all().first)
    assert partner is not None
    token, _ = issue_partner_token(
        console.settings, partner_id=partner.id, scopes=frozenset(partner.scopes)
    )
    for headers in ({}, {"Authorization": f"Bearer {token}"}):
        for page in PAGES:
            for method in page.methods:
                answer = console.client.request(
                    method, concrete(console, page.path), headers=headers, follow_redirects=False
                )
                assert answer.status_code == 303, (method, page.path)
                assert answer.headers["location"].startswith("/console/sign-in?next=")
    htmx = console.client.get("/console/vee", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/console/sign-in")

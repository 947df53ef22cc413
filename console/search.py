"""Search customers by name, account or customer number, meter serial, phone or e-mail."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.pages import Console, Form
from console.session import Staff
from services.accounts.customers import customer_search_filter
from services.errors import Refused
from store.models import AccountHolder, Customer

RESULTS = 50


async def search(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    term = request.query_params.get("q", "").strip()
    if not term:
        return console.render("search.html", staff, q="", customers=[], holdings={}, message="")
    try:
        query = await customer_search_filter(term)
    except Refused as exc:
        return console.render(
            "search.html", staff, status=400, q=term, customers=[], holdings={}, message=exc.message
        )
    customers = await Customer.filter(query).order_by("name", "id").limit(RESULTS)
    rows = (
        await AccountHolder.filter(customer_id__in=[c.id for c in customers])
        .prefetch_related("account")
        .order_by("-move_in_on")
    )
    holdings: dict[int, list[AccountHolder]] = {}
    for row in rows:
        holdings.setdefault(row.customer_id, []).append(row)  # type: ignore[attr-defined]
    return console.render(
        "search.html", staff, q=term, customers=customers, holdings=holdings, message="",
        capped=len(customers) == RESULTS,
    )  # fmt: skip

"""The customer app's persisted queries, answered without the general GraphQL executor.

Why: the bills screen of the customer app asks one fixed document, a page of bills with
their lines and payments, and the general executor spends most of such a request resolving
its ~350 fields one by one (docs/performance.md, "Where a GraphQL request's time goes").
A document the app persists is known in advance, so a function can run the same SQL and
build the same JSON directly.

How a request gets here: ``api.app`` asks :func:`answer` before executing. A document is
recognised by the SHA-256 of its exact text (:data:`DOCUMENTS`); any other text, even one
that differs by a space, goes to the general executor.

What keeps it equal to the general executor:

* it answers only a *customer's* request (their own bills; the answer depends on their
  customer id alone), with variables of exactly the declared types and values the
  general path accepts (variables the document does not declare are ignored, as
  graphql-core ignores them); anything else (no token, staff, partners, a bad cursor,
  ``first`` out of range) returns None and takes the general path, which gives the same
  typed errors as before; so does a failure inside it (the database gone), logged, so
  the client gets the executor's masked, typed error, never a 500;
* the rows come from the same filter (``Viewer.bill_filter``) and the same statements
  (``api.pagination.page_query`` and the DataLoaders' order), read as plain values;
* ``tests/api/test_api_persisted_queries.py`` compares both answers as JSON over random
  customers, bills and pages (Hypothesis), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from api.errors import ApiError
from api.pagination import MAX_PAGE, encode_cursor, page_query
from domain.access import Operation
from domain.enums import BillStatus, PaymentStatus, Role
from services.viewer import Viewer
from store.models import Bill, BillLine, Payment

log = logging.getLogger(__name__)

MY_BILLS = """query MyBills($first: Int, $after: String) {
  myBills(first: $first, after: $after) {
    edges { cursor node {
      id number periodStart periodEnd status totalPaise payablePaise paidPaise dueDate
      lines { code description quantity unit rate amountPaise }
      payments { reference amountPaise status }
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
"""The bills screen: a page of the customer's bills (``first`` defaults to 20, as
``myBills`` does), each with its lines and payments, and where the next page starts."""

_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,200}$")

Answer = dict[str, Any]


def document_id(text: str) -> str:
    """The id of a persisted document: the SHA-256 of its exact text, in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


async def my_bills(viewer: Viewer, variables: dict[str, Any]) -> Answer | None:
    """:data:`MY_BILLS` for a customer, or None when the general executor must answer."""
    if not viewer.may(Operation.READ_PAYMENTS):
        return None  # the general path answers `payments` with FORBIDDEN
    first, after = variables.get("first"), variables.get("after")
    if first is None:
        size = 20
    elif type(first) is int and 1 <= first <= MAX_PAGE:
        size = first
    else:
        return None  # the general path refuses it with BAD_USER_INPUT
    if after is not None and not (isinstance(after, str) and _CURSOR.match(after)):
        return None
    condition = await viewer.bill_filter(Operation.READ_BILLS)
    if condition is None:
        return None
    try:
        statement = page_query(
            Bill.filter(condition), size=size, after=after or None, key="period_start",
            key_kind="date",
        )  # fmt: skip
    except ApiError:
        return None  # not a cursor this API gave out: the general path says so
    rows = await statement.values_list(
        "id", "number", "period_start", "period_end", "status", "total_paise", "payable_paise",
        "paid_paise", "due_date",
    )  # fmt: skip
    has_next = len(rows) > size
    rows = rows[:size]
    ids = [row[0] for row in rows]
    lines: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    payments: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    if ids:
        line_rows, payment_rows = await asyncio.gather(
            BillLine.filter(bill_id__in=ids).order_by("bill_id", "position")
            .values_list("bill_id", "code", "description", "quantity", "unit", "rate",
                         "amount_paise"),
            Payment.filter(bill_id__in=ids).order_by("-created_at", "-id")
            .values_list("bill_id", "reference", "amount_paise", "status"),
        )  # fmt: skip
        for bill_id, code, description, quantity, unit, rate, amount in line_rows:
            lines[bill_id].append(
                {"code": code, "description": description, "quantity": quantity, "unit": unit,
                 "rate": rate, "amountPaise": int(amount)}
            )  # fmt: skip
        for bill_id, reference, amount, status in payment_rows:
            payments[bill_id].append(
                {"reference": reference, "amountPaise": int(amount),
                 "status": PaymentStatus(status).name}
            )  # fmt: skip
    edges = []
    for id_, number, start, end, status, total, payable, paid, due in rows:
        edges.append({
            "cursor": encode_cursor(start, id_),
            "node": {
                "id": str(id_), "number": number, "periodStart": _day(start),
                "periodEnd": _day(end), "status": BillStatus(status).name,
                "totalPaise": int(total), "payablePaise": int(payable), "paidPaise": int(paid),
                "dueDate": _day(due) if due is not None else None,
                "lines": lines[id_], "payments": payments[id_],
            },
        })  # fmt: skip
    end_cursor = edges[-1]["cursor"] if edges else None
    page_info = {"hasNextPage": has_next, "endCursor": end_cursor}
    return {"myBills": {"edges": edges, "pageInfo": page_info}}


def _day(value: date) -> str:
    return value.isoformat()


DOCUMENTS: dict[str, tuple[str, Callable[[Viewer, dict[str, Any]], Awaitable[Answer | None]]]] = {
    document_id(MY_BILLS): ("MyBills", my_bills),
}
"""Persisted document id → (its operation's name, the function that answers it)."""


async def answer(
    viewer: Viewer, query: str | None, operation_name: str | None, variables: Any
) -> Answer | None:
    """The ``data`` of a persisted query answered directly, or None: use the general executor."""
    if not query or viewer.role is not Role.CUSTOMER or viewer.partner_id is not None:
        return None
    if viewer.customer_id is None or (variables is not None and not isinstance(variables, dict)):
        return None
    found = DOCUMENTS.get(document_id(query))
    if found is None:
        return None
    name, function = found
    if operation_name is not None and operation_name != name:
        return None
    try:
        return await function(viewer, variables or {})
    except Exception:  # the database failed, or a bug: the executor answers with a typed error
        log.exception("persisted query %s failed: the general executor answers", name)
        return None

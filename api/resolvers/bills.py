"""Bills and payments as their readers see them: the caller's own, a partner's consented, all for staff."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import SelectedField
from tortoise.expressions import Q

from api.context import Context
from api.errors import not_found
from api.pagination import check_first, page_of, paginate
from api.permissions import requires
from api.resolvers.common import parse_id
from api.schema.bills import BillRunType, BillType
from api.schema.common import Connection, PageInfo
from api.schema.decorators import field
from api.schema.payments import PaymentType
from domain.access import Operation
from services.viewer import Viewer
from store.models import Bill, BillRun, Payment

Info = strawberry.Info[Context, None]


def _empty() -> Connection[Any]:
    return Connection(
        edges=[],
        page_info=PageInfo(
            has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
        ),
    )


async def bills_page(
    info: Info, *, first: int | None, after: str | None, account_id: int | None = None,
    bill_run_id: int | None = None,
) -> Connection[Any]:  # fmt: skip
    """A page of the bills the caller may read, newest period first."""
    condition = await info.context.viewer.bill_filter(Operation.READ_BILLS)
    if condition is None:
        return _empty()
    if account_id is not None and after is None and bill_run_id is None:
        # the first page of one account's bills, as Account.bills asks for it on every
        # account of a list: one query for all of them, through the request's loader
        size = check_first(first)
        loader = info.context.loaders.first_bills_by_account(condition, size + 1)
        rows = await loader.load(account_id)
        page = page_of(rows, size=size, after=None, key="period_start")
        await load_ahead(info, [edge.node.id for edge in page.edges])
        return page
    queryset = Bill.filter(condition)
    if account_id is not None:
        queryset = queryset.filter(account_id=account_id)
    if bill_run_id is not None:
        queryset = queryset.filter(bill_run_id=bill_run_id)
    page = await paginate(queryset, first=first, after=after, key="period_start", key_kind="date")
    await load_ahead(info, [edge.node.id for edge in page.edges])
    return page


async def load_ahead(info: Info, bill_ids: list[int]) -> None:
    """Load the page's lines and payments (if asked for) now, in one batch each, together.

    The same DataLoaders the fields use, filled before the fields run: each bill's
    ``lines`` and ``payments`` then resolve without an awaitable per bill.
    """
    wanted = node_fields(info)
    loaders = info.context.loaders
    batches: list[Awaitable[Any]] = []
    if "lines" in wanted:
        batches.append(loaders.bill_lines.load_many(bill_ids))
    if "payments" in wanted and info.context.viewer.may(Operation.READ_PAYMENTS):
        batches.append(loaders.bill_payments.load_many(bill_ids))
    if bill_ids and batches:
        await asyncio.gather(*batches)


def node_fields(info: Info) -> set[str]:
    """Names of the fields asked for on a connection's nodes (``edges.node`` or ``nodes``)."""
    names: set[str] = set()

    def fields(selections: list[Any]) -> list[Any]:
        out = []
        for selection in selections:
            if isinstance(selection, SelectedField):
                out.append(selection)
            else:  # fragments
                out += fields(selection.selections)
        return out

    for top in fields(info.selected_fields):
        for child in fields(top.selections):
            if child.name == "nodes":
                names |= {f.name for f in fields(child.selections)}
            elif child.name == "edges":
                for node in fields(child.selections):
                    if node.name == "node":
                        names |= {f.name for f in fields(node.selections)}
    return names


async def payment_filter(viewer: Viewer) -> Q | None:
    """Payments a viewer may read: on accounts they hold now, or against their own bills."""
    if not viewer.may(Operation.READ_PAYMENTS):
        return None
    if viewer.is_staff:
        return Q()
    parts: list[Q] = []
    for customer, account in await viewer.customers_for(Operation.READ_PAYMENTS):
        held = [
            h.account_id
            for h in await viewer.holdings(customer)
            if h.move_out_on is None and (account is None or h.account_id == account)
        ]
        if held:
            parts.append(Q(account_id__in=held))
        if account is None and not viewer.is_partner:
            parts.append(Q(bill__customer_id=customer))
    return Q(*parts, join_type=Q.OR) if parts else None


@strawberry.type
class BillQueries:
    @field(
        description=(
            "Bills you may see, newest first: a customer's own issued bills, a partner's "
            "consented ones, every bill for staff. Filter by `accountId`."
        ),
        extensions=requires(Operation.READ_BILLS),
    )
    async def my_bills(
        self,
        info: Info,
        first: Annotated[
            int | None, strawberry.argument(description="At most 100; default 20.")
        ] = None,
        after: str | None = None,
        account_id: strawberry.ID | None = None,
    ) -> Connection[BillType]:
        account = parse_id(account_id, "account") if account_id is not None else None
        return await bills_page(info, first=first, after=after, account_id=account)

    @field(
        description="One bill by id; NOT_FOUND when it does not exist or is not yours.",
        extensions=requires(Operation.READ_BILLS),
    )
    async def bill(self, info: Info, id: strawberry.ID) -> BillType | None:
        condition = await info.context.viewer.bill_filter(Operation.READ_BILLS)
        bill = (
            await Bill.filter(condition, id=parse_id(id, "bill")).first()
            if condition is not None
            else None
        )
        if bill is None:
            raise not_found("bill")
        return bill  # type: ignore[return-value]

    @field(
        description="Payments you may see, newest first.",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    async def my_payments(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        account_id: strawberry.ID | None = None,
    ) -> Connection[PaymentType]:
        condition = await payment_filter(info.context.viewer)
        if condition is None:
            return _empty()
        queryset = Payment.filter(condition)
        if account_id is not None:
            queryset = queryset.filter(account_id=parse_id(account_id, "account"))
        return await paginate(queryset.distinct(), first=first, after=after)

    @field(
        description="Bill runs, newest first (staff).",
        extensions=requires(Operation.READ_BILL_RUNS),
    )
    async def bill_runs(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[BillRunType]:
        return await paginate(BillRun.all(), first=first, after=after)

    @field(
        description="One bill run and its progress (staff).",
        extensions=requires(Operation.READ_BILL_RUNS),
    )
    async def bill_run(self, info: Info, id: strawberry.ID) -> BillRunType | None:
        run = await BillRun.get_or_none(id=parse_id(id, "bill run"))
        if run is None:
            raise not_found("bill run")
        return run  # type: ignore[return-value]

"""Accounts and customers: a customer's own, a partner's consented; search and moves for staff."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.errors import from_refusal, not_found
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, read_values, result
from api.schema.accounts import (
    AccountHolderResult,
    AccountHolderSuccess,
    CreateCustomerInput,
    CustomerResult,
    CustomerSuccess,
    MoveInInput,
    MoveOutInput,
    UpdateCustomerInput,
)
from api.schema.common import Connection, OperationError
from api.schema.customers import AccountType, CustomerType
from api.schema.decorators import field, mutation
from domain.access import Operation
from services.accounts import customers as accounts
from services.errors import Refused
from services.meter_data.vee_config import load_config
from services.viewer import Viewer
from store.models import Account, Customer

Info = strawberry.Info[Context, None]


async def visible_account(viewer: Viewer, account_id: int, operation: Operation) -> Account | None:
    """The account if the viewer may see it for ``operation``, else None (not found)."""
    if not viewer.may(operation):
        return None
    allowed = await viewer.account_ids(operation)  # None: every account (staff)
    if allowed is not None and account_id not in allowed:
        return None
    return await Account.get_or_none(id=account_id)


@strawberry.type
class AccountQueries:
    @field(
        description="The accounts you hold (a partner: those you were given access to).",
        extensions=requires(Operation.READ_ACCOUNTS),
    )
    async def my_accounts(self, info: Info) -> list[AccountType]:
        viewer = info.context.viewer
        if viewer.is_staff:
            return []
        ids = await viewer.account_ids(Operation.READ_ACCOUNTS) or []
        found = await info.context.loaders.account.load_many(ids)
        return [a for a in found if a is not None]  # type: ignore[misc]

    @field(
        description="One account by id; NOT_FOUND when it is not yours.",
        extensions=requires(Operation.READ_ACCOUNTS),
    )
    async def account(self, info: Info, id: strawberry.ID) -> AccountType | None:
        account = await visible_account(
            info.context.viewer, parse_id(id, "account"), Operation.READ_ACCOUNTS
        )
        if account is None:
            raise not_found("account")
        return account  # type: ignore[return-value]

    @field(
        description="An account by its number (staff).",
        extensions=requires(Operation.READ_CUSTOMERS),
    )
    async def account_by_number(self, info: Info, number: str) -> AccountType | None:
        account = await Account.get_or_none(number=number.strip())
        if account is None:
            raise not_found("account")
        return account  # type: ignore[return-value]

    @field(
        description=(
            "Customers (staff), by name, customer or account number, meter serial, phone or "
            "e-mail when `search` is given; newest first."
        ),
        extensions=requires(Operation.READ_CUSTOMERS),
    )
    async def customers(
        self,
        info: Info,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CustomerType]:
        queryset = Customer.all()
        if search is not None:
            try:
                queryset = Customer.filter(await accounts.customer_search_filter(search))
            except Refused as refusal:
                raise from_refusal(refusal) from None
        return await paginate(queryset, first=first, after=after)

    @field(description="One customer (staff).", extensions=requires(Operation.READ_CUSTOMERS))
    async def customer(self, info: Info, id: strawberry.ID) -> CustomerType | None:
        customer = await Customer.get_or_none(id=parse_id(id, "customer"))
        if customer is None:
            raise not_found("customer")
        return customer  # type: ignore[return-value]


@strawberry.type
class AccountMutations:
    @mutation(extensions=requires(Operation.WRITE_CUSTOMERS))
    async def create_customer(self, info: Info, input: CreateCustomerInput) -> CustomerResult:
        data = accounts.NewCustomer(
            name=input.name, email=input.email, phone=input.phone,
            postal_address=input.postal_address, kyc_reference=input.kyc_reference,
        )  # fmt: skip
        return await result(
            lambda: accounts.create_customer(info.context.viewer, data),
            lambda c: CustomerSuccess(customer=c),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description=(
            "Change a customer's name, e-mail, phone or postal address (null fields stay)."
        ),
        extensions=requires(Operation.WRITE_CUSTOMERS),
    )
    async def update_customer(self, info: Info, input: UpdateCustomerInput) -> CustomerResult:
        changes = accounts.CustomerChanges(
            name=input.name, email=input.email, phone=input.phone,
            postal_address=input.postal_address,
        )  # fmt: skip
        return await result(
            lambda: accounts.update_customer(
                info.context.viewer,
                customer_id=id_or_refuse(input.customer_id, "customer", "customerId"),
                changes=changes,
            ),
            lambda c: CustomerSuccess(customer=c),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description="A customer takes over an account from a date.",
        extensions=requires(Operation.WRITE_ACCOUNTS),
    )
    async def move_in(self, info: Info, input: MoveInInput) -> AccountHolderResult:
        return await result(
            lambda: accounts.move_in(
                info.context.viewer,
                account_id=id_or_refuse(input.account_id, "account", "accountId"),
                customer_id=id_or_refuse(input.customer_id, "customer", "customerId"),
                on=input.on,
            ),
            lambda h: AccountHolderSuccess(holder=h),  # type: ignore[arg-type]
            OperationError,
        )

    @mutation(
        description=(
            "The account's holder leaves (their last day); with `finalRead` the move-out "
            "read is recorded and the final bill drafted."
        ),
        extensions=requires(Operation.WRITE_ACCOUNTS),
    )
    async def move_out(self, info: Info, input: MoveOutInput) -> AccountHolderResult:
        settings = info.context.settings

        async def work() -> accounts.MoveOut:
            final_read = None
            if input.final_read is not None:
                final_read = accounts.FinalRead(
                    at=input.final_read.read_at,
                    reads=read_values(input.final_read.reads, "finalRead.reads"),
                    zone=settings.zone, config=load_config(settings),
                    close_account=input.final_read.close_account,
                )  # fmt: skip
            return await accounts.move_out(
                info.context.viewer,
                account_id=id_or_refuse(input.account_id, "account", "accountId"),
                on=input.on,
                reason=input.reason,
                final_read=final_read,
            )

        return await result(
            work,
            lambda m: AccountHolderSuccess(
                holder=m.holder,  # type: ignore[arg-type]
                final_bill=m.final_bill,  # type: ignore[arg-type]
                final_bill_awaits_read=m.final_bill is None,
            ),
            OperationError,
        )

"""Customers, their premises and service points, the accounts that are billed, and cycles.

Types read their relations through the request's DataLoaders, never one query per row.
Fields that only staff may read carry their own permission.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.permissions import requires
from api.schema.common import BigInt, Connection
from api.schema.decorators import field
from api.schema.enums import AccountCategory, AccountStatus
from domain.access import Operation

if TYPE_CHECKING:
    from api.schema.bills import BillType
    from api.schema.meters import MeterInstallationType
    from api.schema.tariffs import TariffType

Info = strawberry.Info[Context, None]


@strawberry.type(name="Customer", description="A person or organisation the utility supplies.")
class CustomerType:
    id: ID
    number: str = strawberry.field(description="The customer number on letters and bills.")
    name: str
    email: str | None
    phone: str | None
    postal_address: str

    @field(description="Notifications are written in it: en or hi.")
    def language(self) -> str:
        return getattr(self, "language", None) or "en"  # a Customer row: its column

    high_usage_threshold_wh: BigInt | None = strawberry.field(
        description="A bill above this many Wh is flagged as high usage; without it, a bill "
        "50 % above the average of recent ones."
    )

    @field(description="Accounts this customer holds or held, newest first.")
    async def accounts(self, info: Info) -> list[AccountType]:
        holdings = await info.context.loaders.holders_by_customer.load(int(self.id))
        accounts = await info.context.loaders.account.load_many(
            [h.account_id for h in reversed(holdings)]  # type: ignore[attr-defined]
        )
        return [a for a in accounts if a is not None]  # type: ignore[misc]


@strawberry.type(name="Premise", description="A building or plot with an address.")
class PremiseType:
    id: ID
    code: str
    address_line1: str
    address_line2: str
    locality: str
    city: str
    state: str
    postal_code: str


@strawberry.type(
    name="ServicePoint", description="The point of supply at a premise, where meters are installed."
)
class ServicePointType:
    id: ID
    code: str
    supply_voltage_v: int
    phases: int

    @strawberry.field
    async def premise(self, info: Info) -> PremiseType:
        return await info.context.loaders.premise.load(self.premise_id)  # type: ignore[attr-defined,return-value]


@strawberry.type(name="BillingCycle", description="Accounts read and billed together.")
class BillingCycleType:
    id: ID
    code: str
    name: str
    read_day: int
    bill_day: int
    due_days: int


@strawberry.type(name="AccountHolder", description="Who held an account from move-in to move-out.")
class AccountHolderType:
    id: ID
    move_in_on: date
    move_out_on: date | None

    @strawberry.field
    async def customer(self, info: Info) -> CustomerType:
        return await info.context.loaders.customer.load(self.customer_id)  # type: ignore[attr-defined,return-value]

    @strawberry.field
    async def account(self, info: Info) -> AccountType:
        return await info.context.loaders.account.load(self.account_id)  # type: ignore[attr-defined,return-value]


@strawberry.type(name="Account", description="The billed contract for a service point.")
class AccountType:
    id: ID
    number: str = strawberry.field(description="The account number printed on bills.")
    category: AccountCategory
    status: AccountStatus
    sanctioned_load_w: int = strawberry.field(description="Sanctioned load in watts.")
    contract_demand_va: int | None
    security_deposit_paise: BigInt
    connected_on: date
    closed_on: date | None

    @strawberry.field
    async def service_point(self, info: Info) -> ServicePointType:
        return await info.context.loaders.service_point.load(self.service_point_id)  # type: ignore[attr-defined,return-value]

    @field(description="Where the supply is.")
    async def premise(self, info: Info) -> PremiseType:
        point = await info.context.loaders.service_point.load(self.service_point_id)  # type: ignore[attr-defined]
        return await info.context.loaders.premise.load(point.premise_id)  # type: ignore[union-attr,return-value]

    @strawberry.field
    async def billing_cycle(self, info: Info) -> BillingCycleType:
        return await info.context.loaders.billing_cycle.load(self.billing_cycle_id)  # type: ignore[attr-defined,return-value]

    @field(description="Meters installed at this account's service point now.")
    async def meters(
        self, info: Info
    ) -> list[Annotated[MeterInstallationType, strawberry.lazy("api.schema.meters")]]:
        point_id: int = self.service_point_id  # type: ignore[attr-defined]
        installs = await info.context.loaders.installations_by_service_point.load(point_id)
        return [i for i in installs if i.removed_at is None]  # type: ignore[misc]

    @field(description="The tariff the account is on today.")
    async def tariff(
        self, info: Info
    ) -> Annotated[TariffType, strawberry.lazy("api.schema.tariffs")] | None:
        today = info.context.today
        assignments = await info.context.loaders.tariff_assignments.load(int(self.id))
        current = [
            a for a in assignments
            if a.effective_from <= today and (a.effective_to is None or a.effective_to > today)
        ]  # fmt: skip
        if not current:
            return None
        return await info.context.loaders.tariff.load(current[-1].tariff_id)  # type: ignore[attr-defined,return-value]

    @field(
        description="Who held the account when (staff only).",
        extensions=requires(Operation.READ_CUSTOMERS),
    )
    async def holders(self, info: Info) -> list[AccountHolderType]:
        return await info.context.loaders.holders_by_account.load(int(self.id))  # type: ignore[return-value]

    @field(
        description="What the customer owes today (positive) or has in credit (negative), in paise.",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    async def balance_paise(self, info: Info) -> BigInt:
        return BigInt(await info.context.loaders.balance.load(int(self.id)))

    @field(
        description="This account's bills the caller may see, newest first.",
        extensions=requires(Operation.READ_BILLS),
    )
    async def bills(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[BillType, strawberry.lazy("api.schema.bills")]]:
        from api.resolvers.bills import bills_page

        return await bills_page(info, first=first, after=after, account_id=int(self.id))

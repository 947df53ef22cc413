"""Bills with their line items, the reads they used, their payments and PDF link; bill runs."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.loaders import loaded_or_load
from api.permissions import requires
from api.schema.common import BigInt, Connection
from api.schema.decorators import field
from api.schema.enums import BillRunStatus, BillStatus
from domain.access import Operation
from services.billing.downloads import bill_pdf_url

if TYPE_CHECKING:
    from api.schema.customers import AccountType, BillingCycleType
    from api.schema.payments import PaymentType

Info = strawberry.Info[Context, None]


@strawberry.type(name="BillLine", description="One priced component of a bill, rounded once.")
class BillLineType:
    position: int
    component: str = strawberry.field(description="fixed, energy, demand, levy, subsidy, rounding…")
    code: str
    description: str
    quantity: str = strawberry.field(description="Exact decimal, for display.")
    unit: str
    rate: str = strawberry.field(description="Exact decimal, for display.")
    amount_paise: BigInt
    tou_period: str


@strawberry.type(
    name="BillRead", description="The opening and closing reads a bill used for a register."
)
class BillReadType:
    opening_milli: BigInt = strawberry.field(description="Thousandths of the register's unit.")
    closing_milli: BigInt
    multiplier: str
    consumption_wh: BigInt
    is_estimated: bool

    @strawberry.field
    async def obis_code(self, info: Info) -> str:
        register = await info.context.loaders.register.load(self.register_id)  # type: ignore[attr-defined]
        return register.obis_code if register else ""

    @strawberry.field
    async def meter_serial(self, info: Info) -> str:
        register = await info.context.loaders.register.load(self.register_id)  # type: ignore[attr-defined]
        meter = await info.context.loaders.meter.load(register.meter_id) if register else None  # type: ignore[attr-defined]
        return meter.serial if meter else ""

    @field(description="When the opening read was taken (null if estimated).")
    async def opening_read_at(self, info: Info) -> datetime | None:
        read_id = self.opening_read_id  # type: ignore[attr-defined]
        read = await info.context.loaders.register_read.load(read_id) if read_id else None
        return read.read_at if read else None

    @strawberry.field
    async def closing_read_at(self, info: Info) -> datetime | None:
        read_id = self.closing_read_id  # type: ignore[attr-defined]
        read = await info.context.loaders.register_read.load(read_id) if read_id else None
        return read.read_at if read else None


@strawberry.type(name="Bill", description="A bill for one account and period.")
class BillType:
    id: ID
    number: str | None = strawberry.field(description="Given at issue, e.g. BL/2026-27/000123.")
    period_start: date
    period_end: date = strawberry.field(description="Inclusive.")
    status: BillStatus
    is_estimated: bool
    is_final: bool = strawberry.field(description="A move-out's final bill.")
    currency: str
    consumption_wh: BigInt
    max_demand_w: BigInt
    charges_paise: BigInt = strawberry.field(description="This period's charges including levies.")
    rounding_paise: BigInt
    total_paise: BigInt = strawberry.field(description="Charges + rounding: what this bill adds.")
    arrears_paise: BigInt
    late_fee_paise: BigInt
    payable_paise: BigInt = strawberry.field(description="Total + arrears + late fee.")
    paid_paise: BigInt
    issue_date: date | None
    due_date: date | None
    issued_at: datetime | None
    cancelled_at: datetime | None

    @field(description="Payable less paid (never below zero).")
    def balance_due_paise(self) -> BigInt:
        return BigInt(max(0, self.payable_paise - self.paid_paise))

    @strawberry.field
    async def account(
        self, info: Info
    ) -> Annotated[AccountType, strawberry.lazy("api.schema.customers")]:
        return await info.context.loaders.account.load(self.account_id)  # type: ignore[attr-defined,return-value]

    @field(description="Line items in print order.")
    def lines(self, info: Info) -> list[BillLineType]:
        return loaded_or_load(info.context.loaders.bill_lines, int(self.id))  # type: ignore[no-any-return]

    @field(description="The meter reads this bill was computed from.")
    async def reads_used(self, info: Info) -> list[BillReadType]:
        return await info.context.loaders.bill_reads.load(int(self.id))  # type: ignore[return-value]

    @field(
        description="Payments made against this bill, newest first.",
        extensions=requires(Operation.READ_PAYMENTS),
    )
    def payments(
        self, info: Info
    ) -> list[Annotated[PaymentType, strawberry.lazy("api.schema.payments")]] | None:
        return loaded_or_load(info.context.loaders.bill_payments, int(self.id))  # type: ignore[no-any-return]

    @field(
        description=(
            "A signed link to the bill's PDF, valid for at least GRIDBILL_DOWNLOAD_LINK_TTL "
            "seconds (an hour by default); null for drafts."
        )
    )
    def pdf_url(self, info: Info) -> str | None:
        return bill_pdf_url(info.context.settings, self)  # type: ignore[arg-type]

    @field(description="The bill this one replaces (a rebill after a cancellation).")
    async def replaces(self, info: Info) -> BillType | None:
        bill_id = self.replaces_id  # type: ignore[attr-defined]
        return await info.context.loaders.bill.load(bill_id) if bill_id else None  # type: ignore[return-value]


@strawberry.type(name="BillRun", description="One billing execution for a cycle and period.")
class BillRunType:
    id: ID
    period_start: date
    period_end: date
    status: BillRunStatus
    started_at: datetime | None
    finished_at: datetime | None
    accounts_total: int
    bills_created: int
    bills_estimated: int
    accounts_skipped: int
    total_billed_paise: BigInt
    error: str

    @strawberry.field
    async def cycle(
        self, info: Info
    ) -> Annotated[BillingCycleType, strawberry.lazy("api.schema.customers")]:
        return await info.context.loaders.billing_cycle.load(self.cycle_id)  # type: ignore[attr-defined,return-value]

    @field(name="skipReasons", description="Accounts skipped, by reason code.")
    def skip_reason_counts(self) -> list[SkipReason]:
        reasons = self.skip_reasons or {}  # type: ignore[attr-defined]
        return [SkipReason(reason=str(k), count=int(v)) for k, v in sorted(reasons.items())]

    @field(description="The run's bills (drafts to review, then issued), newest first.")
    async def bills(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[BillType]:
        from api.resolvers.bills import bills_page

        return await bills_page(info, first=first, after=after, bill_run_id=int(self.id))

    @field(description="Share of accounts processed so far, 0–100.")
    def progress_percent(self) -> int:
        if not self.accounts_total:
            return 100 if self.status == "completed" else 0
        done = self.bills_created + self.accounts_skipped
        return min(100, round(100 * done / self.accounts_total))


@strawberry.type
class SkipReason:
    reason: str
    count: int

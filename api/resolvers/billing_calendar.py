"""The billing calendar's GraphQL doors: the same service ``gridbill calendar`` calls."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from api.context import Context
from api.errors import from_refusal
from api.permissions import requires
from api.resolvers.common import result
from api.schema.billing_calendar import (
    BillingCalendarMonthType,
    SetBillingDatesInput,
    SetBillingDatesResult,
    SetBillingDatesSuccess,
)
from api.schema.common import OperationError
from api.schema.decorators import field, mutation
from domain.access import Operation
from domain.billing_calendar import CycleDates
from services.billing import calendar
from services.errors import Refused

Info = strawberry.Info[Context, None]
MAX_MONTHS = 24


def _month(row: CycleDates) -> BillingCalendarMonthType:
    return BillingCalendarMonthType(
        month=f"{row.month:%Y-%m}",
        read_date=row.read_date,
        bill_date=row.bill_date,
        set_by_staff=not row.usual,
    )


@strawberry.type
class BillingCalendarQueries:
    @field(
        description="A cycle's read and bill dates, month by month around a day (default "
        "today): `before` months back, `after` ahead (each at most 24). Errors: UNKNOWN_CYCLE.",
        extensions=requires(Operation.READ_BILL_RUNS),
    )
    async def billing_calendar(
        self,
        info: Info,
        cycle_code: str,
        around: date | None = None,
        before: int = 1,
        after: int = 3,
    ) -> list[BillingCalendarMonthType]:
        try:
            if not (0 <= before <= MAX_MONTHS and 0 <= after <= MAX_MONTHS):
                raise Refused("INVALID_INPUT", f"before and after are 0 to {MAX_MONTHS} months")
            day = around or datetime.now(info.context.settings.zone).date()
            rows = await calendar.calendar(cycle_code, day, before=before, after=after)
        except Refused as refusal:
            raise from_refusal(refusal) from None
        return [_month(row) for row in rows]


@strawberry.type
class BillingCalendarMutations:
    @mutation(
        description="Set one month's read and bill dates before its run (audited). "
        "Errors: UNKNOWN_CYCLE, INVALID_INPUT, INVALID_STATE (the month already has a run).",
        extensions=requires(Operation.RUN_BILLING),
    )
    async def set_billing_dates(
        self, info: Info, input: SetBillingDatesInput
    ) -> SetBillingDatesResult:
        async def work() -> CycleDates:
            return await calendar.set_dates(
                info.context.viewer, cycle_code=input.cycle_code, period=input.period,
                read_date=input.read_date, bill_date=input.bill_date, reason=input.reason,
            )  # fmt: skip

        return await result(
            work, lambda row: SetBillingDatesSuccess(dates=_month(row)), OperationError
        )

"""The billing calendar as staff read and set it over GraphQL (``gridbill calendar`` too)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from api.schema.common import OperationError


@strawberry.type(name="BillingCalendarMonth")
class BillingCalendarMonthType:
    month: str = strawberry.field(description="The billing month, e.g. `2026-11`.")
    read_date: date = strawberry.field(description="The day the month's bills close at.")
    bill_date: date = strawberry.field(description="The day the month's run is drafted.")
    set_by_staff: bool = strawberry.field(
        description="False: the cycle's usual read and bill days."
    )


@strawberry.input
class SetBillingDatesInput:
    cycle_code: str
    period: str = strawberry.field(description="The billing month, e.g. `2026-11`.")
    read_date: date = strawberry.field(description="In the month.")
    bill_date: date = strawberry.field(description="On or after the read date.")
    reason: str = strawberry.field(description="Why (kept in the audit log).")


@strawberry.type
class SetBillingDatesSuccess:
    dates: BillingCalendarMonthType


SetBillingDatesResult = Annotated[
    SetBillingDatesSuccess | OperationError, strawberry.union("SetBillingDatesResult")
]

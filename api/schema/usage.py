"""Usage history: energy per day or month, and the same period a year earlier."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from api.schema.common import BigInt


@strawberry.enum(description="Days or calendar months (in the utility's time zone).")
class UsageGranularity(Enum):
    DAILY = "daily"
    MONTHLY = "monthly"


@strawberry.type(description="Energy used in one day or month.")
class UsagePoint:
    start: date
    end: date = strawberry.field(description="Exclusive.")
    wh: BigInt = strawberry.field(description="Energy imported, in watt-hours.")
    kwh: str = strawberry.field(description="The same in kWh, exact decimal.")
    averaged: bool = strawberry.field(
        description="Spread evenly from meter reads taken days apart, not measured per day."
    )
    days_with_data: int


@strawberry.type(description="Usage over a stretch of time; periods without data are left out.")
class UsagePeriod:
    start: date
    end: date = strawberry.field(description="Exclusive.")
    points: list[UsagePoint]
    total_wh: BigInt
    total_kwh: str
    source: str = strawberry.field(description="usage_tables, intervals, reads, or none.")


@strawberry.type(
    description="An account's usage with the same period a year earlier for comparison."
)
class UsageHistory:
    account_id: strawberry.ID
    granularity: UsageGranularity
    current: UsagePeriod
    last_year: UsagePeriod
    change_percent: str | None = strawberry.field(
        description="Change against last year, in percent with one decimal; null without last year's data."
    )

"""Usage history and bill estimates for an account the caller may see."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated

import strawberry

from api.context import Context
from api.errors import from_refusal, not_found
from api.permissions import requires
from api.resolvers.accounts import visible_account
from api.resolvers.common import parse_id
from api.schema.common import BigInt, error_fields
from api.schema.decorators import field
from api.schema.tariffs import BillEstimate, BillEstimateResult, EstimateError, EstimateLine
from api.schema.usage import UsageGranularity, UsageHistory, UsagePeriod, UsagePoint
from domain import usage_history as rules
from domain.access import Operation
from domain.money import PAISA
from services.billing import estimates
from services.errors import Refused
from services.meter_data import usage
from services.meter_data.usage import History

Info = strawberry.Info[Context, None]


def _kwh(wh: int) -> str:
    return format((Decimal(wh) / 1000).normalize(), "f") if wh else "0"


def _period(found: History) -> UsagePeriod:
    return UsagePeriod(
        start=found.start, end=found.end,
        points=[
            UsagePoint(start=p.start, end=p.end, wh=BigInt(p.wh), kwh=_kwh(p.wh), averaged=p.averaged,
                       days_with_data=p.days_with_data)
            for p in found.points
        ],
        total_wh=BigInt(found.total_wh), total_kwh=_kwh(found.total_wh), source=found.source,
    )  # fmt: skip


def _default_range(today: date, granularity: UsageGranularity) -> tuple[date, date]:
    if granularity == UsageGranularity.MONTHLY:
        start = rules.first_of_month(today)
        for _ in range(11):
            start = rules.first_of_month(start - timedelta(days=1))
        return start, rules.next_month(rules.first_of_month(today))
    return today - timedelta(days=30), today + timedelta(days=1)


def _percent(change: Fraction | None) -> str | None:
    if change is None:
        return None
    return str((Decimal(change.numerator) / Decimal(change.denominator)).quantize(Decimal("0.1")))


@strawberry.type
class UsageQueries:
    @field(
        description=(
            "Energy used per day or month with the same period a year earlier. Defaults: the "
            "last 30 days (daily) or 12 months (monthly). `to` is exclusive."
        ),
        extensions=requires(Operation.READ_USAGE),
    )
    async def usage(
        self,
        info: Info,
        account_id: strawberry.ID,
        granularity: UsageGranularity = UsageGranularity.MONTHLY,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> UsageHistory:
        viewer = info.context.viewer
        number = parse_id(account_id, "account")
        spans = await viewer.account_spans(number, Operation.READ_USAGE)
        account = await visible_account(viewer, number, Operation.READ_USAGE) if spans else None
        if account is None or spans is None:
            raise not_found("account")
        default_start, default_end = _default_range(info.context.today, granularity)
        start, end = from_ or default_start, to or default_end
        monthly = granularity == UsageGranularity.MONTHLY
        zone = info.context.settings.zone
        try:
            found = await usage.compare_with_last_year(
                account, start=start, end=end, monthly=monthly, spans=spans, zone=zone
            )
        except Refused as refusal:
            raise from_refusal(refusal) from None
        return UsageHistory(
            account_id=strawberry.ID(str(account.id)), granularity=granularity,
            current=_period(found.current), last_year=_period(found.last_year),
            change_percent=_percent(found.change),
        )  # fmt: skip

    @field(
        description="What a bill for `kwh` over `days` from `start` would be on the account's tariff.",
        extensions=requires(Operation.ESTIMATE_BILL),
    )
    async def bill_estimate(
        self,
        info: Info,
        account_id: strawberry.ID,
        kwh: Annotated[
            str, strawberry.argument(description="Energy in kWh, a decimal like `250`.")
        ],
        days: int = 30,
        start: Annotated[
            date | None, strawberry.argument(description="Default: the 1st of this month.")
        ] = None,
        max_demand_kw: Annotated[
            str | None,
            strawberry.argument(
                description="For demand tariffs (default: the maximum demand on the latest bill that recorded one)."
            ),
        ] = None,
    ) -> BillEstimateResult:
        viewer = info.context.viewer
        account = await visible_account(
            viewer, parse_id(account_id, "account"), Operation.ESTIMATE_BILL
        )
        if account is None:
            raise not_found("account")
        try:
            amount = _decimal(kwh, "kwh")
            demand = _decimal(max_demand_kw, "maxDemandKw") if max_demand_kw is not None else None
            found = await estimates.estimate(
                account, kwh=amount, start=start or info.context.today.replace(day=1), days=days,
                max_demand_kw=demand,
            )  # fmt: skip
        except Refused as refusal:
            return EstimateError(**error_fields(refusal))  # type: ignore[arg-type]
        quote = found.quote
        return BillEstimate(
            tariff_code=found.tariff.code, tariff_name=found.tariff.name, currency=quote.currency,
            period_start=quote.start, period_end=quote.end - timedelta(days=1), kwh=str(amount),
            lines=[
                EstimateLine(
                    component=line.component, code=line.code, description=line.description,
                    quantity=None if line.quantity is None else str(line.quantity), unit=line.unit,
                    rate=None if line.rate is None else str(line.rate), amount=str(line.amount),
                    amount_paise=BigInt(int(line.amount / PAISA)), tou_period=line.tou_period,
                )
                for line in quote.lines
            ],
            total=str(quote.total), total_paise=BigInt(int(quote.total / PAISA)),
        )  # fmt: skip


def _decimal(text: str, field: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise Refused("INVALID_INPUT", f"{text!r} is not a number", field=field) from None
    if not value.is_finite() or value < 0:
        raise Refused("INVALID_INPUT", "give zero or more", field=field)
    return value

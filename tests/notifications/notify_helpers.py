"""Customers who can be reached, real bills for them, and running the dispatcher."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from domain.enums import Role
from gridbill.settings import Settings
from notifications.dispatcher import Dispatcher, Summary, channels
from store.models import Bill, Customer, DeviceToken, User
from tests import factories as f
from tests.billing.billing_factories import Utility, issue, run

# 12:00 IST on a day after any row a test writes: outside any quiet hours.
NOON = datetime(2030, 3, 11, 6, 30, tzinfo=UTC)


async def reachable(
    utility: Utility,
    *,
    email: str | None = "asha@example.com",
    phone: str | None = "+919800000001",
    language: str = "en",
    signed_up: bool = True,
    device: str | None = None,
    threshold_wh: int | None = None,
) -> tuple[f.Site, User | None]:
    site = await utility.account()
    await Customer.filter(id=site.customer.id).update(
        email=email, phone=phone, language=language, high_usage_threshold_wh=threshold_wh,
        name="Asha Rao",
    )  # fmt: skip
    user = None
    if signed_up:
        user = await User.create(
            email=email, phone=phone, full_name="Asha Rao", role=Role.CUSTOMER,
            customer_id=site.customer.id,
        )  # fmt: skip
        if device:
            await DeviceToken.create(user=user, token=device)
    return site, user


async def billed(site: f.Site, kwh: tuple[str, ...] = ("0", "100")) -> list[Bill]:
    """Reads on the 8th of Jan, Feb… and each month billed and issued on the 11th."""
    for i, value in enumerate(kwh):
        await site.read("1.8.0", value, date(2026, 1 + i, 8))
    for i in range(1, len(kwh)):
        period = f"2026-{1 + i:02d}"
        await run(period)
        await issue(period, date(2026, 1 + i, 11))
    return await Bill.filter(account_id=site.account.id).order_by("period_start")


async def dispatch(settings: Settings, now: datetime = NOON, **kwargs: Any) -> Summary:
    return await Dispatcher(settings, channels(settings), **kwargs).drain(now=now)

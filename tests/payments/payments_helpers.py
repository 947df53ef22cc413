"""Helpers for the payments tests: constants, waiting for webhooks, simulated checkout, data."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import httpx2

from domain.enums import AccountCategory, BillStatus
from gateway import SandboxGateway
from store.models import (
    Account,
    AccountHolder,
    Bill,
    BillingCycle,
    Customer,
    Premise,
    ServicePoint,
)

KEY_ID = "rzp_test_gridbill"
KEY_SECRET = "sandbox_key_secret_for_tests"
WEBHOOK_SECRET = "sandbox_webhook_secret_for_tests"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "razorpay"


async def wait_delivered(sandbox: SandboxGateway) -> None:
    """Until the sandbox has no webhook in flight (at most 10 s)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10.0
    await asyncio.sleep(0.05)
    while sandbox.state.pending:
        assert loop.time() < deadline, "webhooks still pending"
        await asyncio.sleep(0.02)


async def checkout(sandbox: SandboxGateway, order_id: str, outcome: str = "success") -> Any:
    async with httpx2.AsyncClient() as http:
        response = await http.post(
            f"{sandbox.url}/sandbox/checkout",
            json={"order_id": order_id, "outcome": outcome, "method": "upi", "key_id": KEY_ID},
        )
    return response.json()


async def make_account(
    number: str = "ACC-0001", *, bills: tuple[int, ...] = (50_000, 30_000)
) -> Account:
    """An active account with a customer who has an e-mail, and issued bills, oldest first."""
    cycle = await BillingCycle.create(code=f"C-{number}", name="Cycle")
    premise = await Premise.create(
        code=f"P-{number}",
        address_line1="1 Main Road",
        city="Pune",
        state="Maharashtra",
        postal_code="411001",
    )
    point = await ServicePoint.create(code=f"SP-{number}", premise=premise)
    account = await Account.create(
        number=number,
        service_point=point,
        category=AccountCategory.DOMESTIC,
        sanctioned_load_w=3000,
        billing_cycle=cycle,
        connected_on=date(2025, 1, 1),
    )
    customer = await Customer.create(
        number=f"CUST-{number}", name="Asha Rao", email="asha@example.com", phone="+919800000001"
    )
    await AccountHolder.create(account=account, customer=customer, move_in_on=date(2025, 1, 1))
    for i, total in enumerate(bills):
        await add_bill(account, customer, date(2026, 1 + i, 1), total)
    return account


async def add_bill(account: Account, customer: Customer, start: date, total: int) -> Bill:
    return await Bill.create(
        account=account,
        customer=customer,
        period_start=start,
        period_end=start.replace(day=28),
        active_period=start,
        status=BillStatus.ISSUED,
        total_paise=total,
        charges_paise=total,
        payable_paise=total,
        issue_date=start.replace(day=28),
        due_date=start.replace(day=28),
    )

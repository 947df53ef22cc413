"""Helpers for the payments tests: constants, waiting for webhooks, simulated checkout, data."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import httpx2

from gateway import SandboxGateway
from store.models import Account
from tests import factories as f
from tests.payment_sandbox import KEY_ID

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
    """An active account (tests/factories.py) held by a customer with an e-mail, on a cycle
    of its own, with issued bills of these totals (paise) from January 2026, oldest first."""
    holder = await f.customer(
        number=f"CUST-{number}", name="Asha Rao", email="asha@example.com", phone="+919800000001"
    )
    account = await f.account(
        number=number, billing_cycle=await f.cycle(f"C-{number}"), holder=holder,
        connected_on=date(2025, 1, 1), move_in_on=date(2025, 1, 1),
    )  # fmt: skip
    for i, total in enumerate(bills):
        await f.issued_bill(account, holder, date(2026, 1 + i, 1), total)
    return account

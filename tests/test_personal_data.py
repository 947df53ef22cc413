"""``gridbill customer export|erase``: a demo customer's data out, then erased after move-out,
with every bill, payment and ledger entry kept (docs/operations.md, "Personal data").
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from demo.loader import load_demo_data
from domain.access import Caller
from domain.enums import Role
from gridbill.settings import Settings
from services.accounts.customers import move_out
from services.operations.backup import snapshot
from services.viewer import Viewer
from store.db import open_database
from store.models import AccountHolder, AuditLog, Customer, User


def gridbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "customer", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_export_then_erase_keeps_the_financial_records(
    settings: Settings, subprocess_env: dict[str, str], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    asyncio.run(load_demo_data(settings, customers=20, progress=False, today=date(2026, 5, 10)))
    printed = capsys.readouterr().out
    email = next(line.split()[1] for line in printed.splitlines() if "demo-customer-1" in line)

    async def number_of() -> str:
        async with open_database(settings.database_url):
            return (await Customer.get(email=email)).number

    number = asyncio.run(number_of())
    exported = gridbill(subprocess_env, "export", number, "--to", str(tmp_path / "out.json"))
    assert exported.returncode == 0, exported.stderr
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["customer"]["email"] == email and data["sign_ins"][0]["email"] == email
    assert data["bills"] and data["payments"] and data["support_requests"][0]["messages"]
    assert (tmp_path / "out.json").stat().st_mode & 0o777 == 0o600

    refused = gridbill(subprocess_env, "erase", number, "--reason", "DP-1")
    assert refused.returncode == 1 and "still holds an open account" in refused.stderr

    async def leave() -> None:
        async with open_database(settings.database_url):
            holder = await AccountHolder.get(customer__number=number)
            staff = Viewer(caller=Caller(role=Role.STAFF), label="test")
            await move_out(staff, account_id=holder.account_id, on=date(2026, 5, 9))  # type: ignore[attr-defined]

    asyncio.run(leave())
    financial = ("bills", "bill_lines", "payments", "payment_allocations", "ledger_entries")
    before = snapshot(settings.database_url)
    erased = gridbill(subprocess_env, "erase", number, "--reason", "request DP-2026-014")
    assert erased.returncode == 0, erased.stderr
    assert "bills, payments and the ledger are kept" in erased.stdout
    after = snapshot(settings.database_url)
    assert {t: after.tables[t] for t in financial} == {t: before.tables[t] for t in financial}
    assert after.ledger_sum_paise == before.ledger_sum_paise

    again = gridbill(subprocess_env, "export", number)
    assert again.returncode == 0
    assert email not in again.stdout and "demo-customer" not in again.stdout
    left = json.loads(again.stdout)
    assert left["customer"]["name"] == f"Erased customer {number}"
    assert left["customer"]["phone"] is None and left["customer"]["postal_address"] == ""
    assert left["bills"] == data["bills"]  # the tax invoices stay, as issued

    async def traces() -> tuple[bool, str]:
        async with open_database(settings.database_url):
            user = await User.get(customer__number=number)
            entry = await AuditLog.get(action="customer.erase", entity_id=number)
            return user.is_active or bool(user.email or user.password_hash), entry.reason

    assert asyncio.run(traces()) == (False, "request DP-2026-014")
    unknown = gridbill(subprocess_env, "export", "BP99999999")
    assert unknown.returncode == 1 and "no customer 'BP99999999'" in unknown.stderr

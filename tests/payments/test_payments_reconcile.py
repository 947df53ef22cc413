"""Reconciliation against the sandbox: lost webhooks repaired, the rest listed."""

from __future__ import annotations

import argparse
import asyncio
import json
from datetime import UTC, datetime

import pytest
import razorpay
from payments_helpers import checkout, make_account
from tortoise.context import TortoiseContext

from cli.reconcile import add_parser, cmd_reconcile
from domain.enums import PaymentStatus
from gateway import SandboxGateway
from gridbill.settings import Settings
from services.payments.online import start_payment
from services.payments.reconcile import reconcile
from services.reports.reconciliation import reconciliation
from services.reports.scope import resolve_scope
from store.db import open_database
from store.models import GatewayRecord, LedgerEntry, Payment
from tests.payment_sandbox import KEY_ID, KEY_SECRET


def today(settings: Settings) -> datetime:
    return datetime.now(UTC).astimezone(settings.zone)


async def test_reconcile_repairs_lost_webhooks_and_lists_the_rest(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway
) -> None:
    sandbox.config.drop_webhooks = True  # nothing reaches us: only reconciliation can tell
    account = await make_account()
    lost = await start_payment(pay_settings, account_id=account.id, amount_paise=50_000)
    await checkout(sandbox, lost.order_id)
    unpaid = await start_payment(pay_settings, account_id=account.id, amount_paise=1_000)
    failed = await start_payment(pay_settings, account_id=account.id, amount_paise=2_000)
    await checkout(sandbox, failed.order_id, outcome="failure")

    sdk = razorpay.Client(auth=(KEY_ID, KEY_SECRET), base_url=sandbox.url)
    stranger = sdk.order.create({"amount": 700, "currency": "INR", "receipt": "elsewhere"})
    await checkout(sandbox, stranger["id"])
    differs = sdk.order.create({"amount": 5_000, "currency": "INR"})
    await Payment.create(
        reference="PAY-DIFF", account=account, method="razorpay", amount_paise=4_000,
        gateway_order_id=differs["id"],
    )  # fmt: skip
    await checkout(sandbox, differs["id"])

    day = today(pay_settings).date()
    dry = await reconcile(pay_settings, day=day, repair=False)
    assert [f.reference for f in dry.missing_here if f.reference] == [lost.reference]
    assert (await Payment.get(reference=lost.reference)).status == PaymentStatus.CREATED

    report = await reconcile(pay_settings, day=day)
    assert [f.reference for f in report.repaired] == [lost.reference]
    assert (await Payment.get(reference=lost.reference)).status == PaymentStatus.CAPTURED
    assert await LedgerEntry.filter(source_key=f"payment:{lost.reference}").count() == 1
    assert sorted(f.reference for f in report.unpaid_orders) == sorted(
        [unpaid.reference, failed.reference]
    )
    assert [f.order_id for f in report.missing_here] == [stranger["id"]]
    assert [(f.reference, f.ours_paise, f.gateway_paise) for f in report.amount_mismatches] == [
        ("PAY-DIFF", 4_000, 5_000)
    ]
    again = await reconcile(pay_settings, day=day)
    assert again.repaired == [] and again.duplicates == []

    # what reconciliation read is stored, and the report compares it with the ledger offline
    stored = {r.gateway_payment_id: r for r in await GatewayRecord.all()}
    captured = [r for r in stored.values() if r.status == "captured"]
    assert {r.order_id for r in captured} == {lost.order_id, stranger["id"], differs["id"]}
    assert all(r.created_on == day for r in stored.values())
    assert any(r.status == "failed" for r in stored.values())  # kept, but not counted
    sandbox.config.drop_webhooks = False
    scope = await resolve_scope(f"{day:%Y-%m}", None, zone=pay_settings.zone, today=day)
    (found,) = [d for d in (await reconciliation(scope)).days if d.day == day]
    assert (found.gateway_payments, found.gateway_paise) == (3, 50_000 + 700 + 5_000)
    assert (found.ledger_payments, found.ledger_paise) == (1, 50_000)
    # the stranger's payment is not ours; PAY-DIFF's was never captured here
    assert (found.unmatched_at_gateway, found.unmatched_in_ledger) == (2, 0)
    assert found.status == "differs" and found.difference_paise == 5_700


def test_reconcile_command(
    pay_settings: Settings, sandbox: SandboxGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.config.drop_webhooks = True

    async def setup() -> str:
        async with open_database(pay_settings.database_url):
            account = await make_account()
            started = await start_payment(pay_settings, account_id=account.id, amount_paise=50_000)
            await checkout(sandbox, started.order_id)
            return started.reference

    reference = asyncio.run(setup())
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    day = today(pay_settings).date().isoformat()
    args = parser.parse_args(["reconcile", "--date", day, "--format", "json"])
    assert cmd_reconcile(pay_settings, args) == 0
    output = json.loads(capsys.readouterr().out)
    assert [f["reference"] for f in output["repaired"]] == [reference]

    async def status() -> PaymentStatus:
        async with open_database(pay_settings.database_url):
            return (await Payment.get(reference=reference)).status

    assert asyncio.run(status()) == PaymentStatus.CAPTURED
    args = parser.parse_args(["reconcile", "--date", "nope"])
    with pytest.raises(Exception, match="not a date"):
        cmd_reconcile(pay_settings, args)


async def test_an_order_the_gateway_does_not_know_is_a_finding_not_a_failure(
    db: TortoiseContext, pay_settings: Settings, sandbox: SandboxGateway
) -> None:
    """E.g. a test-mode order reconciled with live keys, or a restarted sandbox's order."""
    account = await make_account()
    await Payment.create(
        reference="PAY-GONE", account=account, method="razorpay", amount_paise=4_000,
        gateway_order_id="order_unknown000001", status="captured",
    )  # fmt: skip
    paid = await start_payment(pay_settings, account_id=account.id, amount_paise=9_000)
    await checkout(sandbox, paid.order_id)
    report = await reconcile(pay_settings, day=today(pay_settings).date())
    assert [(f.reference, f.note) for f in report.not_captured_at_gateway] == [
        ("PAY-GONE", "order unknown at the gateway")
    ]
    assert report.orders_checked == 2 and report.needs_attention

"""The dunning schedule over real bills: once per step, out at once on payment or dispute."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from domain.access import Caller
from domain.enums import OutboxStatus, PaymentMethod, Role
from gridbill.settings import Settings
from services.accounts import support
from services.payments.dunning import eligible_for_disconnection, run_dunning
from services.payments.offline import record_offline_payment
from services.viewer import Viewer
from store.models import Bill, DunningStep, OutboxMessage
from tests.billing.billing_factories import Utility
from tests.notifications.notify_helpers import billed, dispatch, reachable
from tests.notifications.receivers import read_mails

ROOT = Path(__file__).resolve().parents[2]


async def gridbill(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``gridbill dunning ARGS`` as a real process."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "cli.main", "dunning", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


async def unpaid_bill(utility: Utility, email: str = "asha@example.com") -> Bill:
    site, _ = await reachable(utility, email=email, phone=None)
    (bill,) = await billed(site)
    assert bill.due_date == date(2026, 2, 26)
    return bill


async def steps(bill: Bill) -> list[str]:
    return [s.step for s in await DunningStep.filter(bill_id=bill.id).order_by("id")]


async def test_each_step_is_taken_once_on_its_day(utility: Utility, settings: Settings) -> None:
    bill = await unpaid_bill(utility)
    assert await run_dunning(settings, today=date(2026, 2, 22)) == {"paid": 0, "disputed": 0}
    assert (await run_dunning(settings, today=date(2026, 2, 23)))["reminder"] == 1
    assert "reminder" not in await run_dunning(settings, today=date(2026, 2, 23))  # rerun
    await run_dunning(settings, today=date(2026, 2, 27))
    await run_dunning(settings, today=date(2026, 3, 4))
    await run_dunning(settings, today=date(2026, 3, 5))
    assert await steps(bill) == ["reminder", "overdue", "disconnection_notice"]
    events = (
        await OutboxMessage.filter(channel="email").order_by("id").values_list("event", flat=True)
    )
    assert events == [
        "bill.issued", "dunning.reminder", "dunning.overdue", "dunning.disconnection_notice",
    ]  # fmt: skip
    notice = await OutboxMessage.get(event="dunning.disconnection_notice", channel="email")
    assert notice.payload["served_on"] == "2026-03-05"
    assert notice.payload["disconnect_from"] == "2026-03-21"
    assert notice.payload["outstanding_paise"] == bill.total_paise


async def test_reminders_carry_an_unsubscribe_link_and_header(
    utility: Utility, notify_settings: Settings, mail_dir: Path
) -> None:
    bill = await unpaid_bill(utility)
    await run_dunning(notify_settings, today=date(2026, 2, 23))
    await dispatch(notify_settings)
    (reminder,) = [m for m in read_mails(mail_dir) if m["X-Gridbill-Event"] == "dunning.reminder"]
    link = str(reminder["List-Unsubscribe"]).strip("<>")
    assert "/notifications/" in link and "/unsubscribe?expires=" in link
    assert reminder["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in reminder.get_body(("plain",)).get_content()
    assert bill.number in str(reminder["Subject"]) or "Reminder" in str(reminder["Subject"])


async def test_paying_or_disputing_drops_the_account_out_at_once(
    utility: Utility, settings: Settings
) -> None:
    paid = await unpaid_bill(utility)
    disputed = await unpaid_bill(utility, "ravi@example.com")
    await run_dunning(settings, today=date(2026, 2, 23))
    await record_offline_payment(
        settings, account_id=paid.account_id, method=PaymentMethod.CASH,  # type: ignore[attr-defined]
        amount_paise=paid.total_paise, received_on=date(2026, 2, 24),
    )  # fmt: skip
    customer = Viewer(caller=Caller(role=Role.CUSTOMER), customer_id=disputed.customer_id)  # type: ignore[attr-defined]
    await support.open_request(
        customer, customer_id=disputed.customer_id, account_id=disputed.account_id,  # type: ignore[attr-defined]
        category="billing", subject="Reading is wrong", body="My meter shows less.",
    )  # fmt: skip
    # the reminders queued before are not sent any more
    summary = await dispatch(settings)
    reminders = await OutboxMessage.filter(event="dunning.reminder")
    assert {r.last_error for r in reminders} == {"paid", "disputed"}
    assert {r.status for r in reminders} == {OutboxStatus.SKIPPED} and summary.skipped == len(
        reminders
    ) == 4
    result = await run_dunning(settings, today=date(2026, 3, 10))
    assert result == {"paid": 1, "disputed": 1}
    assert await steps(paid) == ["reminder"] and await steps(disputed) == ["reminder"]


async def test_eligible_for_disconnection_after_fifteen_clear_days_from_delivery(
    utility: Utility, notify_settings: Settings, subprocess_env: dict[str, str]
) -> None:
    bill = await unpaid_bill(utility)
    await run_dunning(notify_settings, today=date(2026, 3, 5))
    assert (
        await eligible_for_disconnection(notify_settings, today=date(2026, 5, 1)) == []
    )  # not delivered yet
    await dispatch(notify_settings)
    await OutboxMessage.filter(event="dunning.disconnection_notice").update(
        sent_at=datetime(2026, 3, 5, 6, 0, tzinfo=UTC)
    )
    assert await eligible_for_disconnection(notify_settings, today=date(2026, 3, 20)) == []
    (found,) = await eligible_for_disconnection(notify_settings, today=date(2026, 3, 21))
    assert (found.bill_id, found.notice_served_on, found.disconnect_from) == (
        bill.id, date(2026, 3, 5), date(2026, 3, 21),
    )  # fmt: skip
    report = await gridbill(subprocess_env, "eligible", "--on", "2026-03-21", "--format", "csv")
    assert report.returncode == 0, report.stderr
    lines = report.stdout.splitlines()
    assert (
        lines[0] == "account_number,bill_number,outstanding_paise,notice_served_on,disconnect_from"
    )
    assert lines[1:] == [
        f"{found.account_number},{bill.number},{bill.total_paise},2026-03-05,2026-03-21"
    ]
    bad = await gridbill(subprocess_env, "eligible", "--on", "21/03/2026")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "gridbill: error: --on '21/03/2026' is not a date (YYYY-MM-DD)"

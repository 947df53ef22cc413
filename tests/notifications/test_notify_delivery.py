"""Events reach every channel through real transports: SMTP, the SMS provider, FCM, in-app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from domain.enums import NotificationChannel, OutboxStatus
from gridbill.settings import Settings
from notifications.content import message_key
from services.notifications.preferences import Preference, set_preferences
from store.models import NotificationAttempt, OutboxMessage
from tests.billing.billing_factories import Utility
from tests.conftest import make_settings
from tests.notifications.notify_helpers import NOON, billed, dispatch, reachable
from tests.notifications.receivers import Receivers, by_message_id, read_mails


async def test_an_issued_bill_is_mailed_with_its_pdf_and_reaches_sms_push_and_inbox(
    utility: Utility, notify_settings: Settings, receivers: Receivers, mail_dir: Path
) -> None:
    site, user = await reachable(utility, device="device-token-1")
    assert user is not None
    await set_preferences(user.id, [Preference("bill.issued", NotificationChannel.SMS, True)])
    (bill,) = await billed(site)

    rows = await OutboxMessage.filter(event="bill.issued").order_by("channel")
    assert {r.channel for r in rows} == set(NotificationChannel)
    assert {r.dedupe_key for r in rows} == {
        f"bill.issued:{bill.id}:{c}" for c in NotificationChannel
    }

    summary = await dispatch(notify_settings)
    assert summary.sent == summary.claimed >= 4 and summary.failed == 0

    mails, repeats = by_message_id(read_mails(mail_dir))
    (mail,) = [m for m in mails.values() if m["X-Gridbill-Event"] == "bill.issued"]
    assert not repeats
    assert mail["To"] == "asha@example.com"
    assert mail["Subject"].startswith(f"Bill {bill.number}: ₹")
    assert mail["Message-ID"] == f"<{message_key(f'bill.issued:{bill.id}:email')}@gridbill.invalid>"
    assert "List-Unsubscribe" not in mail  # only reminders carry it
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"{bill.number}" in plain and "/pdf?expires=" in plain
    assert "<p>Dear Asha Rao,</p>" in html and "&amp;sig=" in html  # escaped, not raw
    (pdf,) = list(mail.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")

    (sms,) = [s for s in receivers.sms.unique.values() if s["text"].find(bill.number) > 0]
    assert sms["to"] == "+919800000001" and sms["sender"] == "GRDBIL"
    assert not receivers.sms.rejected and not receivers.sms.repeats
    pushes = [p for p in receivers.push.unique.values() if p["data"]["event"] == "bill.issued"]
    assert [p["token"] for p in pushes] == ["device-token-1"]
    assert pushes[0]["notification"]["title"] == mail["Subject"]

    for row in await OutboxMessage.filter(event="bill.issued"):
        assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
        (attempt,) = await NotificationAttempt.filter(message_id=row.id)
        assert attempt.succeeded and attempt.provider_answer

    assert (await dispatch(notify_settings)).claimed == 0  # nothing is sent twice


async def test_an_unreachable_smtp_server_is_retried_with_backoff_then_given_up(
    utility: Utility, database_url: str, tmp_path: Path
) -> None:
    sock_port = 9  # discard: nothing listens there on loopback
    settings = make_settings(
        database_url, tmp_path / "var", GRIDBILL_SMTP_PORT=str(sock_port),
        GRIDBILL_NOTIFY_MAX_ATTEMPTS="3", GRIDBILL_NOTIFY_RETRY_BASE="60",
    )  # fmt: skip
    site, _ = await reachable(utility, phone=None, signed_up=False)
    await billed(site)
    (row,) = await OutboxMessage.filter(event="bill.issued")

    first = await dispatch(settings, now=NOON)
    assert first.retrying == 1
    await row.refresh_from_db()
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert row.next_attempt_at == NOON + timedelta(seconds=60)
    assert (await dispatch(settings, now=NOON + timedelta(seconds=59))).claimed == 0
    assert (await dispatch(settings, now=NOON + timedelta(seconds=60))).retrying == 1
    await row.refresh_from_db()
    assert row.next_attempt_at == NOON + timedelta(seconds=60 + 120)
    assert (await dispatch(settings, now=NOON + timedelta(seconds=180))).failed == 1
    await row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED and row.attempts == 3
    attempts = await NotificationAttempt.filter(message_id=row.id).order_by("number")
    assert [a.number for a in attempts] == [1, 2, 3]
    assert all(not a.succeeded and "Connect" in a.provider_answer for a in attempts)


async def test_sms_and_push_wait_for_the_end_of_quiet_hours_and_email_does_not(
    utility: Utility, notify_settings: Settings, tmp_path: Path, database_url: str,
    catcher: Controller, receivers: Receivers, dlt_templates: dict[str, dict[str, str]],
) -> None:  # fmt: skip
    from tests.notifications.conftest import notify_overrides

    overrides = notify_overrides(tmp_path, catcher, receivers, dlt_templates)
    settings = make_settings(
        database_url, tmp_path / "var", **{**overrides, "GRIDBILL_QUIET_HOURS": "21:00-08:00"}
    )
    site, _ = await reachable(utility, device="device-token-2", email=None)
    await billed(site)
    night = datetime(2030, 3, 11, 17, 0, tzinfo=UTC)  # 22:30 IST
    summary = await dispatch(settings, now=night)
    assert summary.deferred == 2 and summary.sent == 1  # SMS and push wait, in-app does not
    morning = datetime(2030, 3, 12, 2, 30, tzinfo=UTC)  # 08:00 IST
    for row in await OutboxMessage.filter(channel__in=["sms", "push"]):
        assert row.next_attempt_at == morning and row.attempts == 0
    assert not receivers.sms.unique and not receivers.push.unique
    assert (await dispatch(settings, now=morning)).sent == 2
    assert len(receivers.sms.unique) == 1 and len(receivers.push.unique) == 1


async def test_an_opt_out_after_queueing_stops_the_message(
    utility: Utility, notify_settings: Settings, mail_dir: Path
) -> None:
    site, user = await reachable(utility, phone=None)
    assert user is not None
    await billed(site)
    await set_preferences(user.id, [Preference("bill.issued", NotificationChannel.EMAIL, False)])
    summary = await dispatch(notify_settings)
    assert summary.skipped == 1
    (row,) = await OutboxMessage.filter(event="bill.issued", channel="email")
    assert row.status == OutboxStatus.SKIPPED and row.last_error == "opted out"
    assert not read_mails(mail_dir)


async def test_sms_without_a_dlt_template_id_or_off_template_is_refused_not_sent(
    utility: Utility, database_url: str, tmp_path: Path, catcher: Controller,
    receivers: Receivers, dlt_templates: dict[str, dict[str, str]],
) -> None:  # fmt: skip
    from tests.notifications.conftest import notify_overrides

    templates = dict(dlt_templates)
    del templates["bill.issued.en"]
    templates["payment.captured.en"] = {"template_id": "1107999", "text": "Paid {#var#}. Thanks!"}
    settings = make_settings(
        database_url, tmp_path / "var", **notify_overrides(tmp_path, catcher, receivers, templates)
    )
    site, _ = await reachable(utility, email=None, signed_up=False)
    (bill,) = await billed(site)
    from datetime import date

    from domain.enums import PaymentMethod
    from services.payments.offline import record_offline_payment

    await record_offline_payment(
        settings, account_id=site.account.id, method=PaymentMethod.CASH,
        amount_paise=bill.payable_paise, received_on=date(2026, 3, 12),
    )  # fmt: skip
    summary = await dispatch(settings)
    assert summary.failed == 2 and summary.sent == 0
    issued = await OutboxMessage.get(event="bill.issued", channel="sms")
    assert issued.last_error == "no DLT template id configured for bill.issued.en"
    paid = await OutboxMessage.get(event="payment.captured", channel="sms")
    assert paid.last_error.startswith("text does not match DLT template 1107999")
    assert paid.attempts == 1 and not receivers.sms.unique and not receivers.sms.rejected

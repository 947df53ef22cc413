"""Every event, in every language, from real bills, payments and requests, on every channel.

One utility with an English and a Hindi customer goes through two bill runs (the second
estimated, with a late payment surcharge, above the customer's usage threshold), a cash
payment, a bounced cheque, a failed payment and a refund, a support reply and a status
change, and the dunning schedule's three steps. Every template is rendered from those
rows without a gap, and every message reaches SMTP, the SMS provider (DLT-checked), FCM
and the inbox.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from domain.access import Caller
from domain.enums import NotificationChannel, PaymentMethod, Role, SupportStatus
from gridbill.settings import Settings
from notifications.content import outgoing
from notifications.rendering import LANGUAGES, events
from services.accounts import support
from services.identity.sign_in_codes import request_code
from services.notifications.preferences import EVENTS, Preference, set_preferences
from services.payments.dunning import run_dunning
from services.payments.offline import bounce_cheque, record_offline_payment
from services.payments.settlement import notify
from services.viewer import Viewer
from store.models import Bill, OutboxMessage, Payment, User
from tests import factories as f
from tests.billing.billing_factories import Utility, issue, run
from tests.notifications.notify_helpers import dispatch, reachable
from tests.notifications.receivers import Receivers, by_message_id, read_mails

EMAIL, SMS = NotificationChannel.EMAIL, NotificationChannel.SMS


def channels_of(event: str) -> set[NotificationChannel]:
    """Codes go only where the person asked for them; everything else everywhere."""
    return {EMAIL, SMS} if event == "sign_in.code" else set(NotificationChannel)


GAPS = re.compile(r"\{\{|\}\}|\{%|%\}|\{#|#\}|\bNone\b|Undefined|\[\]")


async def customer(utility: Utility, n: int, language: str) -> tuple[f.Site, User]:
    site, user = await reachable(
        utility, email=f"c{n}@example.com", phone=f"+9198000000{n:02d}", language=language,
        device=f"device-{n}", threshold_wh=50_000,
    )  # fmt: skip
    assert user is not None
    await set_preferences(user.id, [Preference(e, NotificationChannel.SMS, True) for e in EVENTS])
    await site.read("1.8.0", "0", date(2026, 1, 8))
    await site.read("1.8.0", "120", date(2026, 2, 8))  # no read in March: estimated
    return site, user


async def every_event(settings: Settings, sites: list[tuple[f.Site, User]]) -> None:
    await run("2026-02")
    await issue("2026-02", date(2026, 2, 11))
    staff = Viewer(caller=Caller(role=Role.STAFF), label="staff")
    for n, (site, user) in enumerate(sites):
        february = await Bill.get(account_id=site.account.id)
        assert february.due_date is not None
        for day in (february.due_date - timedelta(days=3), february.due_date + timedelta(days=1)):
            await run_dunning(settings, today=day)
        cheque = await record_offline_payment(
            settings, account_id=site.account.id, method=PaymentMethod.CHEQUE, amount_paise=10_000,
            received_on=date(2026, 3, 1), instrument_number=f"00012{n}", instrument_bank="SBI",
            instrument_date=date(2026, 3, 1),
        )  # fmt: skip
        await bounce_cheque(
            settings, reference=cheque.reference, bounced_on=date(2026, 3, 4), fee_paise=35_000
        )
        await run_dunning(settings, today=february.due_date + timedelta(days=7))
        customer_viewer = Viewer(
            caller=Caller(role=Role.CUSTOMER), user_id=user.id, customer_id=site.customer.id
        )
        request = await support.open_request(
            customer_viewer, customer_id=site.customer.id, account_id=site.account.id,
            category="meter", subject="Meter display is blank", body="Since Monday.",
        )  # fmt: skip
        await support.reply(staff, request_id=request.id, body="An engineer visits tomorrow.")
        await support.set_status(staff, request_id=request.id, status=SupportStatus.RESOLVED)
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    for n, (site, _) in enumerate(sites):
        paid = await record_offline_payment(
            settings, account_id=site.account.id, method=PaymentMethod.CASH, amount_paise=50_000,
            received_on=date(2026, 3, 15),
        )  # fmt: skip
        failed = await Payment.get(id=paid.id)
        failed.failure_reason = "card declined by issuer"
        await notify("payment.failed", failed, key=f"failed-{n}")
        await notify("refund.processed", paid, key=f"rfnd_{n}", refund_paise=10_000)
    for _, user in sites:
        await request_code(settings, login=str(user.email), purpose="sign_in", channel=EMAIL)
        await request_code(settings, login=str(user.phone), purpose="reset_password", channel=SMS)


async def test_every_event_in_every_language_reaches_every_channel(
    utility: Utility, notify_settings: Settings, receivers: Receivers, mail_dir: Path
) -> None:
    sites = [await customer(utility, n, language) for n, language in enumerate(LANGUAGES)]
    await every_event(notify_settings, sites)

    rows = await OutboxMessage.all()
    made = {(r.event, r.language, NotificationChannel(r.channel)) for r in rows}
    wanted = {(e, lang, c) for e in events() for lang in LANGUAGES for c in channels_of(e)}
    assert wanted - made == set(), "events missing from the scenario"
    assert set(events()) == {*EVENTS, "sign_in.code"}

    for row in rows:
        message = await outgoing(notify_settings, row)
        for part in (message.subject, message.text, message.html, message.sms):
            assert part.strip(), (row.event, row.language)
            assert not GAPS.search(part), (row.event, row.language, part)
        if row.event not in ("usage.high", "support.updated", "bill.estimated", "sign_in.code"):
            assert re.search(r"₹\d", message.text), (row.event, message.text)
        if row.language == "hi":
            assert re.search("[\u0900-\u097f]", message.text), row.event

    summary = await dispatch(notify_settings)
    assert summary.failed == 0 and summary.retrying == 0
    assert summary.sent == len(rows) - summary.skipped
    mails, repeats = by_message_id(read_mails(mail_dir))
    assert not repeats
    mailed = {(str(m["X-Gridbill-Event"]), str(m["Content-Language"])) for m in mails.values()}
    texted = {t["dlt_template_id"] for t in receivers.sms.unique.values()}
    pushed = {p["data"]["event"] for p in receivers.push.unique.values()}
    assert mailed == {(e, lang) for e in events() for lang in LANGUAGES}
    assert len(texted) == len(events()) * len(LANGUAGES)  # one DLT template each
    assert pushed == set(events()) - {"sign_in.code"}
    assert not receivers.sms.rejected and not receivers.sms.repeats and not receivers.push.repeats

"""The demo's recent past, made by the product's own services: bills, payments, field work.

After the bulk load, ``gridbill demo-data`` lives through the last few billing months the
way a utility would: each month every cycle is billed (:func:`services.billing.runs.run_bill_run`)
and issued (:func:`services.billing.issue.issue_bills`, numbers, ledger, late fees), then most
customers pay, at the counter (:func:`services.payments.offline.record_offline_payment`)
or online (the Razorpay path's ledger services, as a verified webhook applies them), and
some do not, so the next month's bill carries arrears and a late payment surcharge.

Going through the services instead of writing rows keeps the demo consistent: ledger
sums, allocations, receipt and bill numbers are what production would hold. The signed-up
demo customers get a story each (paid online, paid at the counter, overdue, an
estimated bill) and their PDFs are rendered now; other bills render on first download
(:func:`services.billing.documents.pdf_for`), which keeps ``make run`` quick.

Online payments are dated in the past and are not known to the sandbox gateway (it keeps
its state in memory), so ``gridbill reconcile`` is meaningful for days after the load.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from tortoise.transactions import in_transaction

from domain.access import Caller
from domain.billing import BillingMonth
from domain.enums import (
    BillStatus,
    MeterKind,
    OutboxStatus,
    PaymentMethod,
    PaymentStatus,
    Role,
)
from gridbill.settings import Settings
from services.accounts.support import open_request
from services.billing.documents import render_bills
from services.billing.issue import draft_ids, issue_bills
from services.billing.runs import run_bill_run
from services.meter_data.vee_config import load_config
from services.payments.offline import record_offline_payment
from services.payments.settlement import lock_account, settle
from services.viewer import Viewer, acting_as
from store.models import (
    Account,
    AccountHolder,
    Bill,
    Customer,
    FieldDevice,
    MeterInstallation,
    OutboxMessage,
    Payment,
    Register,
    RegisterRead,
    User,
    ValidationException,
)
from sync import devices
from sync.protocol import parse_batch
from sync.push import push

from .plan import DemoUtility

BILLED_MONTHS = 2  # the last completed months billed and issued (one overdue -> a late fee)
# How an ordinary customer settles a bill: shares out of 100 (the rest do not pay).
COUNTER_SHARE, ONLINE_SHARE = 45, 35
PAY_DELAY_DAYS = (2, 12)  # days after the bill date a payer pays
# The signed-up demo customers' stories, by their place in the printed list.
STORIES = ("online", "counter", "overdue", "estimated", "online")


@dataclass
class History:
    """What the demo's past holds, for the printout and the tests."""

    periods: list[str] = field(default_factory=list)
    bills: int = 0
    estimated: int = 0
    late_fees: int = 0
    counter_payments: int = 0
    online_payments: int = 0
    pdfs: int = 0
    open_exceptions: int = 0
    support_request: str = ""
    device_uid: str = ""
    device_credential: str = ""
    batch_items: int = 0


async def live_through(plan: DemoUtility, settings: Settings, *, seed: int) -> History:
    """Bill, issue and pay the last :data:`BILLED_MONTHS` months; then the field work."""
    history = History()
    rng = random.Random(seed)
    stories = await _stories(plan)
    months = [BillingMonth.parse(f"{d:%Y-%m}") for d in plan.cycles[0].read_dates[-BILLED_MONTHS:]]
    estimated_account = next((a for a, s in stories.items() if s == "estimated"), None)
    if estimated_account is not None:
        await _miss_last_read(estimated_account, months[-1])
    for month in months:
        history.periods.append(str(month))
        for cycle in plan.cycles:
            await run_bill_run(cycle_code=cycle.code, period=str(month), zone=settings.zone)
            bill_date = min(month.scheduled_read(cycle.bill_day), plan.today)
            ids = await draft_ids(cycle_code=cycle.code, period=str(month))
            await issue_bills(
                acting_as("demo"), ids, issue_date=bill_date,
                utility_name=settings.utility_name, payee_vpa=settings.upi_vpa,
                letterhead=settings.letterhead,
            )  # fmt: skip
            last = month == months[-1]
            await _pay(settings, ids, bill_date, plan.today, rng, stories, history, last=last)
    issued = Bill.filter(status=BillStatus.ISSUED)
    history.bills = await issued.count()
    history.estimated = await issued.filter(is_estimated=True).count()
    history.late_fees = await issued.filter(late_fee_paise__gt=0).count()
    story_bills = await issued.filter(account_id__in=list(stories)).order_by("id")
    history.pdfs = await render_bills([b.id for b in story_bills], settings)
    await _support_request(plan)
    history.support_request = await _last_support_number()
    await _field_work(plan, settings, history)
    history.open_exceptions = await ValidationException.filter(status="open").count()
    # The past's notifications were "sent" back then: do not mail thousands of them now.
    await OutboxMessage.filter(status=OutboxStatus.PENDING).update(status=OutboxStatus.SENT)
    return history


async def _stories(plan: DemoUtility) -> dict[int, str]:
    """Account id -> story for the signed-up customers (the estimated one on a manual meter)."""
    stories: dict[int, str] = {}
    for user, story in zip(plan.signed_up, STORIES, strict=False):
        customer = await Customer.get(number=user.customer_number)
        holder = await AccountHolder.filter(customer=customer).first()
        if holder is not None:
            stories[holder.account_id] = story  # type: ignore[attr-defined]
    for account_id, story in list(stories.items()):
        if story == "estimated" and not await _manual(account_id):
            stories[account_id] = "counter"
    return stories


async def _manual(account_id: int) -> bool:
    account = await Account.get(id=account_id)
    installed = await MeterInstallation.filter(
        service_point_id=account.service_point_id,  # type: ignore[attr-defined]
        removed_at__isnull=True,
    ).prefetch_related("meter")
    return bool(installed) and all(i.meter.kind is not MeterKind.SMART for i in installed)


async def _miss_last_read(account_id: int, month: BillingMonth) -> None:
    """The reader found the premises locked that month: no read, so the bill is estimated."""
    account = await Account.get(id=account_id)
    meters = await MeterInstallation.filter(service_point_id=account.service_point_id).values_list(  # type: ignore[attr-defined]
        "meter_id", flat=True
    )
    registers = await Register.filter(meter_id__in=meters).values_list("id", flat=True)
    start = datetime.combine(month.first, time(), UTC) - timedelta(days=1)
    await RegisterRead.filter(register_id__in=registers, read_at__gte=start).delete()


def _choice(rng: random.Random, story: str | None) -> str:
    if story in ("online", "counter"):
        return story
    if story in ("overdue",):
        return "none"
    roll = rng.randrange(100)
    if roll < COUNTER_SHARE:
        return "counter"
    return "online" if roll < COUNTER_SHARE + ONLINE_SHARE else "none"


async def _pay(
    settings: Settings,
    bill_ids: list[int],
    bill_date: date,
    today: date,
    rng: random.Random,
    stories: dict[int, str],
    history: History,
    *,
    last: bool,
) -> None:
    """Most customers pay within the due period; payments dated in the future wait."""
    for bill in await Bill.filter(id__in=bill_ids, status=BillStatus.ISSUED).order_by("id"):
        account_id: int = bill.account_id  # type: ignore[attr-defined]
        how = _choice(rng, stories.get(account_id))
        paid_on = bill_date + timedelta(days=rng.randint(*PAY_DELAY_DAYS))
        # The latest bill of an online payer stays open so the app has something to pay.
        if how == "none" or paid_on >= today or (last and stories.get(account_id) == "online"):
            continue
        amount = bill.payable_paise - bill.paid_paise
        if amount <= 0:
            continue
        if how == "counter":
            method = rng.choice((PaymentMethod.CASH, PaymentMethod.CHEQUE))
            await record_offline_payment(
                settings, account_id=account_id, method=method, amount_paise=amount,
                received_on=paid_on,
                instrument_number="" if method is PaymentMethod.CASH else f"{rng.randrange(10**6):06d}",
                instrument_bank="" if method is PaymentMethod.CASH else "State Bank of India",
            )  # fmt: skip
            history.counter_payments += 1
        else:
            await _online(settings, bill, amount, paid_on)
            history.online_payments += 1


async def _online(settings: Settings, bill: Bill, amount: int, paid_on: date) -> None:
    """A captured Razorpay payment, settled by the ledger services the webhook uses."""
    account_id: int = bill.account_id  # type: ignore[attr-defined]
    tag = uuid.uuid4().hex[:14]
    captured_at = datetime.combine(paid_on, time(11, 30), settings.zone).astimezone(UTC)
    async with in_transaction():
        await lock_account(account_id)
        payment = await Payment.create(
            reference=f"PAY-{paid_on:%Y%m%d}-{tag[:10].upper()}",
            account_id=account_id,
            bill_id=bill.id,
            method=PaymentMethod.RAZORPAY,
            status=PaymentStatus.CAPTURED,
            amount_paise=amount,
            currency=settings.currency,
            gateway_order_id=f"order_demo{tag}",
            gateway_payment_id=f"pay_demo{tag}",
            gateway_method="upi",
            captured_at=captured_at,
            received_on=paid_on,
        )
        # the order was made that day too: reconciliation finds it under its own day
        await Payment.filter(id=payment.id).update(created_at=captured_at, updated_at=captured_at)
        await settle(payment, effective_on=paid_on)


async def _support_request(plan: DemoUtility) -> None:
    """The first signed-up customer asks about a bill, as the app lets them."""
    user = await User.get(email=plan.signed_up[0].email)
    customer_id: int = user.customer_id  # type: ignore[attr-defined]
    holder = await AccountHolder.filter(customer_id=customer_id).first()
    viewer = Viewer(
        caller=Caller(role=Role.CUSTOMER), user_id=user.id, customer_id=customer_id,
        label=f"user:{user.id}",
    )  # fmt: skip
    await open_request(
        viewer,
        customer_id=customer_id,
        account_id=holder.account_id if holder else None,  # type: ignore[attr-defined]
        category="billing",
        subject="Higher bill than usual",
        body="My last bill is higher than the months before. Could you check the meter reading?",
    )


async def _last_support_number() -> str:
    from store.models import SupportRequest

    request = await SupportRequest.all().order_by("-id").first()
    return request.number if request else ""


async def _field_work(plan: DemoUtility, settings: Settings, history: History) -> None:
    """The meter reader's handset is enrolled and has pushed one batch of today's reads.

    One read is far below the last one (a misread digit), so VEE opens an exception for
    staff to review.
    """
    reader = next(u for u in plan.users if u.role is Role.METER_READER)
    enrolled = await devices.enroll(reader_email=reader.email, name="Demo handset 1")
    history.device_uid, history.device_credential = enrolled.device_uid, enrolled.credential
    device = await FieldDevice.get(device_uid=enrolled.device_uid)
    now = min(
        datetime.now(UTC), datetime.combine(plan.today, time(12), settings.zone).astimezone(UTC)
    ).replace(microsecond=0)
    items = []
    registers = (
        await Register.filter(
            obis_code="1.8.0",
            meter__kind=MeterKind.MANUAL,
            meter__route_stops__route__reader_id=device.reader_id,  # type: ignore[attr-defined]
        )
        .order_by("id")
        .limit(3)
    )
    for n, register in enumerate(registers):
        last = await RegisterRead.filter(register=register).order_by("-read_at").first()
        if last is None:
            continue
        value = last.value_milli + 95_000 if n else max(0, last.value_milli // 10)
        captured = (now - timedelta(hours=2, minutes=n)).isoformat()
        items.append(
            {"kind": "read", "uuid": str(uuid.uuid4()), "register_id": register.id,
             "value_milli": value, "captured_at": captured, "source": "manual"}
        )  # fmt: skip
    body = {
        "protocol": 1,
        "batch_id": str(uuid.uuid4()),
        "device_clock": now.astimezone(settings.zone).isoformat(),
        "time_zone": settings.time_zone,
        "app_version": "demo",
        "items": items,
    }
    result = await push(
        device, parse_batch(json.dumps(body).encode()), zone=settings.zone,
        postgres=settings.is_postgres, received_at=now, vee_config=load_config(settings),
    )  # fmt: skip
    history.batch_items = len(result.results)
    # the push came "over the network": the sign-in of a real push records when it was seen
    await FieldDevice.filter(id=device.id).update(last_seen_at=now)

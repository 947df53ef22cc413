"""A bill run over the demo utility gives, account by account, what ``gridbill quote`` gives.

The quote's usage is worked out here from the raw meter data, independently of the bill
run: each register's reads on the cycle's read days (with rollover and the CT ratio), the
time-of-day registers, the maximum-demand register, and for smart meters their
15-minute intervals written out as the ``--profile`` CSV.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from demo.loader import load_demo_data
from gridbill.settings import Settings
from services.billing.runs import summarise
from store.db import open_database
from store.models import (
    Account,
    Bill,
    BillingCycle,
    BillRun,
    IntervalReading,
    MeterInstallation,
    MultiplierChange,
    Register,
    RegisterRead,
    TariffAssignment,
    TariffVersion,
)
from tests.billing.billing_factories import paise, quote
from tests.factories import ZONE

TODAY = date(2026, 5, 10)  # demo reads from October 2025 to April 2026
PERIOD = "2026-04"


def kwh(milli: int) -> str:
    return str(Decimal(milli).scaleb(-3).normalize())


async def quote_args(
    account: Account, tmp_path: Path, month_read_day: int
) -> tuple[dict[str, object], list[str]]:
    """The tariff document and ``gridbill quote`` arguments for the account's April bill."""
    assignment = await TariffAssignment.get(account=account)
    version = await TariffVersion.get(tariff_id=assignment.tariff_id)  # type: ignore[attr-defined]
    install = await MeterInstallation.get(service_point_id=account.service_point_id)  # type: ignore[attr-defined]
    change = await MultiplierChange.get(installation=install)
    ratio = Decimal(change.ct_primary_a) / change.ct_secondary_a
    closing_day = date(2026, 4, month_read_day)
    opening_day = date(2026, 3, month_read_day)
    advance: dict[str, Decimal] = {}
    reads_at = {}
    for register in await Register.filter(meter_id=install.meter_id):  # type: ignore[attr-defined]
        reads = {
            r.read_at.astimezone(ZONE).date(): r
            for r in await RegisterRead.filter(register=register)
        }
        opening, closing = reads[opening_day], reads[closing_day]
        reads_at[register.obis_code] = (opening.read_at, closing.read_at, register.id)
        if register.unit.value == "kW":
            advance[register.obis_code] = Decimal(closing.value_milli) * ratio / 1000
            continue
        top = 10**register.digits * 1000
        advance[register.obis_code] = (
            Decimal((closing.value_milli - opening.value_milli) % top) * ratio / 1000
        )
    load = str(Decimal(account.sanctioned_load_w) / 1000)
    args = ["--load-kw", load]
    start, end, register_id = reads_at["1.8.0"]
    intervals = await IntervalReading.filter(
        register_id=register_id, interval_start__gte=start, interval_start__lt=end
    ).order_by("interval_start")
    if intervals:
        csv = tmp_path / f"{account.number}.csv"
        rows = ["timestamp,kwh"] + [
            f"{i.interval_start.isoformat()},{kwh(i.value_wh)}" for i in intervals
        ]
        csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return version.document, [*args, "--profile", str(csv)]
    days = (closing_day - opening_day).days
    args += ["--days", str(days), "--start", opening_day.isoformat()]
    if "1.6.0" in advance:
        args += ["--demand-kw", str(advance["1.6.0"])]
        if any("ratchet" in c for c in version.document.get("demand_charges", [])):
            earlier = await Bill.filter(
                account=account, period_end__lt=opening_day, active_period__isnull=False,
                is_estimated=False,
            ).order_by("-period_end")  # fmt: skip
            for bill in earlier:  # latest first, as the ratchet looks back
                args += ["--past-demand-kw", kwh(bill.max_demand_w)]
    if "1.8.1" in advance and version.document.get("calendars"):  # a TOU tariff reads them
        peak, night = advance["1.8.1"], advance["1.8.2"]
        normal = advance["1.8.0"] - peak - night
        args += ["--period-kwh", f"peak={peak}", "--period-kwh", f"off_peak={night}",
                 "--period-kwh", f"normal={normal}"]  # fmt: skip
    else:
        args += ["--kwh", str(advance["1.8.0"])]
    if "9.8.0" in advance:  # a kVAh-billed factory: apparent energy
        args += ["--kvah", str(advance["9.8.0"])]
    if "2.8.0" in advance:  # a solar home: export, and what its last bill banked
        args += ["--export-kwh", str(advance["2.8.0"])]
        last = (
            await Bill.filter(
                account=account, period_end__lt=opening_day, active_period__isnull=False
            )
            .order_by("-period_end")
            .first()
        )
        banked = (last.snapshot.get("solar") or {}).get("banked_out_wh", 0) if last else 0
        args += ["--banked-kwh", kwh(banked)]
    return version.document, args


@pytest.mark.slow
async def test_demo_bill_run_equals_gridbill_quote_account_by_account(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await load_demo_data(settings, customers=60, progress=False, today=TODAY) == 0
    capsys.readouterr()
    async with open_database(settings.database_url):
        sources: dict[str, int] = defaultdict(int)
        checked = 0
        for cycle in await BillingCycle.all().order_by("code"):
            # the demo bills its last months itself (demo/history.py): check its April run
            demo_run = await BillRun.get(cycle=cycle, period_start=date(2026, 4, 1))
            summary = await summarise(demo_run.id)
            assert summary.status == "completed" and summary.skipped == {}
            assert summary.bills == summary.accounts > 0
            for bill in await Bill.filter(bill_run_id=summary.run_id).prefetch_related("account"):
                sources[bill.snapshot["usage"]["source"]] += 1
                checked += 1
                if bill.is_estimated:  # the demo customer whose premises were locked
                    continue
                document, args = await quote_args(bill.account, tmp_path, cycle.read_day)
                expected = quote(settings, document, tmp_path, *args)
                assert bill.total_paise == paise(expected["total"]), (bill.account.number, args)
        assert checked == 60
        assert sources == {"intervals": 3, "registers": 56, "estimate": 1}
        categories = {a.category.value for a in await Account.all()}
        assert categories == {"domestic", "commercial", "industrial"}

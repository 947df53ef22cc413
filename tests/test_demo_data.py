"""``gridbill demo-data``: a small but complete utility, consistent down to the intervals.

The database tests load a 60-customer demo (every kind of customer and meter is still
there, in exact shares) on each backend and check it the way billing will use it; one
subprocess test runs the real command at full size on a new SQLite file, the issue's
"done when".
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from demo.consumption import OFF_PEAK_HOURS, PEAK_HOURS
from demo.generator import build_demo_utility
from demo.loader import DemoDataError, load_demo_data
from demo.tariffs import document_sha256
from domain.enums import MeterKind, Role
from gridbill.passwords import verify_secret
from gridbill.settings import Settings
from store.db import open_database
from store.models import (
    Account,
    AccountHolder,
    Bill,
    BillLine,
    Consent,
    Customer,
    Holiday,
    IntervalReading,
    Meter,
    MeterInstallation,
    MultiplierChange,
    PartnerClient,
    Register,
    RegisterRead,
    RouteStop,
    TariffAssignment,
    TariffVersion,
    UsageDaily,
    User,
)

TODAY = date(2026, 5, 10)  # reads run from October 2025 to April 2026, the last completed month
ZONE = ZoneInfo("Asia/Kolkata")
CUSTOMERS = 60
INTERVAL = timedelta(minutes=15)
SIGN_IN_LINE = re.compile(
    r"^\s+(admin|staff|meter reader|customer)\s+(\S+@\S+)\s+(\S+)", re.MULTILINE
)
SECRET_LINE = re.compile(r"client_secret\s+(\S+)")


@pytest.fixture
async def loaded(settings: Settings, capsys: pytest.CaptureFixture[str]) -> str:
    """The 60-customer demo loaded into the test's database; returns what it printed."""
    assert (
        await load_demo_data(settings, customers=CUSTOMERS, seed=7, progress=False, today=TODAY)
        == 0
    )
    return capsys.readouterr().out


def local(instant: datetime) -> datetime:
    return instant.astimezone(ZONE)


async def test_every_account_is_held_priced_and_metered(settings: Settings, loaded: str) -> None:
    async with open_database(settings.database_url):
        assert await Customer.all().count() == CUSTOMERS
        accounts = await Account.all()
        assert len(accounts) == CUSTOMERS
        holders = Counter(h.account_id for h in await AccountHolder.all())  # type: ignore[attr-defined]
        tariffs = Counter(t.account_id for t in await TariffAssignment.all())  # type: ignore[attr-defined]
        assert all(holders[a.id] == 1 and tariffs[a.id] == 1 for a in accounts)
        categories = Counter(a.category.value for a in accounts)
        assert categories == {"domestic": 51, "commercial": 7, "industrial": 2}
        meters = await Meter.all()
        assert Counter(m.kind for m in meters) == {
            MeterKind.MANUAL: 42,
            MeterKind.PROBE: 15,
            MeterKind.SMART: 3,
        }
        installed = {i.meter_id: i for i in await MeterInstallation.all()}  # type: ignore[attr-defined]
        assert set(installed) == {m.id for m in meters}
        ratios = {(c.ct_primary_a, c.ct_secondary_a) for c in await MultiplierChange.all()}
        assert (1, 1) in ratios and any(primary > secondary for primary, secondary in ratios)
        registered = Counter(r.meter_id for r in await Register.all())  # type: ignore[attr-defined]
        assert all(registered[m.id] >= 1 for m in meters)
        stops = await RouteStop.all()
        smart = {m.id for m in meters if m.kind is MeterKind.SMART}
        assert len(stops) == CUSTOMERS - len(smart) and not smart & {s.meter_id for s in stops}  # type: ignore[attr-defined]
        # the history's bill runs price gross metering (an EXPORT credit) and kVAh with the
        # power factor
        by_tariff = defaultdict(list)
        for bill in await Bill.filter(active_period__isnull=False):
            for tariff in bill.snapshot["tariffs"]:
                by_tariff[tariff["code"]].append(bill)
        gross, kvah = by_tariff["LT-1A-GM"], by_tariff["HT-1-KVAH"]
        assert gross and {b.snapshot["solar"]["scheme"] for b in gross} == {"gross"}
        exported = await BillLine.filter(bill_id__in=[b.id for b in gross], code="EXPORT")
        assert len(exported) == len(gross)
        assert kvah and all(b.snapshot["usage"]["power_factor"] for b in kvah)


async def test_seven_reads_per_register_up_to_the_last_completed_month(
    settings: Settings, loaded: str
) -> None:
    async with open_database(settings.database_url):
        reads = defaultdict(list)
        # the demo handset's pushed reads are the field work of "today", not the history
        for read in await RegisterRead.filter(device_id__isnull=True).order_by("read_at"):
            reads[read.register_id].append(read)  # type: ignore[attr-defined]
        assert len(reads) == await Register.all().count()
        short = [series for series in reads.values() if len(series) != 7]
        # one signed-up customer's premises were locked at the last read: estimated bill
        short_ids = [s[0].register_id for s in short]  # type: ignore[attr-defined]
        assert (
            len(set(await Register.filter(id__in=short_ids).values_list("meter_id", flat=True)))
            == 1
        )
        assert all(len(s) == 6 for s in short)
        for series in reads.values():
            if len(series) == 6:
                continue
            assert len(series) == 7
            assert local(series[0].read_at).date() >= date(2025, 10, 1)
            assert (local(series[-1].read_at).year, local(series[-1].read_at).month) == (2026, 4)
            assert all(r.quality.value == "valid" and r.revision == 1 for r in series)
        assert len({r.client_uuid for series in reads.values() for r in series}) == sum(
            map(len, reads.values())
        )
        imports = {r.id for r in await Register.filter(obis_code="1.8.0")}
        wraps = [
            (a.value_milli, b.value_milli)
            for register_id in imports
            for a, b in pairwise(reads[register_id])
            if b.value_milli < a.value_milli
        ]
        assert wraps, "a few registers pass 999999 kWh during the six months"
        assert all(before > 999_000_000 and after < 1_000_000 for before, after in wraps)


async def test_smart_meter_intervals_add_up_to_their_register_reads(
    settings: Settings, loaded: str
) -> None:
    async with open_database(settings.database_url):
        smart = await Meter.filter(kind=MeterKind.SMART)
        assert len(smart) == 3
        for meter in smart:
            registers = {r.obis_code: r for r in await Register.filter(meter=meter)}
            intervals = await IntervalReading.filter(register=registers["1.8.0"]).order_by(
                "interval_start"
            )
            reads = {
                obis: await RegisterRead.filter(register=register).order_by("read_at")
                for obis, register in registers.items()
            }
            first, last = reads["1.8.0"][0].read_at, reads["1.8.0"][-1].read_at
            per_day = Counter(local(i.interval_start).date() for i in intervals)
            assert set(per_day.values()) == {96}
            assert len(per_day) == (local(last).date() - local(first).date()).days
            assert (intervals[0].interval_start, intervals[-1].interval_start) == (
                first,
                last - INTERVAL,
            )
            for obis, series in reads.items():
                assert len(series) == 7
                if obis != "1.6.0":
                    for before, after in pairwise(series):
                        window = [
                            i
                            for i in intervals
                            if before.read_at <= i.interval_start < after.read_at
                        ]
                        recorded = sum(_in_period(i, obis) for i in window)
                        assert recorded == after.value_milli - before.value_milli


async def test_smart_meter_usage_is_aggregated_for_the_app(settings: Settings, loaded: str) -> None:
    """The bulk load bypasses ingestion, so the loader must build the daily usage itself."""
    async with open_database(settings.database_url):
        for meter in await Meter.filter(kind=MeterKind.SMART):
            register = await Register.get(meter=meter, obis_code="1.8.0")
            installation = await MeterInstallation.get(meter=meter)
            account = await Account.get(service_point_id=installation.service_point_id)  # type: ignore[attr-defined]
            total = sum(i.value_wh for i in await IntervalReading.filter(register=register))
            daily = await UsageDaily.filter(account=account, tou_period="")
            assert daily and sum(d.import_wh for d in daily) == total


def _in_period(interval: IntervalReading, obis: str) -> int:
    """Wh of the interval that the ``obis`` register counts (all of it, or its TOU hours)."""
    hour = local(interval.interval_start).hour
    if obis == "1.8.1":
        return int(interval.value_wh) if hour in PEAK_HOURS else 0
    if obis == "1.8.2":
        return int(interval.value_wh) if hour in OFF_PEAK_HOURS else 0
    return int(interval.value_wh)


async def test_signed_up_users_sign_in_with_the_printed_passwords(
    settings: Settings, loaded: str
) -> None:
    printed = {email: (role, password) for role, email, password in SIGN_IN_LINE.findall(loaded)}
    assert "Sign in" in loaded and "demo only" in loaded
    async with open_database(settings.database_url):
        users = await User.all()
        assert Counter(u.role for u in users) == {
            Role.CUSTOMER: 5,
            Role.STAFF: 2,
            Role.ADMIN: 1,
            Role.METER_READER: 1,
        }
        assert {u.email for u in users} == set(printed)
        for user in users:
            assert user.password_hash and verify_secret(
                user.password_hash, printed[str(user.email)][1]
            )
            customer = await Customer.get_or_none(id=user.customer_id)  # type: ignore[attr-defined]
            assert (customer is not None) == (user.role is Role.CUSTOMER)
            assert customer is None or customer.email == user.email
        assert await Customer.filter(users__id__isnull=True).count() == CUSTOMERS - 5
        partner = await PartnerClient.get(client_id="demo-energy-insights")
        secret = SECRET_LINE.search(loaded)
        assert secret and verify_secret(partner.secret_hash, secret.group(1))
        assert partner.scopes == ["usage:read", "bills:read"]
        assert await Consent.filter(partner=partner).count() == 5


async def test_reference_data(settings: Settings, loaded: str) -> None:
    async with open_database(settings.database_url):
        phones = [c.phone for c in await Customer.all()]
        assert len(set(phones)) == len(phones)
        assert all(re.fullmatch(r"\+919\d{9}", str(phone)) for phone in phones)
        assert all(c.postal_address.endswith("Maharashtra") for c in await Customer.all())
        for version in await TariffVersion.all().prefetch_related("tariff"):
            assert version.document["format"] == "gridbill-tariff/1"
            assert version.document_sha256 == document_sha256(version.document)
            assert version.effective_from == date(2025, 4, 1)
        holidays = {h.day: h.name for h in await Holiday.all()}
        assert holidays[date(2026, 1, 26)] == "Republic Day"
        assert date(2026, 11, 8) in holidays and date(2026, 8, 15) in holidays


def test_the_same_seed_gives_the_same_utility() -> None:
    first = build_demo_utility(seed=11, customers=40, today=TODAY, zone=ZONE)
    again = build_demo_utility(seed=11, customers=40, today=TODAY, zone=ZONE)
    later = build_demo_utility(seed=11, customers=40, today=TODAY + timedelta(days=62), zone=ZONE)
    other = build_demo_utility(seed=12, customers=40, today=TODAY, zone=ZONE)
    assert first.customers == again.customers == later.customers
    assert first.accounts == again.accounts
    assert [r.reads for _, r in first.registers()] == [r.reads for _, r in again.registers()]
    assert [c.name for c in first.customers] != [c.name for c in other.customers]


def test_tou_registers_are_parts_of_the_import() -> None:
    """Peak plus off-peak never exceeds the total, at the opening read or in any month."""
    plan = build_demo_utility(seed=3, customers=200, today=TODAY, zone=ZONE)
    checked = 0
    for meter in plan.meters:
        values = {r.obis_code: [read.value_milli for read in r.reads] for r in meter.registers}
        if "1.8.1" not in values:
            continue
        total, peak, off_peak = values["1.8.0"], values["1.8.1"], values["1.8.2"]
        assert peak[0] + off_peak[0] <= total[0]
        for k in range(1, 7):
            assert peak[k] - peak[k - 1] + off_peak[k] - off_peak[k - 1] <= total[k] - total[k - 1]
        checked += 1
    assert checked == 30  # 24 shops and 6 factories


def test_gross_metered_homes_export_and_kvah_factories_read_apparent_energy() -> None:
    """Every gross-metered home has an export register; every kVAh factory's 9.8.0 advances
    by at least its kWh each month (a power factor of at most 1), landing in different
    power-factor bands."""
    plan = build_demo_utility(seed=3, customers=200, today=TODAY, zone=ZONE)
    tariff_of = {a.service_point_code: a.tariff_code for a in plan.accounts}
    codes = Counter(tariff_of.values())
    assert (codes["LT-1A-GM"], codes["HT-1-KVAH"], codes["LT-1A-NM"]) == (2, 2, 4)
    factors = set()
    for meter in plan.meters:
        values = {r.obis_code: [read.value_milli for read in r.reads] for r in meter.registers}
        tariff = tariff_of[meter.service_point_code]
        assert ("2.8.0" in values) == (tariff in {"LT-1A-GM", "LT-1A-NM"})
        assert ("9.8.0" in values) == (tariff == "HT-1-KVAH")
        if "9.8.0" in values:
            kwh, kvah = values["1.8.0"], values["9.8.0"]
            for k in range(1, 7):
                factor = (kwh[k] - kwh[k - 1]) / (kvah[k] - kvah[k - 1])
                assert 0.85 < factor <= 1
                factors.add(round(factor, 2))
    assert min(factors) < 0.95 < max(factors)  # penalty and incentive bands both shown


async def test_a_loaded_database_is_refused_unless_if_empty(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await load_demo_data(settings, customers=20, progress=False, today=TODAY) == 0
    with pytest.raises(DemoDataError, match="already has customers"):
        await load_demo_data(settings, customers=20, progress=False, today=TODAY)
    capsys.readouterr()
    assert (
        await load_demo_data(settings, customers=20, if_empty=True, progress=False, today=TODAY)
        == 0
    )
    assert capsys.readouterr().out.strip() == "demo data already loaded"
    async with open_database(settings.database_url):
        assert await Customer.all().count() == 20


def test_cli_refuses_a_loaded_database_in_one_line(
    settings: Settings, subprocess_env: dict[str, str]
) -> None:
    cli = [sys.executable, "-m", "cli.main", "demo-data", "--no-progress", "--customers", "20"]
    first = subprocess.run(
        cli, env=subprocess_env, capture_output=True, text=True, timeout=120, check=False
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        cli, env=subprocess_env, capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 1
    assert again.stderr.strip().count("\n") == 0
    assert again.stderr.startswith("gridbill: error: the database already has customers")
    skipped = subprocess.run(
        [*cli, "--if-empty"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (skipped.returncode, skipped.stdout.strip()) == (0, "demo data already loaded")


@pytest.mark.slow
def test_full_demo_on_a_new_sqlite_file_within_two_minutes(
    on_sqlite: None, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    """1,000 customers on a fresh SQLite database, with two months of bills and payments.

    On an idle 2-core machine the bulk load takes about 13 s and the history (8 bill
    runs, 2,000 bills issued, ~1,500 payments through the services) about 20 s more; the
    budget leaves room for a machine shared with other builds.
    """
    env = {**subprocess_env, "DATABASE_URL": f"sqlite://{tmp_path / 'new' / 'demo.sqlite3'}"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo-data", "--no-progress"],
        env=env, capture_output=True, text=True, timeout=300, check=False, cwd=os.getcwd(),
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    assert "Sign in" in result.stdout and "customers          1,000" in result.stdout
    assert "interval readings" in result.stdout and "/graphql" in result.stdout
    assert "bills              2,000 issued" in result.stdout
    assert elapsed < 120, f"demo-data took {elapsed:.1f} s"

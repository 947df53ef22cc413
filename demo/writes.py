"""What the loader writes, table by table, parents before children.

The handful of reference rows (cycles, tariffs, holidays, routes, users, the partner) go
through the models; the thousands of connection rows and the reads go through
:class:`~demo.bulk.BulkWriter`, and each level reads back the ids the database gave.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from domain.enums import Role
from store.models import (
    BillingCycle,
    Consent,
    Holiday,
    PartnerClient,
    Route,
    Tariff,
    TariffVersion,
    User,
)

from . import rows as cols
from .bulk import BulkWriter
from .holidays import CALENDAR
from .periods import at_local
from .plan import DemoUser, DemoUtility
from .rows import Ids, IntervalGrid, RowBuilder
from .tariffs import document_sha256


async def write_reference_data(plan: DemoUtility, hashes: dict[str, str]) -> Ids:
    """Billing cycles, staff users, tariffs with their versions, holidays and routes."""
    cycles = {}
    for c in plan.cycles:
        cycle = await BillingCycle.create(
            code=c.code, name=c.name, read_day=c.read_day, bill_day=c.bill_day, due_days=c.due_days
        )
        cycles[c.code] = cycle.id
    staff = {
        u.role: await _user(u, hashes, None) for u in plan.users if u.role is not Role.CUSTOMER
    }
    tariffs = await _write_tariffs(plan, created_by=staff[Role.ADMIN])
    holidays = [Holiday(calendar=CALENDAR, day=day, name=name) for day, name in plan.holidays]
    await Holiday.bulk_create(holidays)
    reader = staff[Role.METER_READER]
    routes = {}
    for r in plan.routes:
        reader_id = reader if r.has_reader else None
        route = await Route.create(
            code=r.code, name=r.name, cycle_id=cycles[r.cycle_code], reader_id=reader_id
        )
        routes[r.code] = route.id
    return Ids(cycles=cycles, tariffs=tariffs, routes=routes, reader=reader)


async def _write_tariffs(plan: DemoUtility, created_by: int) -> dict[str, int]:
    """Each tariff with one version, its document hashed as the bills will cite it."""
    tariffs = {}
    for t in plan.tariffs:
        tariff = await Tariff.create(
            code=t.code, name=t.name, category=t.category.value, currency="INR"
        )
        await TariffVersion.create(
            tariff=tariff, version=1, effective_from=plan.tariff_effective_from, document=t.document,
            document_sha256=document_sha256(t.document), source_reference=t.source_reference,
            created_by_id=created_by,
        )  # fmt: skip
        tariffs[t.code] = tariff.id
    return tariffs


async def _user(user: DemoUser, hashes: dict[str, str], customer_id: int | None) -> int:
    created = await User.create(
        email=user.email, phone=user.phone, full_name=user.full_name, role=user.role,
        password_hash=hashes[user.email], customer_id=customer_id,
        password_changed_at=datetime.now(UTC),
    )  # fmt: skip
    return created.id


async def write_people(plan: DemoUtility, writer: BulkWriter, rows: RowBuilder, ids: Ids) -> None:
    """Customers and where they take supply, their accounts, meters, registers and reads."""
    await writer.insert("customers", cols.CUSTOMERS, rows.customers())
    ids.customers = await writer.ids("customers", "number")
    await writer.insert("premises", cols.PREMISES, rows.premises())
    ids.premises = await writer.ids("premises", "code")
    await writer.insert("service_points", cols.SERVICE_POINTS, rows.service_points(ids))
    ids.service_points = await writer.ids("service_points", "code")
    await writer.insert("accounts", cols.ACCOUNTS, rows.accounts(ids))
    ids.accounts = await writer.ids("accounts", "number")
    await writer.insert("account_holders", cols.ACCOUNT_HOLDERS, rows.account_holders(ids))
    await writer.insert("tariff_assignments", cols.TARIFF_ASSIGNMENTS, rows.tariff_assignments(ids))
    await writer.insert("meters", cols.METERS, rows.meters())
    ids.meters = await writer.ids("meters", "serial")
    await writer.insert("meter_installations", cols.INSTALLATIONS, rows.installations(ids))
    ids.installations = await writer.ids("meter_installations", "meter_id")
    await writer.insert("multiplier_changes", cols.MULTIPLIERS, rows.multipliers(ids))
    await writer.insert("registers", cols.REGISTERS, rows.registers(ids))
    ids.registers = await writer.ids("registers", "meter_id", "obis_code")
    await writer.insert("route_stops", cols.ROUTE_STOPS, rows.route_stops(ids))
    await writer.insert("register_reads", cols.READS, rows.reads(ids))
    await _write_intervals(writer, rows, ids)


async def _write_intervals(writer: BulkWriter, rows: RowBuilder, ids: Ids) -> None:
    """One smart meter at a time, so memory holds one meter's intervals, not all of them."""
    assert ids.meters is not None and ids.registers is not None
    grids: dict[str, IntervalGrid] = {}
    for meter in rows.smart_meters():
        if meter.cycle_code not in grids:
            grids[meter.cycle_code] = rows.grid(meter.cycle_code)
        grid = grids[meter.cycle_code]
        register_id = ids.registers[ids.meters[meter.serial], "1.8.0"]
        await writer.insert(
            "interval_readings", cols.INTERVALS, rows.intervals(meter, register_id, grid)
        )


async def write_sign_ins(
    plan: DemoUtility, ids: Ids, hashes: dict[str, str], partner_hash: str
) -> None:
    """The customers who have signed up, the partner application and their consents to it."""
    assert ids.customers is not None
    partner = await PartnerClient.create(
        client_id=plan.partner.client_id, secret_hash=partner_hash, name=plan.partner.name,
        scopes=list(plan.partner.scopes), contact_email=plan.partner.contact_email,
    )  # fmt: skip
    granted = at_local(plan.cycles[0].read_dates[-1], time(10), plan.zone)  # last month
    for user in plan.signed_up:
        assert user.customer_number is not None
        customer_id = ids.customers[user.customer_number]
        await _user(user, hashes, customer_id=customer_id)
        await Consent.create(
            partner=partner,
            customer_id=customer_id,
            scopes=list(plan.partner.scopes),
            granted_at=granted,
        )

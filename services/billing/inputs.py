"""Everything a bill run needs about a chunk of accounts, read in a few set-based queries.

One query per table per chunk (accounts, holders, tariff assignments, meter
installations with their multipliers and registers, reads in the period's window, earlier
bills and the reads they closed with, interval data for smart meters, ledger balances):
the number of queries does not grow with the number of accounts, and only one chunk is
held in memory at a time. Tariff versions and holiday calendars are few and are loaded
once per run (:func:`load_tariff_book`). The values are :mod:`domain.bill_inputs`'s,
and :mod:`domain.bill_draft` prices them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.bill_inputs import (
    AccountInputs,
    Assignment,
    BillReadRow,
    Holder,
    Installation,
    PreviousBill,
    Read,
    Reg,
    TariffBook,
    Version,
)
from domain.consumption import Multiplier
from domain.tariff import parse_tariff
from domain.usage_aggregates import COUNTED
from store.sql import (
    Sql,
    as_date,
    as_date_or_none,
    as_dt,
    as_dt_or_none,
    as_json,
)

ACTUAL_QUALITIES = ("valid", "edited")
FIRST_BILL_LOOKBACK_DAYS = 100
HISTORY_DAYS = 400


async def load_tariff_book(sql: Sql) -> TariffBook:
    """Every tariff version (parsed once) and holiday calendar, for one run or issue."""
    rows = await sql.rows(
        "SELECT v.id, v.tariff_id, v.effective_from, v.effective_to, v.document, "
        "v.document_sha256, t.holiday_calendar FROM tariff_versions v "
        "JOIN tariffs t ON t.id = v.tariff_id ORDER BY v.id"
    )
    versions: list[Version] = []
    errors: dict[int, str] = {}
    for row in rows:
        try:
            tariff = parse_tariff(as_json(row["document"]))
        except ValueError as exc:
            errors[row["id"]] = str(exc)
            continue
        versions.append(
            Version(
                id=row["id"],
                tariff_id=row["tariff_id"],
                effective_from=as_date(row["effective_from"]),
                effective_to=as_date_or_none(row["effective_to"]),
                sha256=row["document_sha256"],
                tariff=tariff,
                holiday_calendar=row["holiday_calendar"],
            )
        )
    holidays: dict[str, set[date]] = defaultdict(set)
    for row in await sql.rows("SELECT calendar, day FROM holidays"):
        holidays[row["calendar"]].add(as_date(row["day"]))
    return TariffBook(versions, {k: frozenset(v) for k, v in holidays.items()}, errors)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


async def load_accounts(
    sql: Sql, *, cycle_id: int, after_id: int, limit: int, period_last: date
) -> list[AccountInputs]:
    rows = await sql.rows(
        "SELECT id, number, category, sanctioned_load_w, contract_demand_va, service_point_id, "
        "connected_on FROM accounts WHERE billing_cycle_id = ? AND status = 'active' "
        "AND id > ? AND connected_on <= ? ORDER BY id LIMIT ?",
        [cycle_id, after_id, sql.day(period_last), limit],
    )
    return [
        AccountInputs(
            id=r["id"],
            number=r["number"],
            category=r["category"],
            sanctioned_load_w=r["sanctioned_load_w"],
            contract_demand_va=r["contract_demand_va"],
            service_point_id=r["service_point_id"],
            connected_on=as_date(r["connected_on"]),
        )
        for r in rows
    ]


async def load_chunk(
    sql: Sql,
    accounts: list[AccountInputs],
    *,
    window_end: datetime,
    history_from: date,
    lookback_from: datetime,
    zone: ZoneInfo,
    bills_before: date | None = None,
) -> None:
    """Fill in everything the accounts' bills need (reads up to ``window_end``).

    ``bills_before``: only the earlier bills that start before it count (a rebill of a
    bill that later bills follow opens where the bill before it closed)."""
    if not accounts:
        return
    by_id = {a.id: a for a in accounts}
    marks, ids = sql.inlist(list(by_id))
    for r in await sql.rows(
        f"SELECT account_id, customer_id, move_in_on, move_out_on FROM account_holders "  # noqa: S608
        f"WHERE account_id IN ({marks}) ORDER BY account_id, move_in_on",
        ids,
    ):
        by_id[r["account_id"]].holders.append(
            Holder(r["customer_id"], as_date(r["move_in_on"]), as_date_or_none(r["move_out_on"]))
        )
    for r in await sql.rows(
        f"SELECT account_id, tariff_id, effective_from, effective_to FROM tariff_assignments "  # noqa: S608
        f"WHERE account_id IN ({marks}) ORDER BY account_id, effective_from",
        ids,
    ):
        by_id[r["account_id"]].assignments.append(
            Assignment(
                r["tariff_id"], as_date(r["effective_from"]), as_date_or_none(r["effective_to"])
            )
        )
    await _load_bills(sql, by_id, list(by_id), history_from, bills_before)
    await _load_meters(sql, accounts)
    await _load_reads(sql, accounts, window_end, lookback_from, zone)
    for r in await sql.rows(
        f"SELECT account_id, SUM(amount_paise) AS balance FROM ledger_entries "  # noqa: S608
        f"WHERE account_id IN ({marks}) GROUP BY account_id",
        ids,
    ):
        by_id[r["account_id"]].balance_paise = int(r["balance"] or 0)


async def _load_bills(
    sql: Sql,
    by_id: dict[int, AccountInputs],
    ids: list[int],
    history_from: date,
    before: date | None = None,
) -> None:
    marks, ids = sql.inlist(ids)
    rows = await sql.rows(
        "SELECT id, account_id, number, status, period_start, period_end, is_estimated, "  # noqa: S608
        "is_final, total_paise, payable_paise, consumption_wh, max_demand_w, tariff_version_id, "
        "issue_date, due_date, snapshot FROM bills "
        f"WHERE account_id IN ({marks}) AND active_period IS NOT NULL AND period_start >= ? "
        "AND period_start < ? ORDER BY account_id, period_start DESC",
        [*ids, sql.day(history_from), sql.day(before or date.max)],
    )
    wanted: dict[int, PreviousBill] = {}
    for r in rows:
        bill = PreviousBill(
            id=r["id"],
            number=r["number"],
            status=r["status"],
            period_start=as_date(r["period_start"]),
            period_end=as_date(r["period_end"]),
            is_estimated=bool(r["is_estimated"]),
            is_final=bool(r["is_final"]),
            total_paise=r["total_paise"],
            payable_paise=r["payable_paise"],
            consumption_wh=r["consumption_wh"],
            max_demand_w=r["max_demand_w"],
            tariff_version_id=r["tariff_version_id"],
            issue_date=as_date_or_none(r["issue_date"]),
            due_date=as_date_or_none(r["due_date"]),
            snapshot=as_json(r["snapshot"]) or {},
        )
        account = by_id[r["account_id"]]
        account.bills.append(bill)
    for account in by_id.values():
        # The latest bill's closing reads (an estimate's are estimated), and those of the
        # last actual bill before a run of estimates (what a true-up bills from).
        if account.bills:
            wanted[account.bills[0].id] = account.bills[0]
        for bill in _chain_end(account.bills):
            wanted[bill.id] = bill
    if not wanted:
        return
    marks, bill_ids = sql.inlist(list(wanted))
    for r in await sql.rows(
        "SELECT bill_id, register_id, opening_read_id, closing_read_id, opening_milli, "  # noqa: S608
        f"closing_milli, is_estimated FROM bill_reads WHERE bill_id IN ({marks}) "
        "ORDER BY id",
        bill_ids,
    ):
        wanted[r["bill_id"]].reads.append(
            BillReadRow(
                r["register_id"],
                r["opening_read_id"],
                r["closing_read_id"],
                r["opening_milli"],
                r["closing_milli"],
                bool(r["is_estimated"]),
            )
        )


async def _load_meters(sql: Sql, accounts: list[AccountInputs]) -> None:
    points: dict[int, list[AccountInputs]] = defaultdict(list)
    for a in accounts:
        points[a.service_point_id].append(a)
    marks, point_ids = sql.inlist(list(points))
    installs: dict[int, Installation] = {}
    for r in await sql.rows(
        "SELECT i.id, i.meter_id, i.service_point_id, i.installed_at, i.removed_at, m.kind "  # noqa: S608
        "FROM meter_installations i JOIN meters m ON m.id = i.meter_id "
        f"WHERE i.service_point_id IN ({marks}) ORDER BY i.installed_at, i.id",
        point_ids,
    ):
        install = Installation(
            r["id"],
            r["meter_id"],
            r["kind"],
            as_dt(r["installed_at"]),
            as_dt_or_none(r["removed_at"]),
        )
        installs[install.id] = install
        for a in points[r["service_point_id"]]:
            a.installations.append(install)
    if not installs:
        return
    marks, install_ids = sql.inlist(list(installs))
    for r in await sql.rows(
        "SELECT installation_id, effective_from, ct_primary_a, ct_secondary_a, pt_primary_v, "  # noqa: S608
        f"pt_secondary_v FROM multiplier_changes WHERE installation_id IN ({marks}) "
        "ORDER BY effective_from",
        install_ids,
    ):
        multiplier = Multiplier(
            r["ct_primary_a"], r["ct_secondary_a"], r["pt_primary_v"], r["pt_secondary_v"]
        )
        installs[r["installation_id"]].multipliers.append((as_dt(r["effective_from"]), multiplier))
    by_meter: dict[int, list[Installation]] = defaultdict(list)
    for install in installs.values():
        by_meter[install.meter_id].append(install)
    marks, meter_ids = sql.inlist(list(by_meter))
    for r in await sql.rows(
        "SELECT id, meter_id, obis_code, unit, digits, tou_period FROM registers "  # noqa: S608
        f"WHERE meter_id IN ({marks}) AND is_billing = ? ORDER BY id",
        [*meter_ids, sql.flag(True)],
    ):
        reg = Reg(r["id"], r["meter_id"], r["obis_code"], r["unit"], r["digits"], r["tou_period"])
        for install in by_meter[reg.meter_id]:
            install.registers.append(reg)


async def _load_reads(
    sql: Sql,
    accounts: list[AccountInputs],
    window_end: datetime,
    lookback_from: datetime,
    zone: ZoneInfo,
) -> None:
    """Actual valid reads of the accounts' registers from the earliest opening on."""
    owners: dict[int, list[AccountInputs]] = defaultdict(list)
    for a in accounts:
        for install in a.installations:
            for reg in install.registers:
                owners[reg.id].append(a)
    if not owners:
        return
    wanted = {
        row.closing_read_id if not bill.is_estimated else row.opening_read_id
        for a in accounts
        for bill in _chain_end(a.bills)
        for row in bill.reads
    }
    opening_ids = sorted(i for i in wanted if i is not None)
    earliest = lookback_from
    if opening_ids:
        marks, opening_ids = sql.inlist(opening_ids)
        for r in await sql.rows(
            "SELECT id, register_id, value_milli, read_at, read_type FROM register_reads "  # noqa: S608
            f"WHERE id IN ({marks})",
            opening_ids,
        ):
            read = read_row(r, zone)
            earliest = min(earliest, read.read_at)
            for a in owners.get(read.register_id, []):
                a.opening_reads[read.id] = read
    marks, register_ids = sql.inlist(list(owners))
    rows = await sql.rows(
        "SELECT id, register_id, value_milli, read_at, read_type FROM register_reads "  # noqa: S608
        f"WHERE register_id IN ({marks}) AND read_at >= ? AND read_at < ? "
        "AND quality IN (?, ?) AND source <> 'estimated' ORDER BY read_at, id",
        [*register_ids, sql.ts(earliest), sql.ts(window_end), *ACTUAL_QUALITIES],
    )
    for r in rows:
        read = read_row(r, zone)
        for a in owners[read.register_id]:
            a.reads.setdefault(read.register_id, []).append(read)


def _chain_end(bills: list[PreviousBill]) -> list[PreviousBill]:
    """The latest bill, or the run of estimated bills back to the last actual one."""
    chain: list[PreviousBill] = []
    for bill in bills:
        chain.append(bill)
        if not bill.is_estimated:
            break
    return chain[-1:] if chain else []


def read_row(r: dict[str, Any], zone: ZoneInfo) -> Read:
    read_at = as_dt(r["read_at"])
    return Read(
        r["id"],
        r["register_id"],
        r["value_milli"],
        read_at,
        read_at.astimezone(zone).date(),
        r["read_type"],
    )


async def load_intervals(
    sql: Sql, spans: dict[int, tuple[datetime, datetime]]
) -> dict[int, list[tuple[datetime, int, int]]]:
    """Intervals (start, length s, Wh) of each register in its ``[start, end)``."""
    if not spans:
        return {}
    marks, ids = sql.inlist(list(spans))
    lo = min(s for s, _ in spans.values())
    hi = max(e for _, e in spans.values())
    found: dict[int, list[tuple[datetime, int, int]]] = {i: [] for i in ids}
    for r in await sql.rows(
        "SELECT register_id, interval_start, length_s, value_wh FROM interval_readings "  # noqa: S608
        f"WHERE register_id IN ({marks}) AND interval_start >= ? AND interval_start < ? "
        f"AND quality IN ({Sql.marks(len(COUNTED))}) ORDER BY register_id, interval_start",
        [*ids, sql.ts(lo), sql.ts(hi), *COUNTED],
    ):
        start = as_dt(r["interval_start"])
        begin, end = spans[r["register_id"]]
        if begin <= start < end:
            found[r["register_id"]].append((start, r["length_s"], r["value_wh"]))
    return found


def lookback(scheduled: date, zone: ZoneInfo) -> datetime:
    return local_midnight(scheduled - timedelta(days=FIRST_BILL_LOOKBACK_DAYS), zone)

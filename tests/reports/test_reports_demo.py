"""Every report figure against totals computed independently from the raw tables.

The demo utility is loaded once per backend (it bills, issues and collects two months
through the product's own services); a few field visits, VEE exceptions and stored
gateway records are added so every section has rows. The expected figures are computed
here in plain Python from ``SELECT *`` of the raw tables, never through the reports' SQL;
the ageing check allocates payments with ``domain.ageing`` (the report does it in SQL
with a window sum).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from openpyxl import load_workbook
from tortoise import connections

from cli.main import main as gridbill
from demo.loader import load_demo_data
from domain.ageing import BUCKETS, Debit, bucket, unpaid_newest_first
from domain.indian_format import group as indian_group
from domain.report_shapes import share
from gridbill.settings import Settings, get_settings
from services.errors import Refused
from services.payments.gateway_records import remember
from services.reports.ageing import ageing
from services.reports.billing_summary import billing_summary
from services.reports.collections import collections
from services.reports.reading_completion import reading_completion
from services.reports.reconciliation import reconciliation
from services.reports.scope import ReportError, Scope, resolve_scope
from services.reports.usage import first_of_window, usage
from store.db import open_database
from store.models import ValidationException
from store.sql import Sql, as_date, as_dt

T = TypeVar("T")
TODAY = date(2026, 5, 10)
MONTHS = ("2026-03", "2026-04", "2026-05")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@dataclass
class Raw:
    """The raw tables, as plain rows."""

    tables: dict[str, list[dict[str, Any]]]

    def __getitem__(self, name: str) -> list[dict[str, Any]]:
        return self.tables[name]


TABLES = (
    "accounts", "bills", "bill_runs", "bill_lines", "tariff_versions", "tariffs", "payments",
    "ledger_entries", "meter_installations", "route_stops", "routes", "users", "account_holders",
    "customers", "register_reads", "registers", "field_visits", "validation_exceptions",
    "gateway_records", "billing_cycles",
)  # fmt: skip


async def _raw() -> Raw:
    sql = Sql(connections.get("default"))
    return Raw({t: await sql.rows(f"SELECT * FROM {t}") for t in TABLES})  # noqa: S608


@pytest.fixture
def demo(settings: Settings, capsys: pytest.CaptureFixture[str]) -> Iterator[Settings]:
    run(load_demo_data(settings, customers=20, progress=False, today=TODAY))
    run(_extra_rows(settings))
    capsys.readouterr()
    yield settings


async def _extra_rows(settings: Settings) -> None:
    """Field visits and VEE exceptions in April, and gateway records for some payments."""
    async with open_database(settings.database_url):
        sql = Sql(connections.get("default"))
        stops = await sql.rows(
            "SELECT meter_id FROM route_stops WHERE removed_at IS NULL ORDER BY id"
        )
        april = datetime(2026, 4, 20, 10, tzinfo=UTC)
        now = sql.ts(datetime.now(UTC))
        visits = [
            [str(uuid.uuid4()), s["meter_id"], sql.ts(april + timedelta(hours=i)), code, "", now, now]
            for i, (s, code) in enumerate(zip(stops[:3], ("no_access", "dog", "no_access"), strict=True))
        ]  # fmt: skip
        # the last meter is visited twice: the later visit's code counts
        visits.append([str(uuid.uuid4()), stops[2]["meter_id"], sql.ts(april - timedelta(days=3)), "locked", "", now, now])  # fmt: skip
        await sql.insert(
            "field_visits",
            ("client_uuid", "meter_id", "visited_at", "skip_code", "notes", "created_at", "updated_at"),
            visits,
        )  # fmt: skip
        for rule, status, meter, at in (
            ("spike", "open", stops[0]["meter_id"], april),
            ("spike", "accepted", stops[1]["meter_id"], april),
            ("zero_read", "open", stops[-1]["meter_id"], april + timedelta(days=5)),
            ("spike", "open", stops[0]["meter_id"], april - timedelta(days=40)),
        ):
            raised = await ValidationException.create(rule=rule, status=status, meter_id=meter)
            await sql.execute(
                "UPDATE validation_exceptions SET created_at = ? WHERE id = ?",
                [sql.ts(at), raised.id],
            )
        online = await sql.rows(
            "SELECT gateway_payment_id, gateway_order_id, amount_paise, captured_at "
            "FROM payments WHERE method = 'razorpay' AND status = 'captured' ORDER BY id"
        )
        entities = [
            {"id": p["gateway_payment_id"], "order_id": p["gateway_order_id"],
             "amount": int(p["amount_paise"]) + (100 if i == 1 else 0), "status": "captured",
             "method": "upi", "created_at": int(as_dt(p["captured_at"]).timestamp())}
            for i, p in enumerate(online[: len(online) // 2])
        ]  # fmt: skip
        day = as_dt(online[0]["captured_at"])
        entities.append(
            {"id": "pay_stranger", "order_id": "order_x", "amount": 999, "status": "captured",
             "method": "card", "created_at": int(day.timestamp())}
        )  # fmt: skip
        await remember(settings, entities)


async def _scope(settings: Settings, period: str, cycle: str | None = None) -> Scope:
    return await resolve_scope(period, cycle, zone=settings.zone, today=TODAY)


def _cycle_accounts(raw: Raw, cycle: str | None) -> set[int]:
    ids = {c["id"] for c in raw["billing_cycles"] if cycle is None or c["code"] == cycle}
    return {a["id"] for a in raw["accounts"] if a["billing_cycle_id"] in ids}


def _month(period: str) -> tuple[date, date]:
    first = date.fromisoformat(f"{period}-01")
    return first, (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _billed_on(raw: Raw) -> dict[int, date]:
    """Each issued bill's month date: its run's first day, else its issue date."""
    runs = {r["id"]: as_date(r["period_start"]) for r in raw["bill_runs"]}
    return {
        b["id"]: runs[b["bill_run_id"]] if b["bill_run_id"] else as_date(b["issue_date"])
        for b in raw["bills"]
        if b["status"] == "issued"
    }


# --- the checks, one per report ----------------------------------------------------------


async def check_billing_summary(
    settings: Settings, raw: Raw, period: str, cycle: str | None
) -> int:
    first, last = _month(period)
    accounts = {a["id"]: a for a in raw["accounts"]}
    in_cycle = _cycle_accounts(raw, cycle)
    billed_on = _billed_on(raw)
    versions = {v["id"]: v["tariff_id"] for v in raw["tariff_versions"]}
    tariffs = {t["id"]: t["code"] for t in raw["tariffs"]}
    bills = [
        b for b in raw["bills"]
        if b["id"] in billed_on and first <= billed_on[b["id"]] <= last and b["account_id"] in in_cycle
    ]  # fmt: skip
    by_tariff: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    by_category: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for b in bills:
        estimated = bool(b["is_estimated"])
        figures = [
            1,
            int(estimated),
            b["consumption_wh"],
            b["consumption_wh"] if estimated else 0,
            b["total_paise"],
        ]
        tariff = (
            tariffs[versions[b["tariff_version_id"]]] if b["tariff_version_id"] else "(no tariff)"
        )
        for group in (by_tariff[tariff], by_category[accounts[b["account_id"]]["category"]]):
            for i, v in enumerate(figures):
                group[i] += int(v)
    ids = {b["id"] for b in bills}
    components: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in raw["bill_lines"]:
        if line["bill_id"] in ids:
            components[line["component"]][0] += 1
            components[line["component"]][1] += int(line["amount_paise"])

    found = await billing_summary(await _scope(settings, period, cycle))

    def flat(f: Any) -> list[int]:
        return [f.bills, f.estimated_bills, f.wh, f.estimated_wh, f.total_paise]

    assert {k: flat(v) for k, v in found.by_tariff.items()} == dict(by_tariff)
    assert {k: flat(v) for k, v in found.by_category.items()} == dict(by_category)
    assert flat(found.total) == [sum(g[i] for g in by_tariff.values()) for i in range(5)]
    assert {c.component: [c.lines, c.amount_paise] for c in found.by_component} == dict(components)
    total = found.tables()[0].rows[0]
    assert total[5] == share(found.total.estimated_bills, found.total.bills)
    return len(bills)


async def check_collections(settings: Settings, raw: Raw, period: str, cycle: str | None) -> int:
    first, last = _month(period)
    in_cycle = _cycle_accounts(raw, cycle)
    expected: Counter[tuple[date, str, str]] = Counter()
    counts: Counter[tuple[date, str, str]] = Counter()
    for p in raw["payments"]:
        if p["status"] not in ("captured", "refunded") or p["account_id"] not in in_cycle:
            continue
        day = as_date(p["received_on"])
        if not first <= day <= last:
            continue
        channel = {"razorpay": p["gateway_method"] or "online", "bank_transfer": "bank"}.get(
            p["method"], "counter"
        )
        expected[(day, p["method"], channel)] += int(p["amount_paise"])
        counts[(day, p["method"], channel)] += 1
    found = await collections(await _scope(settings, period, cycle))
    assert {(r.day, r.method, r.channel): r.amount_paise for r in found.rows} == dict(expected)
    assert {(r.day, r.method, r.channel): r.payments for r in found.rows} == dict(counts)
    assert found.total_paise == sum(expected.values())
    by_method: Counter[str] = Counter()
    for (_, method, _), paise in expected.items():
        by_method[method] += paise
    assert {m: p for m, (_, p) in found.by("method").items()} == dict(by_method)
    return len(found.rows)


def _routes_of_accounts(raw: Raw) -> dict[int, str]:
    routes = {r["id"]: r["code"] for r in raw["routes"]}
    meter_route = {
        s["meter_id"]: routes[s["route_id"]] for s in raw["route_stops"] if s["removed_at"] is None
    }
    found: dict[int, str] = {}
    for a in raw["accounts"]:
        codes = [
            meter_route[i["meter_id"]] for i in raw["meter_installations"]
            if i["service_point_id"] == a["service_point_id"] and i["removed_at"] is None
            and i["meter_id"] in meter_route
        ]  # fmt: skip
        found[a["id"]] = min(codes) if codes else "(no route)"
    return found


async def check_ageing(settings: Settings, raw: Raw, period: str, cycle: str | None) -> int:
    scope = await _scope(settings, period, cycle)
    as_of = scope.as_of
    in_cycle = _cycle_accounts(raw, cycle)
    due = {b["id"]: as_date(b["due_date"]) for b in raw["bills"] if b["due_date"]}
    debits: defaultdict[int, list[Debit]] = defaultdict(list)
    credits: Counter[int] = Counter()
    for e in raw["ledger_entries"]:
        if as_date(e["effective_on"]) > as_of or e["account_id"] not in in_cycle:
            continue
        amount = int(e["amount_paise"])
        if amount > 0:
            due_on = due.get(e["bill_id"]) if e["kind"] == "bill" else None
            debits[e["account_id"]].append(
                Debit(e["id"], due_on or as_date(e["effective_on"]), amount)
            )
        else:
            credits[e["account_id"]] -= amount
    routes = _routes_of_accounts(raw)
    category = {a["id"]: a["category"] for a in raw["accounts"]}
    per_account: dict[int, dict[Any, int]] = {}
    for account, owed in debits.items():
        buckets = dict.fromkeys(BUCKETS, 0)
        for debit, part in unpaid_newest_first(owed, credits[account]):
            buckets[bucket((as_of - debit.due_on).days)] += part
        if sum(buckets.values()) > 0:
            per_account[account] = buckets
    # the receivable is the sum of positive ledger balances, whatever the allocation
    balance: Counter[int] = Counter()
    for e in raw["ledger_entries"]:
        if as_date(e["effective_on"]) <= as_of and e["account_id"] in in_cycle:
            balance[e["account_id"]] += int(e["amount_paise"])
    receivable = sum(v for v in balance.values() if v > 0)

    found = await ageing(scope)
    assert found.total.receivable_paise == receivable
    assert found.total.accounts == len(per_account)
    for name, key in (("by_category", category), ("by_route", routes)):
        expected: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (len(BUCKETS) + 1))
        for account, buckets in per_account.items():
            group = expected[key[account]]
            group[0] += 1
            for i, b in enumerate(BUCKETS):
                group[i + 1] += buckets[b]
        got = {
            k: [g.accounts, *(g.buckets[b] for b in BUCKETS)]
            for k, g in getattr(found, name).items()
        }
        assert got == dict(expected), name
    numbers = {a["id"]: a["number"] for a in raw["accounts"]}
    top = sorted(per_account, key=lambda a: (-sum(per_account[a].values()), numbers[a]))[:20]
    assert [d.account_number for d in found.top_defaulters] == [numbers[a] for a in top]
    assert [d.buckets for d in found.top_defaulters] == [per_account[a] for a in top]
    holders = {
        h["account_id"]: h["customer_id"]
        for h in sorted(raw["account_holders"], key=lambda h: as_date(h["move_in_on"]))
        if as_date(h["move_in_on"]) <= as_of
    }
    names = {c["id"]: c["name"] for c in raw["customers"]}
    assert [d.customer_name for d in found.top_defaulters] == [names[holders[a]] for a in top]
    return len(per_account)


async def check_reading_completion(
    settings: Settings, raw: Raw, period: str, cycle: str | None
) -> int:
    scope = await _scope(settings, period, cycle)
    start, end = scope.utc_bounds()
    cycle_ids = {c["id"] for c in raw["billing_cycles"] if cycle is None or c["code"] == cycle}
    users = {u["id"]: u["full_name"] for u in raw["users"]}
    routes = {
        r["id"]: (r["code"], users.get(r["reader_id"], "(unassigned)"))
        for r in raw["routes"]
        if r["cycle_id"] in cycle_ids
    }
    meter_of_register = {g["id"]: g["meter_id"] for g in raw["registers"]}
    read = {
        meter_of_register[r["register_id"]] for r in raw["register_reads"]
        if start <= as_dt(r["read_at"]) < end and r["source"] != "estimated"
    }  # fmt: skip
    latest: dict[int, tuple[datetime, int, str]] = {}
    for v in raw["field_visits"]:
        at = as_dt(v["visited_at"])
        if start <= at < end and (
            v["meter_id"] not in latest or (at, v["id"]) > latest[v["meter_id"]][:2]
        ):
            latest[v["meter_id"]] = (at, v["id"], v["skip_code"])
    expected: dict[tuple[str, str], list[Any]] = {}
    stop_meters = set()
    for s in raw["route_stops"]:
        if s["removed_at"] is not None or s["route_id"] not in routes:
            continue
        stop_meters.add(s["meter_id"])
        entry = expected.setdefault(routes[s["route_id"]], [0, 0, Counter(), 0])
        entry[0] += 1
        if s["meter_id"] in read:
            entry[1] += 1
        elif s["meter_id"] in latest:
            entry[2][latest[s["meter_id"]][2]] += 1
        else:
            entry[3] += 1
    exceptions = Counter(
        (x["rule"], x["status"]) for x in raw["validation_exceptions"]
        if start <= as_dt(x["created_at"]) < end and (cycle is None or x["meter_id"] in stop_meters)
    )  # fmt: skip
    found = await reading_completion(scope)
    got = {
        (r.route, r.reader): [r.expected, r.read, Counter(r.skipped), r.pending]
        for r in found.routes
    }
    assert got == expected
    assert {(e.rule, e.status): e.count for e in found.exceptions} == dict(exceptions)
    return sum(e[2].total() for e in expected.values()) + len(exceptions)


async def check_usage(settings: Settings, raw: Raw, period: str, cycle: str | None) -> int:
    first = first_of_window(date.fromisoformat(f"{period}-01"))
    _, last = _month(period)
    in_cycle = _cycle_accounts(raw, cycle)
    accounts = {a["id"]: a for a in raw["accounts"]}
    billed_on = _billed_on(raw)
    expected: defaultdict[tuple[str, date], list[int]] = defaultdict(lambda: [0] * 6)
    for b in raw["bills"]:
        if (
            b["id"] not in billed_on
            or not first <= billed_on[b["id"]] <= last
            or b["account_id"] not in in_cycle
        ):
            continue
        account = accounts[b["account_id"]]
        row = expected[(account["category"], billed_on[b["id"]].replace(day=1))]
        row[0] += 1
        row[1] += int(b["consumption_wh"])
        row[2] += int(b["consumption_wh"]) if b["is_estimated"] else 0
        if account["contract_demand_va"] is not None and int(b["max_demand_w"]) > 0:
            days = (as_date(b["period_end"]) - as_date(b["period_start"])).days + 1
            row[3] += 1
            row[4] += int(b["consumption_wh"])
            row[5] += int(b["max_demand_w"]) * 24 * days
    found = await usage(await _scope(settings, period, cycle))
    got = {
        (r.category, r.month): [
            r.bills,
            r.wh,
            r.estimated_wh,
            r.demand_bills,
            r.demand_wh,
            r.demand_wh_at_peak,
        ]
        for r in found.rows
    }
    assert got == dict(expected)
    for r in found.rows:
        assert r.load_factor == share(
            expected[(r.category, r.month)][4], expected[(r.category, r.month)][5]
        )
    return sum(v[3] for v in expected.values())


async def check_reconciliation(settings: Settings, raw: Raw, period: str, cycle: str | None) -> int:
    first, last = _month(period)
    in_cycle = _cycle_accounts(raw, cycle)
    payments = {p["id"]: p for p in raw["payments"]}
    ours = {
        p["gateway_payment_id"]
        for p in raw["payments"]
        if p["status"] in ("captured", "refunded", "reversed")
    }
    stored = {g["gateway_payment_id"] for g in raw["gateway_records"]}
    expected: defaultdict[date, list[int]] = defaultdict(lambda: [0] * 6)
    for g in raw["gateway_records"]:
        day = as_date(g["created_on"])
        if g["status"] in ("captured", "refunded") and first <= day <= last:
            expected[day][0] += 1
            expected[day][1] += int(g["amount_paise"])
            expected[day][4] += g["gateway_payment_id"] not in ours
    for e in raw["ledger_entries"]:
        p = payments.get(e["payment_id"])
        day = as_date(e["effective_on"])
        if (
            e["kind"] == "payment"
            and p
            and p["method"] == "razorpay"
            and first <= day <= last
            and e["account_id"] in in_cycle
        ):
            expected[day][2] += 1
            expected[day][3] -= int(e["amount_paise"])
            expected[day][5] += p["gateway_payment_id"] not in stored
    found = await reconciliation(await _scope(settings, period, cycle))
    got = {
        d.day: [d.gateway_payments, d.gateway_paise, d.ledger_payments, d.ledger_paise,
                d.unmatched_at_gateway, d.unmatched_in_ledger]
        for d in found.days
    }  # fmt: skip
    assert got == dict(expected)
    return sum(1 for d in found.days if d.status == "matched")


CHECKS = (
    check_billing_summary, check_collections, check_ageing, check_reading_completion,
    check_usage, check_reconciliation,
)  # fmt: skip


def test_every_report_figure_matches_the_raw_tables(demo: Settings) -> None:
    async def checks() -> dict[str, int]:
        seen: Counter[str] = Counter()
        async with open_database(demo.database_url):
            raw = await _raw()
            for period in MONTHS:
                for cycle in (None, "CYC-01", "CYC-03"):
                    for check in CHECKS:
                        seen[check.__name__] += await check(demo, raw, period, cycle)
        return dict(seen)

    seen = run(checks())
    # every check compared real rows, not empty reports
    assert all(n > 0 for n in seen.values()), seen


def test_report_command_formats_and_errors(
    demo: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    for key, value in (
        ("DATABASE_URL", demo.database_url),
        ("GRIDBILL_VAR_DIR", str(demo.var_dir)),
    ):
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        assert gridbill(["report", "ageing", "--period", "2026-04"]) == 0
        text = capsys.readouterr().out
        assert text.startswith("ageing for 2026-04, all cycles\n\nReceivables on 2026-04-30")

        async def largest_debt() -> int:
            async with open_database(demo.database_url):
                found = await ageing(await _scope(demo, "2026-04"))
                return found.top_defaulters[0].receivable_paise

        rupees, paise = divmod(run(largest_debt()), 100)
        assert rupees >= 1_00_000  # the industrial defaulter, in Indian grouping:
        assert f"{indian_group(rupees)}.{paise:02d}" in text  # 2,81,758.00, not 281,758.00

        assert gridbill(["report", "collections", "--period", "2026-04", "--format", "json"]) == 0
        body = json.loads(capsys.readouterr().out)
        total = next(t for t in body["tables"] if t["name"] == "total")

        async def collected() -> int:
            async with open_database(demo.database_url):
                return (await collections(await _scope(demo, "2026-04"))).total_paise

        assert total["rows"][0][1] == f"{run(collected()) / 100:.2f}"

        assert (
            gridbill(
                [
                    "report",
                    "billing-summary",
                    "--period",
                    "2026-04",
                    "--cycle",
                    "CYC-01",
                    "--format",
                    "csv",
                ]
            )
            == 0
        )
        csv_text = capsys.readouterr().out
        assert csv_text.splitlines()[0].startswith("table,bills,estimated bills,kWh")

        out = tmp_path / "usage.xlsx"
        assert (
            gridbill(
                ["report", "usage", "--period", "2026-04", "--format", "xlsx", "--output", str(out)]
            )
            == 0
        )
        book = load_workbook(out)
        assert book.sheetnames == ["by_category_month"]
        assert [c.value for c in book["by_category_month"][1]][:3] == ["category", "month", "bills"]

        for args, message in (
            (["report", "nope"], "no report 'nope' (reports: billing-summary, collections"),
            (
                ["report", "usage", "--period", "2026-13"],
                "period '2026-13' must be a month like 2026-03",
            ),
            (["report", "usage", "--period", "2999-01"], "period 2999-01 is in the future"),
            (["report", "usage", "--cycle", "CYC-99"], "no billing cycle 'CYC-99' (cycles: CYC-01"),
        ):
            assert gridbill(args) == 1
            err = capsys.readouterr().err
            assert err.startswith(f"gridbill: error: {message}") and err.count("\n") == 1, err
    finally:
        get_settings.cache_clear()


async def test_a_bad_scope_is_refused_with_a_code(db: Any, settings: Settings) -> None:
    with pytest.raises(Refused) as refused:
        await resolve_scope("2026-04", "NOPE", zone=settings.zone, today=TODAY)
    assert refused.value.code == "UNKNOWN_CYCLE" and refused.value.field == "cycle"
    with pytest.raises(ReportError) as refused:
        await resolve_scope("2026-06", None, zone=settings.zone, today=TODAY)
    assert refused.value.code == "BAD_PERIOD"
    scope = await resolve_scope("2026-03", None, zone=settings.zone, today=TODAY)
    start, end = scope.utc_bounds()
    assert start == datetime.combine(date(2026, 3, 1), time.min, settings.zone).astimezone(UTC)
    assert end - start == timedelta(days=31) and scope.as_of == date(2026, 3, 31)

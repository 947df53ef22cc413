"""Receivables ageing on a day, per category and route, with the top 20 defaulters.

The day is the month's last day (today, in the current month). Every account with a
positive ledger balance that day (``ledger_entries.effective_on`` ≤ the day) owes it;
its credits pay its debits oldest due first (``domain.ageing``), so the unpaid part is
its newest debits. A bill's debit falls due on the bill's ``due_date``; any other debit
(late fee, debit note, bounced cheque, opening balance) on its ``effective_on``. The SQL
keeps, per debit, the balance left after the newer debits (a window sum), which is the
same allocation done set-based, and ages each part with the bucket limits of
``domain.ageing.UP_TO``, summing per account, then per category and route, in SQL: only
the groups and the top defaulters leave the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from tortoise import connections

from domain.ageing import BUCKETS, UP_TO, Bucket
from domain.report_shapes import rupees
from services.reports.account_routes import ACCOUNT_ROUTES, NO_ROUTE
from services.reports.scope import Scope
from services.reports.table import Cell, Kind, Table, columns
from store.sql import Sql, as_date

TOP = 20


def _empty() -> dict[Bucket, int]:
    return dict.fromkeys(BUCKETS, 0)


@dataclass
class AgeingGroup:
    accounts: int = 0
    buckets: dict[Bucket, int] = field(default_factory=_empty)

    @property
    def receivable_paise(self) -> int:
        return sum(self.buckets.values())


@dataclass
class Defaulter:
    account_number: str
    customer_name: str
    category: str
    route: str
    oldest_due_on: date
    buckets: dict[Bucket, int] = field(default_factory=_empty)

    @property
    def receivable_paise(self) -> int:
        return sum(self.buckets.values())


@dataclass
class Ageing:
    scope: Scope
    as_of: date
    total: AgeingGroup = field(default_factory=AgeingGroup)
    by_category: dict[str, AgeingGroup] = field(default_factory=dict)
    by_route: dict[str, AgeingGroup] = field(default_factory=dict)
    top_defaulters: list[Defaulter] = field(default_factory=list)

    def tables(self) -> list[Table]:
        money = [(b.value, Kind.MONEY) for b in BUCKETS]
        head = columns(("accounts", Kind.COUNT), *money, ("receivable", Kind.MONEY))

        def cells(g: AgeingGroup) -> list[Cell]:
            return [
                g.accounts,
                *(rupees(g.buckets[b]) for b in BUCKETS),
                rupees(g.receivable_paise),
            ]

        def grouped(name: str, title: str, key: str, groups: dict[str, AgeingGroup]) -> Table:
            return Table(
                name, title, columns((key, Kind.TEXT), *((c.name, c.kind) for c in head)),
                [[k, *cells(g)] for k, g in sorted(groups.items())],
            )  # fmt: skip

        return [
            Table("total", f"Receivables on {self.as_of}", head, [cells(self.total)]),
            grouped("by_category", "By category", "category", self.by_category),
            grouped("by_route", "By route", "route", self.by_route),
            Table(
                "top_defaulters",
                f"Top {TOP} defaulters",
                columns(
                    ("account", Kind.TEXT),
                    ("customer", Kind.TEXT),
                    ("category", Kind.TEXT),
                    ("route", Kind.TEXT),
                    ("oldest due", Kind.DATE),
                    *money,
                    ("receivable", Kind.MONEY),
                ),
                [
                    [
                        d.account_number,
                        d.customer_name,
                        d.category,
                        d.route,
                        d.oldest_due_on,
                        *(rupees(d.buckets[b]) for b in BUCKETS),
                        rupees(d.receivable_paise),
                    ]
                    for d in self.top_defaulters
                ],
            ),
        ]


def _bucket_sums(days: str, part: str) -> str:
    """``SUM(…) AS b0, … b4``: each bucket's paise, by ``domain.ageing.UP_TO``."""
    sums = []
    lower = None
    for i, (limit, _) in enumerate((*UP_TO, (None, Bucket.OVER_90))):
        test = " AND ".join(
            t for t in (f"{days} > {lower}" if lower is not None else "",
                        f"{days} <= {limit}" if limit is not None else "") if t
        )  # fmt: skip
        sums.append(f"SUM(CASE WHEN {test} THEN {part} ELSE 0 END) AS b{i}")
        lower = limit
    return ",\n               ".join(sums)


async def ageing(scope: Scope) -> Ageing:
    sql = Sql(connections.get("default"))
    as_of = scope.as_of
    cycle, cycle_values = scope.cycle_filter()
    cycle_join = "\n            JOIN accounts a ON a.id = l.account_id" if cycle else ""
    day = sql.day(as_of)
    days = sql.days_between("CAST(? AS DATE)" if sql.postgres else "?", "due_on")
    buckets = ", ".join(f"b{i}" for i in range(len(BUCKETS)))
    sums = ", ".join(f"SUM(b{i}) AS b{i}" for i in range(len(BUCKETS)))
    rows = await sql.rows(
        f"""WITH balances AS (
            SELECT l.account_id, SUM(l.amount_paise) AS balance
            FROM ledger_entries l{cycle_join}
            WHERE l.effective_on <= ?{cycle}
            GROUP BY l.account_id
            HAVING SUM(l.amount_paise) > 0
        ), debits AS (
            SELECT l.account_id, l.id, l.amount_paise, bal.balance,
                   CASE WHEN l.kind = 'bill' AND b.due_date IS NOT NULL
                        THEN b.due_date ELSE l.effective_on END AS due_on
            FROM ledger_entries l
            JOIN balances bal ON bal.account_id = l.account_id
            LEFT JOIN bills b ON b.id = l.bill_id
            WHERE l.effective_on <= ? AND l.amount_paise > 0
        ), newer AS (
            SELECT d.*, COALESCE(SUM(d.amount_paise) OVER (
                       PARTITION BY d.account_id ORDER BY d.due_on DESC, d.id DESC
                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS newer_paise
            FROM debits d
        ), unpaid AS (
            SELECT account_id, due_on,
                   CASE WHEN balance - newer_paise >= amount_paise THEN amount_paise
                        ELSE balance - newer_paise END AS part,
                   {days} AS days_past_due
            FROM newer
            WHERE balance > newer_paise
        ), per_account AS (
            SELECT u.account_id, MIN(u.due_on) AS oldest_due_on, SUM(u.part) AS receivable,
               {_bucket_sums("u.days_past_due", "u.part")}
            FROM unpaid u
            GROUP BY u.account_id
        ), {ACCOUNT_ROUTES}, owing AS (
            SELECT p.*, a.number, a.category, COALESCE(ar.route, ?) AS route
            FROM per_account p
            JOIN accounts a ON a.id = p.account_id
            LEFT JOIN account_routes ar ON ar.account_id = p.account_id
        )
        SELECT 'group' AS kind, category, route, COUNT(*) AS accounts, {sums},
               '' AS number, 0 AS account_id, MIN(oldest_due_on) AS oldest_due_on
        FROM owing GROUP BY category, route
        UNION ALL
        SELECT * FROM (
            SELECT 'top' AS kind, category, route, 1 AS accounts, {buckets},
                   number, account_id, oldest_due_on
            FROM owing ORDER BY receivable DESC, number LIMIT {TOP}
        ) AS top""",  # noqa: S608 - our own fragments
        [day, *cycle_values, day, day, NO_ROUTE],
    )
    report = Ageing(scope, as_of)
    by_category: defaultdict[str, AgeingGroup] = defaultdict(AgeingGroup)
    by_route: defaultdict[str, AgeingGroup] = defaultdict(AgeingGroup)
    top: list[tuple[int, Defaulter]] = []
    for row in rows:
        amounts = {b: int(row[f"b{i}"]) for i, b in enumerate(BUCKETS)}
        if row["kind"] == "top":
            top.append((
                int(row["account_id"]),
                Defaulter(
                    str(row["number"]), "", str(row["category"]), str(row["route"]),
                    as_date(row["oldest_due_on"]), amounts,
                ),
            ))  # fmt: skip
            continue
        for group in (report.total, by_category[str(row["category"])], by_route[str(row["route"])]):
            group.accounts += int(row["accounts"])
            for b, amount in amounts.items():
                group.buckets[b] += amount
    report.by_category = dict(by_category)
    report.by_route = dict(by_route)
    top.sort(key=lambda item: (-item[1].receivable_paise, item[1].account_number))
    names = await _holders([account_id for account_id, _ in top], as_of, sql)
    for account_id, defaulter in top:
        defaulter.customer_name = names.get(account_id, "")
    report.top_defaulters = [d for _, d in top]
    return report


async def _holders(account_ids: list[int], as_of: date, sql: Sql) -> dict[int, str]:
    """The name of each account's holder on ``as_of`` (the latest move-in up to that day)."""
    if not account_ids:
        return {}
    marks, values = Sql.inlist(account_ids)
    rows = await sql.rows(
        f"""SELECT h.account_id, c.name, h.move_in_on
        FROM account_holders h JOIN customers c ON c.id = h.customer_id
        WHERE h.account_id IN ({marks}) AND h.move_in_on <= ?
        ORDER BY h.account_id, h.move_in_on""",  # noqa: S608 - placeholders only
        [*values, sql.day(as_of)],
    )
    return {int(r["account_id"]): str(r["name"]) for r in rows}

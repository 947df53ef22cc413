"""Receivables ageing on a day, per category and route, with the top 20 defaulters.

The day is the month's last day (today, in the current month). Every account with a
positive ledger balance that day (``ledger_entries.effective_on`` ≤ the day) owes it;
its credits pay its debits oldest due first (``domain.ageing``), so the unpaid part is
its newest debits. A bill's debit falls due on the bill's ``due_date``; any other debit
(late fee, debit note, bounced cheque, opening balance) on its ``effective_on``. The SQL
keeps, per debit, the balance left after the newer debits (a window sum), which is the
same allocation done set-based; :func:`domain.ageing.bucket` then ages each part.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from tortoise import connections

from domain.ageing import BUCKETS, Bucket, bucket
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


async def ageing(scope: Scope) -> Ageing:
    sql = Sql(connections.get("default"))
    as_of = scope.as_of
    cycle, cycle_values = scope.cycle_filter()
    day = sql.day(as_of)
    rows = await sql.rows(
        f"""WITH balances AS (
            SELECT l.account_id, SUM(l.amount_paise) AS balance
            FROM ledger_entries l
            JOIN accounts a ON a.id = l.account_id
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
        ), {ACCOUNT_ROUTES}
        SELECT n.account_id, n.due_on, a.number AS account_number, a.category,
               COALESCE(ar.route, ?) AS route,
               CASE WHEN n.balance - n.newer_paise >= n.amount_paise THEN n.amount_paise
                    ELSE n.balance - n.newer_paise END AS unpaid_paise
        FROM newer n
        JOIN accounts a ON a.id = n.account_id
        LEFT JOIN account_routes ar ON ar.account_id = n.account_id
        WHERE n.balance > n.newer_paise""",  # noqa: S608 - our own fragments
        [day, *cycle_values, day, NO_ROUTE],
    )
    report = Ageing(scope, as_of)
    by_category: defaultdict[str, AgeingGroup] = defaultdict(AgeingGroup)
    by_route: defaultdict[str, AgeingGroup] = defaultdict(AgeingGroup)
    accounts: dict[int, Defaulter] = {}
    for row in rows:
        due_on = as_date(row["due_on"])
        part = int(row["unpaid_paise"])
        aged = bucket((as_of - due_on).days)
        account = accounts.get(row["account_id"])
        if account is None:
            account = accounts[row["account_id"]] = Defaulter(
                str(row["account_number"]), "", str(row["category"]), str(row["route"]), due_on
            )
            for group in (report.total, by_category[account.category], by_route[account.route]):
                group.accounts += 1
        account.oldest_due_on = min(account.oldest_due_on, due_on)
        account.buckets[aged] += part
        for group in (report.total, by_category[account.category], by_route[account.route]):
            group.buckets[aged] += part
    report.by_category = dict(by_category)
    report.by_route = dict(by_route)
    top = sorted(
        accounts.items(), key=lambda item: (-item[1].receivable_paise, item[1].account_number)
    )[:TOP]
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

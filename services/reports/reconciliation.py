"""Reconciliation: the gateway's records against the ledger, day by day, offline.

For each day of the month (a date in the utility's time zone) with either:

* **gateway**: payments the gateway reported as ``captured`` or ``refunded``, as stored by
  ``gridbill reconcile`` (``gateway_records``, by ``created_on``), count and amount;
* **ledger**: ledger entries of kind ``payment`` for Razorpay payments, by
  ``effective_on`` (the capture day), count and amount (as a positive sum);
* **unmatched**: gateway records with no captured payment of ours carrying their payment
  id, and ledger payments whose payment id the stored records do not hold.

A day's status is ``matched`` (same count and amount, nothing unmatched), ``differs``,
or ``not reconciled`` (no gateway record stored for that day: run ``gridbill
reconcile --date``). Nothing here calls the gateway.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tortoise import connections

from domain.report_shapes import rupees
from services.reports.scope import Scope
from services.reports.table import Kind, Table, columns
from store.sql import Sql, as_date

MATCHED, DIFFERS, NOT_RECONCILED = "matched", "differs", "not reconciled"


@dataclass
class ReconciliationDay:
    day: date
    gateway_payments: int = 0
    gateway_paise: int = 0
    ledger_payments: int = 0
    ledger_paise: int = 0
    unmatched_at_gateway: int = 0
    unmatched_in_ledger: int = 0

    @property
    def difference_paise(self) -> int:
        return self.gateway_paise - self.ledger_paise

    @property
    def status(self) -> str:
        if self.gateway_payments == 0 and self.ledger_payments > 0:
            return NOT_RECONCILED
        same = (self.gateway_payments, self.gateway_paise) == (
            self.ledger_payments, self.ledger_paise,
        )  # fmt: skip
        clean = self.unmatched_at_gateway == 0 and self.unmatched_in_ledger == 0
        return MATCHED if same and clean else DIFFERS


@dataclass
class Reconciliation:
    scope: Scope
    days: list[ReconciliationDay] = field(default_factory=list)

    def tables(self) -> list[Table]:
        return [
            Table(
                "by_day",
                "Gateway against ledger, by day",
                columns(
                    ("day", Kind.DATE),
                    ("gateway payments", Kind.COUNT),
                    ("gateway amount", Kind.MONEY),
                    ("ledger payments", Kind.COUNT),
                    ("ledger amount", Kind.MONEY),
                    ("difference", Kind.MONEY),
                    ("unmatched at gateway", Kind.COUNT),
                    ("unmatched in ledger", Kind.COUNT),
                    ("status", Kind.TEXT),
                ),
                [
                    [
                        d.day,
                        d.gateway_payments,
                        rupees(d.gateway_paise),
                        d.ledger_payments,
                        rupees(d.ledger_paise),
                        rupees(d.difference_paise),
                        d.unmatched_at_gateway,
                        d.unmatched_in_ledger,
                        d.status,
                    ]
                    for d in self.days
                ],
            ),
        ]


async def reconciliation(scope: Scope) -> Reconciliation:
    sql = Sql(connections.get("default"))
    cycle, cycle_values = scope.cycle_filter()
    bounds = [sql.day(scope.first), sql.day(scope.last)]
    gateway = await sql.rows(
        """SELECT g.created_on AS day, COUNT(*) AS n, SUM(g.amount_paise) AS paise,
               SUM(CASE WHEN p.id IS NULL THEN 1 ELSE 0 END) AS unmatched
        FROM gateway_records g
        LEFT JOIN payments p ON p.gateway_payment_id = g.gateway_payment_id
                            AND p.status IN ('captured', 'refunded', 'reversed')
        WHERE g.status IN ('captured', 'refunded') AND g.created_on >= ? AND g.created_on <= ?
        GROUP BY g.created_on""",
        bounds,
    )
    ledger = await sql.rows(
        f"""SELECT l.effective_on AS day, COUNT(*) AS n, -SUM(l.amount_paise) AS paise,
               SUM(CASE WHEN g.id IS NULL THEN 1 ELSE 0 END) AS unmatched
        FROM ledger_entries l
        JOIN payments p ON p.id = l.payment_id
        JOIN accounts a ON a.id = l.account_id
        LEFT JOIN gateway_records g ON g.gateway_payment_id = p.gateway_payment_id
        WHERE l.kind = 'payment' AND p.method = 'razorpay'
          AND l.effective_on >= ? AND l.effective_on <= ?{cycle}
        GROUP BY l.effective_on""",  # noqa: S608 - our own fragments
        [*bounds, *cycle_values],
    )
    days: dict[date, ReconciliationDay] = {}
    for row in gateway:
        entry = days.setdefault(as_date(row["day"]), ReconciliationDay(as_date(row["day"])))
        entry.gateway_payments = int(row["n"])
        entry.gateway_paise = int(row["paise"])
        entry.unmatched_at_gateway = int(row["unmatched"])
    for row in ledger:
        entry = days.setdefault(as_date(row["day"]), ReconciliationDay(as_date(row["day"])))
        entry.ledger_payments = int(row["n"])
        entry.ledger_paise = int(row["paise"])
        entry.unmatched_in_ledger = int(row["unmatched"])
    return Reconciliation(scope, [days[d] for d in sorted(days)])

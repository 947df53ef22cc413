"""Collections: money received per day, method and channel.

Counts payments whose status is ``captured`` or ``refunded`` (the money came in; a
refund goes out later and is not netted here), on their value date ``received_on`` in
the month (a date in the utility's time zone). Reversed payments (a bounced cheque)
and payments never captured are left out. The channel is how it came: for Razorpay the
gateway's method (``upi``, ``card``, ``netbanking``, ``wallet``…), ``counter`` for cash
and cheques, ``bank`` for bank transfers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from tortoise import connections

from domain.report_shapes import rupees
from services.reports.scope import Scope
from services.reports.table import Kind, Table, columns
from store.sql import Sql, as_date

COLLECTED = ("captured", "refunded")


@dataclass(frozen=True)
class CollectionRow:
    day: date
    method: str
    channel: str
    payments: int
    amount_paise: int


@dataclass
class Collections:
    scope: Scope
    rows: list[CollectionRow] = field(default_factory=list)

    @property
    def total_paise(self) -> int:
        return sum(r.amount_paise for r in self.rows)

    @property
    def payments(self) -> int:
        return sum(r.payments for r in self.rows)

    def by(self, key: str) -> dict[str, tuple[int, int]]:
        """(payments, paise) per ``method`` or ``channel``."""
        totals: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0])
        for row in self.rows:
            entry = totals[getattr(row, key)]
            entry[0] += row.payments
            entry[1] += row.amount_paise
        return {k: (v[0], v[1]) for k, v in sorted(totals.items())}

    def per_day(self) -> dict[date, tuple[int, int]]:
        totals: defaultdict[date, list[int]] = defaultdict(lambda: [0, 0])
        for row in self.rows:
            totals[row.day][0] += row.payments
            totals[row.day][1] += row.amount_paise
        return {k: (v[0], v[1]) for k, v in sorted(totals.items())}

    def tables(self) -> list[Table]:
        count_amount = (("payments", Kind.COUNT), ("amount", Kind.MONEY))
        return [
            Table(
                "total",
                "All collections",
                columns(*count_amount),
                [[self.payments, rupees(self.total_paise)]],
            ),
            Table(
                "by_day",
                "By day",
                columns(("day", Kind.DATE), *count_amount),
                [[d, n, rupees(p)] for d, (n, p) in self.per_day().items()],
            ),
            Table(
                "by_method",
                "By method",
                columns(("method", Kind.TEXT), *count_amount),
                [[m, n, rupees(p)] for m, (n, p) in self.by("method").items()],
            ),
            Table(
                "by_channel",
                "By channel",
                columns(("channel", Kind.TEXT), *count_amount),
                [[c, n, rupees(p)] for c, (n, p) in self.by("channel").items()],
            ),
            Table(
                "by_day_method_channel",
                "By day, method and channel",
                columns(
                    ("day", Kind.DATE), ("method", Kind.TEXT), ("channel", Kind.TEXT), *count_amount
                ),
                [
                    [r.day, r.method, r.channel, r.payments, rupees(r.amount_paise)]
                    for r in self.rows
                ],
            ),
        ]


async def collections(scope: Scope) -> Collections:
    sql = Sql(connections.get("default"))
    cycle, cycle_values = scope.cycle_filter()
    rows = await sql.rows(
        f"""SELECT p.received_on AS day, p.method AS method,
               CASE WHEN p.method = 'razorpay'
                    THEN COALESCE(NULLIF(p.gateway_method, ''), 'online')
                    WHEN p.method = 'bank_transfer' THEN 'bank'
                    ELSE 'counter' END AS channel,
               COUNT(*) AS payments, SUM(p.amount_paise) AS amount_paise
        FROM payments p
        JOIN accounts a ON a.id = p.account_id
        WHERE p.status IN ('captured', 'refunded')
          AND p.received_on >= ? AND p.received_on <= ?{cycle}
        GROUP BY p.received_on, p.method, channel
        ORDER BY p.received_on, p.method, channel""",  # noqa: S608 - our own fragments
        [sql.day(scope.first), sql.day(scope.last), *cycle_values],
    )
    return Collections(
        scope,
        [
            CollectionRow(
                as_date(r["day"]),
                str(r["method"]),
                str(r["channel"]),
                int(r["payments"]),
                int(r["amount_paise"]),
            )
            for r in rows
        ],
    )

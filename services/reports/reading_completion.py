"""Meter-reading completion: per route and reader, meters read, skipped by code, pending.

The meters expected are those on an active stop (``route_stops.removed_at IS NULL``)
of a route (of the cycle, when given), counted under the route's assigned reader. In the
month (local midnights, in UTC) a meter is **read** when any of its registers has a read
with ``read_at`` in the month that was not estimated (``source <> 'estimated'``);
otherwise **skipped** when a field visit (``field_visits.visited_at`` in the month)
reported why, under the latest visit's skip code; otherwise **pending**. VEE exceptions
are those raised (``created_at``) in the month, by rule and status, on the cycle's route
meters when a cycle is given, else on every meter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from tortoise import connections

from services.reports.scope import Scope
from services.reports.table import Kind, Table, columns
from store.sql import Sql

NO_READER = "(unassigned)"


@dataclass
class RouteCompletion:
    route: str
    reader: str
    expected: int = 0
    read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    pending: int = 0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


@dataclass(frozen=True)
class ExceptionCount:
    rule: str
    status: str
    count: int


@dataclass
class ReadingCompletion:
    scope: Scope
    routes: list[RouteCompletion] = field(default_factory=list)
    exceptions: list[ExceptionCount] = field(default_factory=list)

    def tables(self) -> list[Table]:
        codes = sorted({code for r in self.routes for code in r.skipped})
        return [
            Table(
                "by_route",
                "By route and reader",
                columns(
                    ("route", Kind.TEXT),
                    ("reader", Kind.TEXT),
                    ("meters", Kind.COUNT),
                    ("read", Kind.COUNT),
                    ("skipped", Kind.COUNT),
                    *((f"skipped: {c}", Kind.COUNT) for c in codes),
                    ("pending", Kind.COUNT),
                ),
                [
                    [
                        r.route,
                        r.reader,
                        r.expected,
                        r.read,
                        r.skipped_total,
                        *(r.skipped.get(c, 0) for c in codes),
                        r.pending,
                    ]
                    for r in self.routes
                ],
            ),
            Table(
                "vee_exceptions",
                "VEE exceptions by rule",
                columns(("rule", Kind.TEXT), ("status", Kind.TEXT), ("exceptions", Kind.COUNT)),
                [[e.rule, e.status, e.count] for e in self.exceptions],
            ),
        ]


async def reading_completion(scope: Scope) -> ReadingCompletion:
    sql = Sql(connections.get("default"))
    start, end = scope.utc_bounds()
    route_filter = "" if scope.cycle_id is None else " AND r.cycle_id = ?"
    route_values = [] if scope.cycle_id is None else [scope.cycle_id]
    stops = f"""stops AS (
            SELECT rs.meter_id, r.code AS route, COALESCE(u.full_name, ?) AS reader
            FROM route_stops rs
            JOIN routes r ON r.id = rs.route_id
            LEFT JOIN users u ON u.id = r.reader_id
            WHERE rs.removed_at IS NULL{route_filter}
        )"""  # noqa: S608 - our own fragments
    rows = await sql.rows(
        f"""WITH {stops}, read_meters AS (
            SELECT DISTINCT g.meter_id
            FROM register_reads rr JOIN registers g ON g.id = rr.register_id
            WHERE rr.read_at >= ? AND rr.read_at < ? AND rr.source <> 'estimated'
        ), visits AS (
            SELECT v.meter_id, v.skip_code,
                   ROW_NUMBER() OVER (PARTITION BY v.meter_id
                                      ORDER BY v.visited_at DESC, v.id DESC) AS n
            FROM field_visits v
            WHERE v.visited_at >= ? AND v.visited_at < ?
        )
        SELECT s.route, s.reader,
               CASE WHEN rm.meter_id IS NOT NULL THEN 'read'
                    WHEN v.meter_id IS NOT NULL THEN 'skipped' ELSE 'pending' END AS state,
               CASE WHEN rm.meter_id IS NULL AND v.meter_id IS NOT NULL
                    THEN v.skip_code ELSE '' END AS code,
               COUNT(*) AS meters
        FROM stops s
        LEFT JOIN read_meters rm ON rm.meter_id = s.meter_id
        LEFT JOIN visits v ON v.meter_id = s.meter_id AND v.n = 1
        GROUP BY s.route, s.reader, state, code
        ORDER BY s.route, s.reader""",  # noqa: S608 - our own fragments
        [NO_READER, *route_values, sql.ts(start), sql.ts(end), sql.ts(start), sql.ts(end)],
    )
    routes: dict[tuple[str, str], RouteCompletion] = {}
    for row in rows:
        key = (str(row["route"]), str(row["reader"]))
        entry = routes.setdefault(key, RouteCompletion(*key))
        count = int(row["meters"])
        entry.expected += count
        if row["state"] == "read":
            entry.read += count
        elif row["state"] == "skipped":
            entry.skipped[str(row["code"])] = entry.skipped.get(str(row["code"]), 0) + count
        else:
            entry.pending += count
    if scope.cycle_id is None:
        prefix, meter_filter, prefix_values = "", "", []
    else:
        prefix = f"WITH {stops}"
        meter_filter = " AND x.meter_id IN (SELECT meter_id FROM stops)"
        prefix_values = [NO_READER, *route_values]
    exceptions = await sql.rows(
        f"""{prefix}
        SELECT x.rule, x.status, COUNT(*) AS exceptions
        FROM validation_exceptions x
        WHERE x.created_at >= ? AND x.created_at < ?{meter_filter}
        GROUP BY x.rule, x.status
        ORDER BY x.rule, x.status""",  # noqa: S608 - our own fragments
        [*prefix_values, sql.ts(start), sql.ts(end)],
    )
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    for row in exceptions:
        counts[(str(row["rule"]), str(row["status"]))] += int(row["exceptions"])
    return ReadingCompletion(
        scope,
        sorted(routes.values(), key=lambda r: (r.route, r.reader)),
        [ExceptionCount(rule, status, n) for (rule, status), n in sorted(counts.items())],
    )

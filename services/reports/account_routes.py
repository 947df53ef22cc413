"""Which route an account is read on, as a SQL fragment the reports join.

An account's route is the route of an active stop (``route_stops.removed_at IS NULL``)
of a meter installed (``removed_at IS NULL``) at the account's service point; an
account with meters on two routes counts under the first route code. Accounts on no
route report under :data:`NO_ROUTE`.
"""

from __future__ import annotations

NO_ROUTE = "(no route)"

ACCOUNT_ROUTES = """account_routes AS (
    SELECT a.id AS account_id, MIN(r.code) AS route
    FROM accounts a
    JOIN meter_installations mi
      ON mi.service_point_id = a.service_point_id AND mi.removed_at IS NULL
    JOIN route_stops rs ON rs.meter_id = mi.meter_id AND rs.removed_at IS NULL
    JOIN routes r ON r.id = rs.route_id
    GROUP BY a.id
)"""

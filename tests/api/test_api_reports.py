"""The staff ``report`` query: the service's tables as exact text, and typed refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from api_helpers import Api, error_codes

from domain.enums import LedgerKind, Role
from services.reports.catalog import run_report
from services.reports.scope import resolve_scope
from store.models import LedgerEntry
from tests import factories as f

QUERY = """query($name: ReportName!, $period: String, $cycle: String) {
  report(name: $name, period: $period, cycle: $cycle) {
    name period cycle asOf tables { name title columns { name kind } rows } } }"""


def test_the_report_query_returns_the_services_tables_as_exact_text(api: Api) -> None:
    staff = api.token(api.run(f.user, Role.STAFF))
    home = api.run(f.household)
    api.run(
        LedgerEntry.create, account=home.account, kind=LedgerKind.OPENING_BALANCE,
        amount_paise=1_234_567, effective_on=date(2024, 1, 5), source_key="opening:1",
    )  # fmt: skip
    body = api.data(QUERY, {"name": "AGEING", "period": "2024-06"}, token=staff)["report"]
    assert (body["name"], body["period"], body["cycle"], body["asOf"]) == (
        "AGEING", "2024-06", None, "2024-06-30",
    )  # fmt: skip

    async def expected() -> list[list[str]]:
        scope = await resolve_scope("2024-06", None, zone=api.settings.zone)
        tables = (await run_report("ageing", scope)).tables()
        return [
            [format(v, "f") if isinstance(v, Decimal) else str(v) for v in t.rows[0]]
            for t in tables[:1]
        ]

    total = body["tables"][0]
    assert total["columns"][-1] == {"name": "receivable", "kind": "MONEY"}
    assert total["rows"] == api.run(expected)
    assert total["rows"][0][-1] == "12345.67" and total["rows"][0][-2] == "12345.67"  # over 90 days


def test_a_bad_period_or_cycle_is_a_typed_error(api: Api) -> None:
    staff = api.token(api.run(f.user, Role.STAFF))
    bad = api.gql(QUERY, {"name": "USAGE", "period": "2024-13"}, token=staff)
    assert error_codes(bad) == ["BAD_PERIOD"]
    assert bad["errors"][0]["extensions"]["field"] == "period"
    unknown = api.gql(QUERY, {"name": "USAGE", "cycle": "NOPE"}, token=staff)
    assert error_codes(unknown) == ["UNKNOWN_CYCLE"]
    assert "no billing cycle 'NOPE'" in unknown["errors"][0]["message"]

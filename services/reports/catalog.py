"""The reports by name: what ``gridbill report NAME`` and the GraphQL ``report`` query run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from tortoise.transactions import in_transaction

from services.reports.ageing import ageing
from services.reports.billing_summary import billing_summary
from services.reports.collections import collections
from services.reports.reading_completion import reading_completion
from services.reports.reconciliation import reconciliation
from services.reports.scope import ReportError, Scope
from services.reports.table import Table
from services.reports.usage import usage


class Report(Protocol):
    scope: Scope

    def tables(self) -> list[Table]: ...


REPORTS: dict[str, Callable[[Scope], Awaitable[Report]]] = {
    "billing-summary": billing_summary,
    "collections": collections,
    "ageing": ageing,
    "reading-completion": reading_completion,
    "usage": usage,
    "reconciliation": reconciliation,
}
NAMES = tuple(REPORTS)
WORK_MEM = "64MB"
"""PostgreSQL memory per sort or hash while a report runs (the server's default is 4MB)."""


async def run_report(name: str, scope: Scope) -> Report:
    """Run the report called ``name``; :class:`ReportError` names the reports for a bad one.

    A report runs in one read transaction, so its tables agree with each other.
    """
    report = REPORTS.get(name)
    if report is None:
        raise ReportError(
            "UNKNOWN_REPORT", f"no report {name!r} (reports: {', '.join(NAMES)})", field="name"
        )
    async with in_transaction() as connection:
        if connection.capabilities.dialect == "postgres":
            # Sorts and hashes of a whole ledger: in memory rather than spilled to disk.
            # No JIT: the planner's estimates of these joins are high enough to compile
            # each query, which cost the ageing report 1.7 s of its 3 (EXPLAIN ANALYZE).
            await connection.execute_script(
                f"SET LOCAL work_mem = '{WORK_MEM}'; SET LOCAL jit = off"
            )
        return await report(scope)

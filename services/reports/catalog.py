"""The reports by name: what ``gridbill report NAME`` and the GraphQL ``report`` query run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

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


async def run_report(name: str, scope: Scope) -> Report:
    """Run the report called ``name``; :class:`ReportError` names the reports for a bad one."""
    report = REPORTS.get(name)
    if report is None:
        raise ReportError(
            "UNKNOWN_REPORT", f"no report {name!r} (reports: {', '.join(NAMES)})", field="name"
        )
    return await report(scope)

"""Which month a bill counts in: its bill run's billing month, as SQL the reports share.

A bill run for ``--period 2026-04`` bills each account for the read-to-read period
closing near the cycle's April read day, whose dates often start in March; the office
speaks of those as April's bills. So a bill counts in its run's month
(``bill_runs.period_start``), and a bill made outside any run (a move-out's final bill,
a rebill) in the month of its ``issue_date``. Only issued bills count.
"""

from __future__ import annotations

BILLED_ON = "COALESCE(br.period_start, b.issue_date)"
"""A date in the bill's month (the run's first day, or the issue date)."""

BILL_RUN_JOIN = "LEFT JOIN bill_runs br ON br.id = b.bill_run_id"

ISSUED_IN = f"b.status = 'issued' AND {BILLED_ON} >= ? AND {BILLED_ON} <= ?"
"""Issued bills of the months from the first ``?`` to the last day ``?`` (both inclusive)."""

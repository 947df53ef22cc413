"""Reports the utility is run on: one module per report, set-based SQL on both databases.

Each report function takes a :class:`~services.reports.scope.Scope` (month, optional
billing cycle) and returns a plain dataclass of rows and totals (integer paise, Wh),
which the GraphQL query, ``gridbill report`` and (later) the console page show through
its :meth:`tables`. ``services.reports.catalog`` names them. Figures are defined in
docs/reports.md.
"""

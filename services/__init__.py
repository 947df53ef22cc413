"""Use cases over the database: load what a rule needs, call ``domain/``, persist the result.

One module per area (``services/billing/tariffs.py``, ``services/billing/runs.py``…), plain async
functions with keyword-only arguments. Each public function is one unit of work in one
transaction; the API resolvers, the CLI and background jobs all call these, so the same
operation behaves the same whoever starts it.
"""

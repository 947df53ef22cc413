"""The field sync endpoint: pull of route changes, push of offline reads (issue 8).

Conflict rules are pure functions in ``sync/conflicts.py``-style modules over plain
values; the endpoint authenticates the device, applies each item in its own
transaction and records every batch and item for support.
"""

"""A per-process cache of whole GraphQL answers for customers' bill and payment queries.

Why: a page of 12 bills with their lines is ~400 resolved fields, and field resolution,
not SQL, is most of the cost. What a customer's bills and payments look like changes only
when one of *their* bill or payment events happens, so the answer to the same query with
the same variables can be replayed until then.

Correctness rests on three things:

* **What is cached.** Only queries whose root fields are all in :data:`CACHEABLE_FIELDS`
  (``myBills``, ``bill``, ``myPayments``) asked by a *customer* (their visibility depends on
  their customer id and role only), answered without errors.
* **Invalidation.** Every event on the event bus (``services.events``) that names a
  customer bumps that customer's generation, and any event without one bumps everyone's.
  Bill and payment code publishes after commit, on PostgreSQL through LISTEN/NOTIFY, so
  every server process forgets. An entry stores the generation read *before* it was
  computed, so an answer computed while a change committed is never served as current.
* **Lifetime.** Entries also expire after ``GRIDBILL_API_CACHE_TTL`` seconds (at most half
  the download-link lifetime, so a cached PDF link is always still valid); 0 disables
  the cache.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import FieldNode, GraphQLError, OperationDefinitionNode, OperationType, parse

from api.limits import MAX_TOKENS
from domain.enums import Role
from services.events import Event
from services.viewer import Viewer

CACHEABLE_FIELDS = frozenset({"myBills", "bill", "myPayments", "__typename"})
MAX_ENTRIES = 5_000  # a page of 12 bills is ~10 kB: at most ~50 MB a process


@lru_cache(maxsize=1024)
def cacheable_document(query: str, operation_name: str | None) -> bool:
    """True when the operation is a query whose root fields are all cacheable."""
    try:
        document = parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation != OperationType.QUERY:
        return False
    if operations[0].directives:
        return False
    selections = operations[0].selection_set.selections
    return all(
        isinstance(s, FieldNode) and s.name.value in CACHEABLE_FIELDS and not s.directives
        for s in selections
    )


@dataclass(frozen=True, slots=True)
class Entry:
    generation: tuple[int, int]
    expires_at: float
    data: Any


class ResponseCache:
    def __init__(self, ttl_s: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple[Any, ...], Entry] = OrderedDict()
        self.generations: defaultdict[int, int] = defaultdict(int)
        self.everyone = 0
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    def on_event(self, event: Event) -> None:
        """Forget every answer the event could have changed."""
        if event.name.startswith("auth."):
            return  # who may ask changed, not what the answers say
        if event.customer_id is None:
            self.everyone += 1
        else:
            self.generations[event.customer_id] += 1

    def generation(self, customer_id: int) -> tuple[int, int]:
        return (self.everyone, self.generations[customer_id])

    def key(
        self, viewer: Viewer, query: str | None, operation_name: str | None, variables: Any
    ) -> tuple[Any, ...] | None:
        """The cache key of a request, or None when it must not be cached."""
        if not self.enabled or not query or viewer.customer_id is None:
            return None
        if viewer.role is not Role.CUSTOMER or viewer.partner_id is not None:
            return None
        if not cacheable_document(query, operation_name):
            return None
        try:
            encoded = json.dumps(variables or {}, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError):
            return None
        return (viewer.customer_id, query, operation_name, encoded)

    def get(self, key: tuple[Any, ...]) -> Any | None:
        entry = self.entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry.expires_at < time.monotonic() or entry.generation != self.generation(key[0]):
            del self.entries[key]
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry.data

    def put(self, key: tuple[Any, ...], generation: tuple[int, int], data: Any) -> None:
        if generation != self.generation(key[0]):
            return  # something changed while it was computed
        self.entries[key] = Entry(generation, time.monotonic() + self.ttl_s, data)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)

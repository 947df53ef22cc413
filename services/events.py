"""Events that reach subscribers in every server process: bill issued, payment captured…

Code that changes something a customer watches calls, after its transaction commits::

    await publish("bill.issued", customer_id=bill.customer_id, bill_id=bill.id)

Which transport carries it depends on the database:

* **PostgreSQL**: ``NOTIFY gridbill_events`` with a small JSON payload. Every server
  process keeps one connection that ``LISTEN``s and fans events out to its own
  subscribers, so an event published by a worker, the CLI or another server process
  reaches a customer connected anywhere. A ``publish`` inside a transaction is delivered
  when (and only if) that transaction commits.
* **SQLite** (embedded, one process): events go straight to this process's subscribers;
  one published inside a transaction is delivered when the transaction ends.

Subscribers are GraphQL subscriptions (``api/resolvers/subscriptions.py``) and the API's
response cache, which forgets a customer's cached answers when one of their events
arrives. The payload carries ids only; subscribers load what they show.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import get_connection

from gridbill.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "gridbill_events"
MAX_PAYLOAD = 7900  # PostgreSQL refuses NOTIFY payloads of 8000 bytes and more
QUEUE_SIZE = 256
RECONNECT_S = 2.0


@dataclass(frozen=True, slots=True)
class Event:
    name: str  # "bill.issued", "payment.captured"…
    customer_id: int | None
    data: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def encode(self) -> str:
        payload = json.dumps(
            {"n": self.name, "c": self.customer_id, "d": self.data, "t": self.at.isoformat()},
            separators=(",", ":"),
            default=str,
        )
        if len(payload.encode()) > MAX_PAYLOAD:
            raise ValueError(f"event {self.name} is too large: send ids, not documents")
        return payload

    @classmethod
    def decode(cls, payload: str) -> Event:
        raw = json.loads(payload)
        customer = raw.get("c")
        at = datetime.fromisoformat(raw["t"]) if raw.get("t") else datetime.now(UTC)
        return cls(
            str(raw["n"]), int(customer) if customer is not None else None, raw.get("d") or {}, at
        )


Listener = Callable[[Event], None]


class Hub:
    """This process's subscribers; ``dispatch`` never blocks the publisher."""

    def __init__(self) -> None:
        self.queues: set[tuple[asyncio.Queue[Event], Callable[[Event], bool]]] = set()
        self.listeners: list[Listener] = []

    def inform_listeners(self, event: Event) -> None:
        for listener in list(self.listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener failed on %s", event.name)

    def dispatch(self, event: Event) -> None:
        self.inform_listeners(event)
        for queue, wanted in list(self.queues):
            if not wanted(event):
                continue
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("a subscriber is not keeping up: dropped %s", event.name)

    @contextlib.asynccontextmanager
    async def subscribe(
        self, wanted: Callable[[Event], bool]
    ) -> AsyncIterator[asyncio.Queue[Event]]:
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        entry = (queue, wanted)
        self.queues.add(entry)
        try:
            yield queue
        finally:
            self.queues.discard(entry)


class PostgresListener:
    """One LISTEN connection per process, reconnected if the server drops it."""

    def __init__(self, dsn: str, hub: Hub) -> None:
        self.dsn = dsn
        self.hub = hub
        self.connection: asyncpg.Connection | None = None
        self.task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            event = Event.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a malformed event on %s: %.200s", CHANNEL, payload)
            return
        self.hub.dispatch(event)

    async def _connect(self) -> None:
        self.connection = await asyncpg.connect(self.dsn)
        await self.connection.add_listener(CHANNEL, self._on_notify)
        self.ready.set()

    async def _supervise(self) -> None:
        while True:
            try:
                if self.connection is None or self.connection.is_closed():
                    self.ready.clear()
                    await self._connect()
                await asyncio.sleep(RECONNECT_S)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("event listener lost PostgreSQL (%s): retrying", exc)
                await asyncio.sleep(RECONNECT_S)

    async def start(self) -> None:
        await self._connect()
        self.task = asyncio.create_task(self._supervise(), name="gridbill-event-listener")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.connection is not None and not self.connection.is_closed():
            with contextlib.suppress(Exception):
                await self.connection.close(timeout=5)


_hub: Hub | None = None


def hub() -> Hub | None:
    """This process's hub while :func:`event_bus` runs (the server), else None."""
    return _hub


@contextlib.asynccontextmanager
async def event_bus(settings: Settings) -> AsyncIterator[Hub]:
    """Receive events in this process for the duration of the block (the server's lifespan)."""
    global _hub
    if _hub is not None:
        raise RuntimeError("the event bus is already running in this process")
    local = Hub()
    listener = PostgresListener(settings.direct_url, local) if settings.is_postgres else None
    if listener is not None:
        await listener.start()
    _hub = local
    try:
        yield local
    finally:
        _hub = None
        if listener is not None:
            await listener.stop()


async def publish(name: str, *, customer_id: int | None = None, **data: Any) -> None:
    """Tell every subscriber (in every server process) that ``name`` happened.

    Call it after the change commits, or inside the transaction on PostgreSQL (NOTIFY is
    delivered at commit). Data must be small JSON values: ids, amounts, statuses.
    """
    await publish_each(name, [{"customer_id": customer_id, **data}])


async def publish_each(name: str, items: Sequence[Mapping[str, Any]]) -> None:
    """:func:`publish` ``name`` once per item (its ``customer_id`` and data), in order, in
    one round trip on PostgreSQL: a chunk of issued bills is one statement, not hundreds."""
    events = [
        Event(name, item.get("customer_id"), {k: v for k, v in item.items() if k != "customer_id"})
        for item in items
    ]
    payloads = [event.encode() for event in events]  # too large is an error anywhere
    if not events:
        return
    try:
        connection = get_connection("default")
    except Exception:  # Tortoise is not initialised: no database, so no one to tell
        connection = None
    if connection is not None and connection.capabilities.dialect == "postgres":
        await connection.execute_query(
            "SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload",  # in order
            [CHANNEL, payloads],
        )
        if _hub is not None:
            # This process's listeners (the answer cache) hear of it now, not a NOTIFY
            # round trip later, so a client reads its own change; subscribers get the
            # NOTIFY itself, once. Listeners hear it again then: forgetting twice is harmless.
            for event in events:
                _hub.inform_listeners(event)
        return
    if _hub is None:
        log.debug("no event bus in this process: %s not delivered", name)
        return
    lock = _transaction_lock(connection)
    for event in events:
        if lock is None:
            _hub.dispatch(event)
            continue
        # Inside a transaction on SQLite: deliver once it has ended, as NOTIFY would at commit.
        task = asyncio.get_running_loop().create_task(_after(lock, _hub, event))
        _pending.add(task)
        task.add_done_callback(_pending.discard)


_pending: set[asyncio.Task[None]] = set()


def _transaction_lock(connection: Any) -> asyncio.Lock | None:
    """The lock SQLite's client holds for the whole of the transaction we are in, if any."""
    if not isinstance(connection, TransactionalDBClient):
        return None
    outer: Any = connection
    while isinstance(outer, TransactionalDBClient) and getattr(outer, "_parent", None) is not None:
        outer = getattr(outer, "_parent")  # noqa: B009 - a private attribute of Tortoise's wrapper
    lock = getattr(outer, "_lock", None)
    return lock if isinstance(lock, asyncio.Lock) else None


async def _after(lock: asyncio.Lock, hub: Hub, event: Event) -> None:
    async with lock:
        pass
    hub.dispatch(event)

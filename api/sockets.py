"""GraphQL over WebSocket (graphql-transport-ws) that never outlives the token it opened with.

A socket is authenticated in ``connection_init``; after that, HTTP would check each
request but a socket is one long request. So here:

* every ``subscribe`` message (a subscription, query or mutation on the socket) first
  checks that the access token has not expired and that its bearer still stands
  (active, same role, session not signed out: ``services.identity.token_standing``);
* a watchdog closes the socket the moment the token expires, and re-checks the bearer's
  standing every ``GRIDBILL_WS_RECHECK`` seconds, so a deactivated or signed-out person
  stops receiving events too;
* a socket holds at most ``GRIDBILL_WS_MAX_SUBSCRIPTIONS`` operations at once, and a
  person at most ``GRIDBILL_WS_MAX_SOCKETS_PER_USER`` sockets (per server process).

Close codes (docs/api.md, "Subscriptions"):

* ``4401``: the access token expired: refresh it and reconnect;
* ``4403``: no valid token, or the person was deactivated, changed role or signed out;
* ``4429``: too many sockets for this person (or a second ``connection_init``);
* a ``subscribe`` past the per-socket limit gets an ``error`` message with
  ``extensions.code = TOO_MANY_SUBSCRIPTIONS``; the socket stays open.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import suppress
from typing import TYPE_CHECKING

from graphql import GraphQLError
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UnsetType

from api.auth import standing_problem
from api.context import Context

if TYPE_CHECKING:
    from gridbill.settings import Settings

CLOSE_TOKEN_EXPIRED = 4401
"""The access token expired: refresh it and reconnect with the new one."""
CLOSE_FORBIDDEN = 4403
"""No valid token at connection, or the person was deactivated, changed role or signed out."""
CLOSE_TOO_MANY_SOCKETS = 4429
"""This person already holds ``GRIDBILL_WS_MAX_SOCKETS_PER_USER`` sockets on this process."""
TOO_MANY_SUBSCRIPTIONS = "TOO_MANY_SUBSCRIPTIONS"


open_sockets: Counter[int] = Counter()
"""Sockets each user holds on this process."""


class SessionBoundSocket(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with per-operation token checks, a watchdog and limits."""

    watchdog: asyncio.Task[None] | None = None
    counted_user: int | None = None

    @property
    def settings(self) -> Settings:
        return self.context.settings

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        """Strawberry's, with the per-person socket limit refused before the ack."""
        if self.connection_timed_out:
            return  # pragma: no cover - the timeout already closed the socket
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload") or {}
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(CLOSE_TOO_MANY_SOCKETS, "Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        try:
            ack = await self.view.on_ws_connect(self.context)
        except ConnectionRejectionError:
            await self.websocket.close(CLOSE_FORBIDDEN, "Forbidden: sign in and send the token")
            return
        user_id = self.context.viewer.user_id
        if user_id is not None:
            if open_sockets[user_id] >= self.settings.ws_max_sockets_per_user:
                limit = self.settings.ws_max_sockets_per_user
                await self.websocket.close(
                    CLOSE_TOO_MANY_SOCKETS, f"at most {limit} open sockets per person"
                )
                return
            open_sockets[user_id] += 1
            self.counted_user = user_id
        if isinstance(ack, UnsetType):
            await self.send_message({"type": "connection_ack"})
        else:
            await self.send_message({"type": "connection_ack", "payload": ack})
        self.connection_acknowledged = True
        self.watchdog = asyncio.create_task(self._watch())

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        if self.connection_acknowledged and not await self._still_stands():
            return
        limit = self.settings.ws_max_subscriptions
        if self.connection_acknowledged and len(self.operations) >= limit:
            error = GraphQLError(
                f"at most {limit} subscriptions per socket: complete one first",
                extensions={"code": TOO_MANY_SUBSCRIPTIONS, "limit": limit},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def _still_stands(self) -> bool:
        """Close the socket (and say False) if its token expired or its bearer no longer stands."""
        viewer = self.context.viewer
        expires_at = viewer.token_expires_at
        if expires_at is not None and time.time() >= expires_at:
            await self._close(
                CLOSE_TOKEN_EXPIRED, "the access token expired: refresh and reconnect"
            )
            return False
        problem = await standing_problem(self.settings, viewer)
        if problem is not None:
            await self._close(CLOSE_FORBIDDEN, problem)
            return False
        return True

    async def _close(self, code: int, reason: str) -> None:
        with suppress(Exception):  # the client may be gone already
            await self.websocket.close(code=code, reason=reason[:120])

    async def _watch(self) -> None:
        """Sleep until the token expires or the next re-check, whichever is first."""
        while True:
            wait = float(self.settings.ws_recheck_s)
            expires_at = self.context.viewer.token_expires_at
            if expires_at is not None:
                wait = min(wait, expires_at - time.time())
            await asyncio.sleep(max(wait, 0.05))
            if not await self._still_stands():
                return

    async def shutdown(self) -> None:
        if self.watchdog is not None and self.watchdog is not asyncio.current_task():
            self.watchdog.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self.watchdog
        if self.counted_user is not None:
            open_sockets[self.counted_user] -= 1
            if open_sockets[self.counted_user] <= 0:
                del open_sockets[self.counted_user]
            self.counted_user = None
        await super().shutdown()

"""How much one request may ask for: body size, query depth, aliases, tokens, page size.

* The request body is capped (``GRIDBILL_API_MAX_BODY_BYTES``, 1 MiB by default): a
  larger one is refused with 413 before it is read into memory. Field sync (``/sync/``)
  enforces its own limits (``GRIDBILL_SYNC_MAX_BODY_BYTES``).
* A document may nest fields :data:`MAX_DEPTH` deep, use :data:`MAX_ALIASES` aliases and
  :data:`MAX_TOKENS` tokens; beyond that it is refused while parsing or validating,
  before any resolver runs.
* ``first`` of every connection is capped at 100 (``api.pagination``).
"""

from __future__ import annotations

from graphql.validation import ASTValidationRule
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 4000

# Built once, so the validation cache recognises the same rules on every request.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    depth_rule(MAX_DEPTH, None),
    aliases_rule(MAX_ALIASES),
]


class BodyTooLarge(Exception):
    pass


# Routes that enforce their own, larger limits (field sync pushes and photo uploads).
OWN_LIMITS = ("/sync/", "/ingest/")


class BodySizeLimit:
    """Refuse HTTP request bodies over ``max_bytes`` with 413, counting as they stream in.

    Paths under ``exempt`` prefixes are passed through: their routes limit themselves.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, exempt: tuple[str, ...] = OWN_LIMITS) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        received = 0
        responded = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal responded
            if message["type"] == "http.response.start":
                responded = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not responded:
                await _too_large(send, self.max_bytes)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = f'{{"error":"request body is larger than {max_bytes} bytes"}}'.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

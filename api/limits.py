"""How much one request may ask for: body size, query depth, aliases, tokens, page size.

* The request body is capped (``GRIDBILL_API_MAX_BODY_BYTES``, 1 MiB by default): a
  larger one is refused with 413 before it is read into memory. Field sync (``/sync/``)
  enforces its own limits (``GRIDBILL_SYNC_MAX_BODY_BYTES``).
* A document may nest fields :data:`MAX_DEPTH` deep (introspection included: strawberry's
  own depth limiter skips ``__schema``, so :class:`DepthLimit` counts it). An operation
  that asks only for introspection (``__schema``, ``__type``) may nest
  :data:`MAX_INTROSPECTION_DEPTH` deep: the standard introspection query GraphiQL sends
  needs 13 levels for ``ofType`` chains, and who may introspect at all is a setting
  (``GRIDBILL_INTROSPECTION``). It may use
  :data:`MAX_ALIASES` aliases and :data:`MAX_TOKENS` tokens; beyond that it is refused
  while parsing or validating, before any resolver runs.
* A JSON body's ``variables`` may nest :data:`MAX_JSON_DEPTH` deep (``api.request_body``).
* ``first`` of every connection is capped at 100 (``api.pagination``).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationRule, ValidationContext
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions.max_aliases import create_validator as aliases_rule

MAX_DEPTH = 12
MAX_INTROSPECTION_DEPTH = 16
INTROSPECTION_FIELDS = frozenset({"__schema", "__type", "__typename"})
MAX_ALIASES = 30
MAX_TOKENS = 4000
MAX_JSON_DEPTH = 32


class DepthLimit(ASTValidationRule):
    """No operation nests fields deeper than :data:`MAX_DEPTH`, introspection included."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.fragments = {
            f.name.value: f
            for f in context.document.definitions
            if isinstance(f, FragmentDefinitionNode)
        }

    def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
        limit = MAX_INTROSPECTION_DEPTH if _introspection_only(node) else MAX_DEPTH
        depth = self._depth(node.selection_set, 0, frozenset(), limit)
        if depth > limit:
            name = node.name.value if node.name else "anonymous"
            self.report_error(
                GraphQLError(f"'{name}' exceeds maximum operation depth of {limit}", [node])
            )

    def _depth(
        self, selections: SelectionSetNode | None, depth: int, seen: frozenset[str], limit: int
    ) -> int:
        if selections is None or depth > limit:
            return depth
        deepest = depth
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is None:  # a leaf adds no depth
                    continue
                inner = self._depth(selection.selection_set, depth + 1, seen, limit)
            elif isinstance(selection, InlineFragmentNode):
                inner = self._depth(selection.selection_set, depth, seen, limit)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:  # other rules report these
                    continue
                inner = self._depth(fragment.selection_set, depth, seen | {name}, limit)
            else:  # pragma: no cover - the AST has no other selections
                continue
            deepest = max(deepest, inner)
        return deepest


def _introspection_only(node: OperationDefinitionNode) -> bool:
    """Whether the operation's top level asks for nothing but introspection."""
    return all(
        isinstance(selection, FieldNode) and selection.name.value in INTROSPECTION_FIELDS
        for selection in node.selection_set.selections
    )


# Built once, so the validation cache recognises the same rules on every request.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    DepthLimit,
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

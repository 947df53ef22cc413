"""Errors the client can switch on, and masking for the ones it cannot.

Two kinds of failure reach a client:

* **Expected** ones have a stable ``code``. Mutations return them as a typed result
  (``XError`` in the ``XSuccess | XError`` union); queries raise :class:`ApiError`,
  which arrives as a GraphQL error with ``extensions.code`` (``UNAUTHENTICATED``,
  ``FORBIDDEN``, ``NOT_FOUND``, ``BAD_USER_INPUT``…).
* **Bad values the database would refuse** (Tortoise's ``ValidationError``: a string
  longer than its column) are ``BAD_USER_INPUT`` naming the field, the safety net behind
  ``api.input_limits``.
* **Unexpected** ones (bugs, a database outage) are masked: the client sees
  ``Internal server error`` with ``extensions.code = INTERNAL`` and the request id,
  and the full traceback is logged server-side with the same request id.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.types import ExecutionContext
from strawberry.utils.str_converters import to_camel_case
from tortoise.exceptions import ValidationError

from gridbill.request_id import request_id
from services.errors import Refused

log = logging.getLogger("gridbill.api")

INTERNAL_MESSAGE = "Internal server error"
SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


class ApiError(Exception):
    """An expected failure of a query field; ``extensions`` carries the stable code."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": code, **extra}


def unauthenticated(message: str = "sign in first") -> ApiError:
    return ApiError("UNAUTHENTICATED", message)


def forbidden(message: str = "you may not do this") -> ApiError:
    return ApiError("FORBIDDEN", message)


def not_found(what: str) -> ApiError:
    return ApiError("NOT_FOUND", f"{what} not found")


def bad_input(message: str, field: str | None = None) -> ApiError:
    return ApiError("BAD_USER_INPUT", message, **({"field": field} if field else {}))


def from_refusal(refusal: Refused) -> ApiError:
    extra: dict[str, Any] = {}
    if refusal.field:
        extra["field"] = refusal.field
    if refusal.retry_after_s is not None:
        extra["retryAfterSeconds"] = refusal.retry_after_s
    return ApiError(refusal.code, refusal.message, **extra)


def is_expected(error: GraphQLError) -> bool:
    """Validation errors, typed API errors and refusals pass; anything else is masked."""
    original = error.original_error
    if original is None:
        return True
    if isinstance(original, ApiError | GraphQLError | ValidationError):
        return True
    if not error.path and isinstance(original, ValueError | TypeError):
        return True  # a scalar refusing a literal or variable, before any resolver ran
    return isinstance(original, Refused)


class MaskUnexpectedErrors(MaskErrors):
    """MaskErrors that keeps typed errors and tags masked ones with a code and request id."""

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=lambda e: not is_expected(e), error_message=INTERNAL_MESSAGE
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL", "requestId": request_id.get()}
        return masked

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = [_typed(e) for e in super()._process_errors(errors)]
        if _hides_suggestions(self.execution_context.context):
            for error in processed:
                error.message = SUGGESTION.sub("", error.message)
        return processed


def _typed(error: GraphQLError) -> GraphQLError:
    """A model validation error as BAD_USER_INPUT with the field (``serial: Length…``)."""
    original = error.original_error
    if not isinstance(original, ValidationError):
        return error
    field, _, why = str(original).partition(": ")
    name = to_camel_case(field)
    return GraphQLError(
        f"{name}: {why or original}",
        error.nodes,
        path=error.path,
        extensions={"code": "BAD_USER_INPUT", "field": name},
    )


def _hides_suggestions(context: Any) -> bool:
    """ "Did you mean…" teaches a stranger the schema: production leaves it out."""
    settings = getattr(context, "settings", None)
    return bool(settings is not None and settings.is_production)


def log_errors(errors: list[GraphQLError], execution_context: ExecutionContext | None) -> None:
    """Schema.process_errors: tracebacks for bugs, one line for expected failures."""
    operation = execution_context.operation_name if execution_context else None
    for error in errors:
        if is_expected(error):
            log.debug("graphql error in %s: %s", operation, error.message)
            continue
        original = error.original_error
        log.error(
            "unexpected error in GraphQL operation %s at %s [request %s]: %s",
            operation or "(anonymous)",
            ".".join(str(p) for p in error.path or ()),
            request_id.get(),
            error.message,
            exc_info=(type(original), original, original.__traceback__) if original else None,
        )

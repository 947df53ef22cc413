"""Types every area uses: 64-bit integers, Relay connections, and the error interface."""

from __future__ import annotations

import logging
from enum import Enum
from typing import Generic, NewType, TypeVar

import strawberry

from api.schema.decorators import field
from services.errors import Refused

log = logging.getLogger(__name__)

BigInt = NewType("BigInt", int)

MAX_SAFE_INTEGER = 2**53 - 1


def parse_big_int(value: object) -> int:
    """A whole number within ±(2^53 − 1), as a JSON number or a decimal string.

    Strict on purpose: ``int()`` would truncate ``10.5`` and accept ``true``, and a value
    past 64 bits would only fail in the database. A ValueError becomes a GraphQL
    validation error naming the argument.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("BigInt must be a whole number")
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit() or len(text) > 20:
            raise ValueError("BigInt must be a whole number")
        value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise ValueError(f"BigInt must be between -{MAX_SAFE_INTEGER} and {MAX_SAFE_INTEGER}")
    return value


BIG_INT = strawberry.scalar(
    name="BigInt",
    description=(
        "A whole number up to 2^53 (JSON-safe). Money is in the currency's minor unit "
        "(paise) in fields named `…Paise`, energy in watt-hours in fields named `…Wh`."
    ),
    serialize=int,
    parse_value=parse_big_int,
)

T = TypeVar("T")


@strawberry.type(description="Where a page of a connection starts and ends (Relay).")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="One item of a connection and the cursor to continue after it.")
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type(
    description="A page of items (Relay cursor connection). Pass `endCursor` as `after`."
)
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @field(description="The items of this page, without cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


@strawberry.enum(description="Stable codes of expected failures. Switch on these, not messages.")
class ErrorCode(Enum):
    INVALID_INPUT = "INVALID_INPUT"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    VERIFICATION_FAILED = "VERIFICATION_FAILED"
    ALREADY_SIGNED_UP = "ALREADY_SIGNED_UP"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105 - an error code
    INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105 - an error code
    TOKEN_REUSED = "TOKEN_REUSED"  # noqa: S105 - an error code
    NO_TARIFF = "NO_TARIFF"
    TARIFF_INVALID = "TARIFF_INVALID"
    NOT_PRICEABLE = "NOT_PRICEABLE"
    INVALID_STATE = "INVALID_STATE"
    UNAVAILABLE = "UNAVAILABLE"
    UNBILLED_READS = "UNBILLED_READS"
    SUSPECT_READ = "SUSPECT_READ"
    UNKNOWN_CYCLE = "UNKNOWN_CYCLE"
    TOTP_REQUIRED = "TOTP_REQUIRED"
    TOTP_ENROLMENT_REQUIRED = "TOTP_ENROLMENT_REQUIRED"


def error_code(code: str) -> ErrorCode:
    try:
        return ErrorCode(code)
    except ValueError:
        log.warning("refusal code %s is not in ErrorCode: reported as INVALID_INPUT", code)
        return ErrorCode.INVALID_INPUT


@strawberry.interface(
    description="An expected failure of a mutation: what to show and what went wrong."
)
class Error:
    code: ErrorCode
    message: str = strawberry.field(description="For people; may change. Switch on `code`.")
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type(description="A staff operation that could not be done; `code` says why.")
class OperationError(Error):
    pass


def error_fields(refusal: Refused) -> dict[str, object]:
    return {"code": error_code(refusal.code), "message": refusal.message, "field": refusal.field}

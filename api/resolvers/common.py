"""Small helpers every resolver uses: ids, refusals as typed results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TypeVar

from api.errors import not_found
from api.schema.common import error_fields
from services.errors import NotFound, Refused
from services.meter_data.meters import ReadValue

if TYPE_CHECKING:
    from api.schema.meters import ReadInput

T = TypeVar("T")
S = TypeVar("S")
E = TypeVar("E")
MAX_ID = 2**63 - 1


def parse_id(value: object, what: str = "object") -> int:
    """A numeric id from a GraphQL ID; anything else is simply not found."""
    try:
        number = int(str(value))
    except ValueError:
        raise not_found(what) from None
    if not 0 < number <= MAX_ID:
        raise not_found(what)
    return number


def id_or_refuse(value: object, what: str, field: str) -> int:
    """Like :func:`parse_id`, for mutations: a bad id is a NOT_FOUND refusal."""
    try:
        number = int(str(value))
    except ValueError:
        raise NotFound(what, field=field) from None
    if not 0 < number <= MAX_ID:
        raise NotFound(what, field=field)
    return number


async def result(
    work: Callable[[], Awaitable[T]], success: Callable[[T], S], error_type: Callable[..., E]
) -> S | E:
    """Run a mutation's work; a Refused becomes ``error_type``, success ``success(value)``."""
    try:
        value = await work()
    except Refused as refusal:
        return error_type(**error_fields(refusal))
    return success(value)


def read_values(reads: list[ReadInput] | None, field: str) -> list[ReadValue]:
    """Register displays (``12345.6``) as thousandths of their unit; bad ones refused."""
    out = []
    for read in reads or []:
        try:
            milli = Decimal(read.value.strip()) * 1000
        except InvalidOperation:
            raise Refused(
                "INVALID_INPUT", f"{read.value!r} is not a register value", field=field
            ) from None
        if not milli.is_finite() or milli != milli.to_integral_value():
            raise Refused("INVALID_INPUT", "give at most 3 decimals", field=field)
        out.append(ReadValue(read.obis_code.strip(), int(milli)))
    return out

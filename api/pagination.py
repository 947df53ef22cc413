"""Keyset (cursor) pagination for Relay connections.

A cursor is the sort key of the last row seen, opaque to clients (base64 of JSON). Pages
are read with ``WHERE (key, id) < (last key, last id)`` rather than OFFSET, so a page
costs the same on page 1 and page 1,000 and does not skip or repeat rows when new ones
arrive. ``first`` is capped at :data:`MAX_PAGE`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from api.errors import bad_input
from api.schema.common import Connection, Edge, PageInfo

MAX_PAGE = 100
DEFAULT_PAGE = 20

M = TypeVar("M", bound=Model)


def check_first(first: int | None, *, default: int = DEFAULT_PAGE, cap: int = MAX_PAGE) -> int:
    if first is None:
        return default
    if first < 1 or first > cap:
        raise bad_input(f"`first` must be between 1 and {cap}", field="first")
    return first


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def encode_cursor(*values: Any) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: Sequence[Callable[[Any], Any]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong length")
        return [kind(v) for kind, v in zip(kinds, values, strict=True)]
    except (ValueError, TypeError, json.JSONDecodeError):
        raise bad_input("`after` is not a cursor this API gave out", field="after") from None


def _parse_key(value: Any, sample_kind: str) -> Any:
    if sample_kind == "date":
        return date.fromisoformat(value)
    if sample_kind == "datetime":
        return datetime.fromisoformat(value)
    return int(value) if sample_kind == "int" else value


async def paginate(
    queryset: QuerySet[M],
    *,
    first: int | None,
    after: str | None,
    key: str = "id",
    key_kind: str = "int",
    descending: bool = True,
) -> Connection[Any]:
    """One page of ``queryset`` ordered by (``key``, id), newest (largest) first by default.

    ``key_kind`` is ``int``, ``date``, ``datetime`` or ``str``: how a cursor's key is read.
    """
    size = check_first(first)
    page = page_query(queryset, size=size, after=after, key=key, key_kind=key_kind,
                      descending=descending)  # fmt: skip
    return page_of(await page, size=size, after=after, key=key)


def page_query(
    queryset: QuerySet[M], *, size: int, after: str | None, key: str = "id",
    key_kind: str = "int", descending: bool = True,
) -> QuerySet[M]:  # fmt: skip
    """The statement of :func:`paginate`: rows after the cursor, in page order, ``size`` + 1.

    Shared with ``api.persisted_queries``, which reads the same rows as plain values.
    """
    if after:
        if key == "id":
            (last_id,) = decode_cursor(after, [int])
            queryset = (
                queryset.filter(id__lt=last_id) if descending else queryset.filter(id__gt=last_id)
            )
        else:
            last_key, last_id = decode_cursor(after, [lambda v: _parse_key(v, key_kind), int])
            op = "lt" if descending else "gt"
            queryset = queryset.filter(
                Q(**{f"{key}__{op}": last_key}) | Q(**{key: last_key, f"id__{op}": last_id})
            )
    sign = "-" if descending else ""
    order = [f"{sign}{key}", f"{sign}id"] if key != "id" else [f"{sign}id"]
    return queryset.order_by(*order).limit(size + 1)


def page_of(
    rows: Sequence[Any], *, size: int, after: str | None, key: str = "id"
) -> Connection[Any]:
    """The connection for ``rows`` fetched in page order, up to ``size`` + 1 of them (the
    one past ``size`` only says there is a next page): ``paginate``'s answer, for rows a
    DataLoader fetched for many parents at once."""
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [
        Edge(
            cursor=encode_cursor(getattr(r, key), r.pk) if key != "id" else encode_cursor(r.pk),
            node=r,
        )
        for r in rows
    ]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )

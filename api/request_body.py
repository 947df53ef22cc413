"""The shape of a GraphQL request's JSON before strawberry reads it.

Strawberry expects a JSON object; a body of ``null``, ``5`` or ``"x"`` used to reach it
and fail with an ``AttributeError`` (a 500), and ``variables`` nested 50,000 deep
exhausted the parser's recursion (another 500). Here both are a 400 with the reason:

* the body must be a JSON object (or, where batching is on, a list of them);
* ``operationName`` must be a string or null;
* no value may nest deeper than :data:`api.limits.MAX_JSON_DEPTH` (checked without
  recursion, so the check itself cannot overflow).
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException

from api.limits import MAX_JSON_DEPTH
from domain import strict_json
from domain.nesting import json_depth


def parse_graphql_json(data: str | bytes) -> Any:
    """The decoded request, or HTTPException(400) saying what is wrong with it."""
    try:
        parsed = strict_json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and bad UTF-8 are ValueErrors
        raise HTTPException(400, "the request body is not valid JSON") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    for item in items:
        if not isinstance(item, dict):
            raise HTTPException(
                400, 'the request body must be a JSON object: {"query": "…", "variables": {…}}'
            )
        name = item.get("operationName")
        if name is not None and not isinstance(name, str):
            raise HTTPException(400, "operationName must be a string or null")
    if json_depth(parsed, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise HTTPException(
            400, f"the request nests deeper than {MAX_JSON_DEPTH} levels: flatten the variables"
        )
    return parsed

"""JSON as RFC 8259 defines it, for everything gridbill reads from outside.

Python's ``json`` also accepts ``NaN``, ``Infinity`` and ``-Infinity``, which no JSON
writer should send and PostgreSQL's json types refuse: let one through a sync push or a
GraphQL variable and it turns into a database error (a 500) far from where it came in.
:func:`loads` refuses them where they are read, as a ``json.JSONDecodeError`` like any
other malformed JSON, so the caller's usual "not JSON" answer (a 400, a rejected row,
one line from the command) applies.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


class _NotANumber(ValueError):
    pass


def _refuse(constant: str) -> Any:
    raise _NotANumber(constant)


def loads(text: str | bytes, *, parse_float: Callable[[str], Any] | None = None) -> Any:
    """``json.loads`` without NaN or ±Infinity."""
    try:
        return json.loads(text, parse_float=parse_float, parse_constant=_refuse)
    except _NotANumber as exc:
        document = text if isinstance(text, str) else text.decode("utf-8", "replace")
        constant = str(exc.args[0])
        raise json.JSONDecodeError(
            f"{constant} is not a JSON number", document, max(document.find(constant), 0)
        ) from None

"""How deep a decoded JSON value nests, and whether it holds a NUL (or a copy without).

Hostile JSON nested tens of thousands deep exhausts Python's recursion in anything that
walks it recursively (``json.dumps``, a scrubber, a validator). Callers measure first
with :func:`json_depth`, which uses an explicit stack and stops counting past ``limit``.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"
NUL_SYMBOL = "\u2400"
"""A probe readout may hold a NUL byte (a checksum can be 0x00), which PostgreSQL cannot
store in text: it is kept as the symbol for NUL, ␀."""


def json_depth(value: Any, limit: int = 1_000) -> int:
    """Nesting of lists and objects in ``value`` (a scalar is 0); stops just past ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def holds_nul(value: Any) -> bool:
    """Whether any string in ``value`` (or key of its objects) holds a NUL character, which
    PostgreSQL cannot store in text or jsonb. Call after :func:`json_depth` has bounded it."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if NUL in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def without_nul(value: Any) -> Any:
    """A decoded JSON value with every NUL in its strings (and keys) kept as ␀, so it can
    be stored as JSON on PostgreSQL, which refuses ``\\u0000``. Recursive: call after
    :func:`json_depth` has bounded it (the sync protocol refuses more than 16 levels)."""
    if isinstance(value, str):
        return value.replace(NUL, NUL_SYMBOL)
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    return value

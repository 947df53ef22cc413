"""How deep a decoded JSON value nests, measured without recursion.

Hostile JSON nested tens of thousands deep exhausts Python's recursion in anything that
walks it recursively (``json.dumps``, a scrubber, a validator). Callers measure first
with :func:`json_depth`, which uses an explicit stack and stops counting past ``limit``.
"""

from __future__ import annotations

from typing import Any


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

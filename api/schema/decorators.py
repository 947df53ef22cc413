"""Typed spellings of strawberry's decorators.

``@strawberry.field(description=…)`` is typed as returning ``Any``, which makes mypy see
every decorated resolver as untyped. These wrappers are the same decorators, typed as
returning the function they decorate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry

F = TypeVar("F", bound=Callable[..., Any])


def field(**options: Any) -> Callable[[F], F]:
    decorator: Callable[[F], F] = strawberry.field(**options)
    return decorator


def mutation(**options: Any) -> Callable[[F], F]:
    decorator: Callable[[F], F] = strawberry.mutation(**options)
    return decorator


def subscription(**options: Any) -> Callable[[F], F]:
    decorator: Callable[[F], F] = strawberry.subscription(**options)
    return decorator

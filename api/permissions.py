"""Permission classes: every field states the operation it performs, checked here only.

A field declares ``extensions=requires(Operation.READ_BILLS)``; :class:`Can` asks
``domain.access`` whether the caller may perform it. A caller without a (valid) token
gets ``UNAUTHENTICATED``, a caller whose role or scopes do not cover the operation
``FORBIDDEN``. Row-level rules (whose bill) are applied by the resolvers through the
viewer, and answer ``NOT_FOUND``.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from api.context import Context
from api.errors import ApiError
from domain.access import Operation, scopes_for


class Can(BasePermission):
    """Granted when the caller may perform any one of ``operations``."""

    def __init__(self, *operations: Operation) -> None:
        self.operations = operations
        self.message = f"you may not {operations[0].value.replace('_', ' ')}"

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        context = info.context
        viewer = context.viewer
        if any(viewer.may(operation) for operation in self.operations):
            return True
        if viewer.user_id is None and viewer.partner_id is None:
            raise ApiError("UNAUTHENTICATED", context.auth_error or "sign in first")
        if viewer.is_partner:
            scopes = set().union(*(scopes_for(op) for op in self.operations))
            wanted = " or ".join(sorted(scopes)) or "a person's sign-in"
            raise ApiError("FORBIDDEN", f"this needs the scope {wanted}")
        raise ApiError("FORBIDDEN", self.message or "you may not do this")


class SignedIn(BasePermission):
    """Any valid person or partner token (used by fields every caller may read)."""

    def has_permission(
        self, source: Any, info: strawberry.Info[Context, None], **kwargs: Any
    ) -> bool:
        viewer = info.context.viewer
        if viewer.user_id is None and viewer.partner_id is None:
            raise ApiError("UNAUTHENTICATED", info.context.auth_error or "sign in first")
        return True


def requires(*operations: Operation) -> list[FieldExtension]:
    """The field extension that guards a field: the caller must be allowed one of ``operations``."""
    return [PermissionExtension(permissions=[Can(*operations)], use_directives=False)]


def signed_in() -> list[FieldExtension]:
    return [PermissionExtension(permissions=[SignedIn()], use_directives=False)]

"""Who may introspect the schema: ``GRIDBILL_INTROSPECTION`` (``anyone``, ``staff``, ``off``).

The schema is public in this repository, but a production server need not hand a stranger
a map of every field: by default only staff and admins (GraphiQL's documentation explorer,
code generators run by the utility's developers) are answered. Others get a validation
error naming ``__schema`` or ``__type``; ``__typename`` is always allowed, clients need it.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension


def may_introspect(policy: str, *, is_staff: bool) -> bool:
    return policy == "anyone" or (policy == "staff" and is_staff)


class IntrospectionPolicy(SchemaExtension):
    """Adds graphql-core's no-introspection rule for callers the policy does not cover."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        settings = getattr(context, "settings", None)
        viewer = getattr(context, "viewer", None)
        if settings is not None and not may_introspect(
            settings.introspection, is_staff=bool(viewer is not None and viewer.is_staff)
        ):
            self.execution_context.validation_rules = (
                *self.execution_context.validation_rules,
                NoSchemaIntrospectionCustomRule,
            )
        yield

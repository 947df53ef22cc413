"""One guard for every GraphQL argument: string lengths, integer ranges and NUL bytes.

PostgreSQL refuses a NUL byte in text, an integer past a ``SMALLINT``'s range and (through
Tortoise) a string longer than its ``VARCHAR``; SQLite accepts all three. Checking field
by field would miss the next new argument, so the limits are derived from the models
once, at import:

* every ``CharField`` gives its ``max_length`` and every integer field its range, keyed by
  the field's name (``serial`` → 40, ``manufactured_year`` → −32768…32767);
* an argument or input field of the same name gets that limit. An input type named after
  a model (``CreateMeterInput`` → ``Meter``) uses that model's fields first; a name two
  models share with different limits (``name``: 100 or 200) gets the larger one, and the
  model's own validation on save catches the rest (``api.errors`` reports Tortoise's
  ``ValidationError`` as ``BAD_USER_INPUT`` too);
* no string anywhere may hold a NUL byte (U+0000).

:func:`guard_arguments` checks the coerced arguments of every field before its resolver
runs, on HTTP and WebSocket alike, and refuses naming the field, the same on both
databases: a mutation with a typed result answers its ``XError`` with ``INVALID_INPUT``,
anything else a GraphQL error with ``BAD_USER_INPUT``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLFieldResolver,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLUnionType,
    default_field_resolver,
)
from strawberry.utils.str_converters import to_camel_case
from tortoise import fields
from tortoise.models import Model

import store.models
from api.errors import ApiError, bad_input
from api.schema.common import Error, ErrorCode


@dataclass(frozen=True, slots=True)
class Limit:
    """What one named value may hold: a string's length, or an integer's range."""

    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None

    def loosest(self, other: Limit) -> Limit:
        def wider(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
            return None if a is None or b is None else pick(a, b)

        return Limit(
            wider(self.max_length, other.max_length, max),
            wider(self.minimum, other.minimum, min),
            wider(self.maximum, other.maximum, max),
        )


def _field_limit(field: fields.Field[Any]) -> Limit | None:
    if isinstance(field, fields.CharField):
        return Limit(max_length=field.max_length)
    if isinstance(field, fields.IntField) and not field.pk:
        return Limit(minimum=field.constraints["ge"], maximum=field.constraints["le"])
    return None


def _models() -> Iterator[type[Model]]:
    for value in vars(store.models).values():
        if isinstance(value, type) and issubclass(value, Model) and value is not Model:
            yield value


def _build() -> tuple[dict[str, dict[str, Limit]], dict[str, Limit]]:
    by_model: dict[str, dict[str, Limit]] = {}
    by_name: dict[str, Limit] = {}
    for model in _models():
        own: dict[str, Limit] = {}
        for name, field in model._meta.fields_map.items():
            limit = _field_limit(field)
            if limit is None:
                continue
            key = to_camel_case(name)
            own[key] = limit
            by_name[key] = by_name[key].loosest(limit) if key in by_name else limit
        by_model[model.__name__] = own
    return by_model, by_name


MODEL_LIMITS, NAME_LIMITS = _build()
_INPUT_AFFIXES = re.compile(r"^(Create|Update|Add|Set|Start|Record|Install|Replace)|Input$")


def limits_for_input(type_name: str) -> dict[str, Limit]:
    """Limits of an input type's fields: its model's (by type name) before the shared ones."""
    model = _INPUT_AFFIXES.sub("", type_name)
    return {**NAME_LIMITS, **MODEL_LIMITS.get(model, {})}


def _named(type_: GraphQLInputType) -> GraphQLInputType:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def check_value(name: str, value: Any, type_: GraphQLInputType, limits: dict[str, Limit]) -> None:
    """Raise BAD_USER_INPUT naming ``name`` if ``value`` (or anything in it) breaks a limit."""
    if value is None:
        return
    if isinstance(value, str):
        if "\x00" in value:
            raise bad_input(f"{name} must not contain a NUL character (U+0000)", name)
        limit = limits.get(name)
        if limit and limit.max_length is not None and len(value) > limit.max_length:
            raise bad_input(f"{name} is longer than {limit.max_length} characters", name)
        return
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        limit = limits.get(name)
        low, high = (limit.minimum, limit.maximum) if limit else (None, None)
        if low is not None and high is not None and not low <= value <= high:
            raise bad_input(f"{name} must be between {low} and {high}", name)
        return
    if isinstance(value, list):
        for item in value:
            check_value(name, item, type_, limits)
        return
    named = _named(type_)
    if isinstance(value, dict) and isinstance(named, GraphQLInputObjectType):
        inner = limits_for_input(named.name)
        for key, item in value.items():
            field = named.fields.get(key)
            if field is not None:
                check_value(key, item, field.type, inner)


def check_arguments(info: GraphQLResolveInfo[Any], arguments: dict[str, Any]) -> None:
    definition = info.parent_type.fields[info.field_name]
    for name, value in arguments.items():
        argument = definition.args.get(name)
        if argument is not None:
            check_value(name, value, argument.type, NAME_LIMITS)


def typed_refusal(info: GraphQLResolveInfo[Any], refusal: ApiError) -> Error | None:
    """The mutation's own ``XError`` (``INVALID_INPUT`` with the field), if its result has one.

    A client already switches on a mutation's typed errors; a bad value found here should
    look the same as one its resolver would have refused.
    """
    result = info.return_type
    while isinstance(result, GraphQLNonNull):
        result = result.of_type
    if not isinstance(result, GraphQLUnionType):
        return None
    for member in result.types:
        definition = member.extensions.get("strawberry-definition")
        origin = getattr(definition, "origin", None)
        if isinstance(origin, type) and issubclass(origin, Error):
            try:
                error: Error = origin(
                    code=ErrorCode.INVALID_INPUT,
                    message=refusal.message,
                    field=refusal.extensions.get("field"),
                )
            except TypeError:  # an error type with more required fields
                return None
            return error
    return None


def guard_arguments(schema: GraphQLSchema) -> None:
    """Put the check in front of the resolver of every field that takes arguments.

    Done once on the built schema rather than as a schema extension's ``resolve`` hook:
    such a hook is graphql-core middleware, run around every field of every answer (a
    page of bills resolves about 120 fields, none with arguments), while only the fields
    with arguments need it. Subscription fields are guarded where their events resolve,
    as the hook did.
    """
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for field in type_.fields.values():
            if field.args:
                field.resolve = _guarded(field.resolve or default_field_resolver)


def _guarded(resolve: GraphQLFieldResolver) -> GraphQLFieldResolver:
    def guarded(root: Any, info: GraphQLResolveInfo[Any], **kwargs: Any) -> Any:
        if kwargs:
            try:
                check_arguments(info, kwargs)
            except ApiError as refusal:
                typed = typed_refusal(info, refusal)
                if typed is None:
                    raise
                return typed
        return resolve(root, info, **kwargs)

    return guarded

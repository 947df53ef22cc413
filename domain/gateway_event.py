"""The shape a Razorpay webhook must have before anything of it is applied.

A correctly signed body is still only as well-formed as the sender made it: a
``payload`` that is a string or a list, an ``amount`` of ``"abc"`` or ``10000.5``, or
nesting thousands deep must be refused whole (HTTP 400, nothing written), never folded
in half-way or truncated. :func:`shape_problem` says what is wrong, or None.
"""

from __future__ import annotations

from typing import Any

from domain.nesting import holds_nul, json_depth

MAX_DEPTH = 16
MAX_ID_LENGTH = 40  # the gateway id columns (order, payment, refund)
MAX_AMOUNT = 2**53 - 1
ENTITIES = ("payment", "refund", "order")
ID_KEYS = ("id", "order_id", "payment_id")
TEXT_KEYS = ("status", "currency", "method", "error_code", "error_description")


def _entity_problem(name: str, entity: Any) -> str | None:
    if not isinstance(entity, dict):
        return f"payload.{name}.entity must be an object"
    for key in ID_KEYS:
        value = entity.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
            return f"{name}.{key} must be a string of at most {MAX_ID_LENGTH} characters"
    for key in TEXT_KEYS:
        value = entity.get(key)
        if value is not None and not isinstance(value, str):
            return f"{name}.{key} must be a string"
    if "amount" in entity:
        amount = entity["amount"]
        if isinstance(amount, bool) or not isinstance(amount, int):
            return f"{name}.amount must be a whole number of paise"
        if not 0 <= amount <= MAX_AMOUNT:
            return f"{name}.amount is out of range"
    return None


def shape_problem(envelope: Any) -> str | None:
    """Why a decoded webhook body cannot be a Razorpay event, or None if it can."""
    if json_depth(envelope, MAX_DEPTH) > MAX_DEPTH:
        return f"the event nests deeper than {MAX_DEPTH} levels"
    if not isinstance(envelope, dict):
        return "the event must be a JSON object"
    if holds_nul(envelope):
        return "the event holds a NUL character"
    event = envelope.get("event")
    if not isinstance(event, str) or not event or len(event) > 60:
        return "event must be a non-empty string"
    payload = envelope.get("payload")
    if payload is None:
        return None
    if not isinstance(payload, dict):
        return "payload must be an object"
    for name in ENTITIES:
        if name not in payload:
            continue
        wrapper = payload[name]
        if not isinstance(wrapper, dict):
            return f"payload.{name} must be an object"
        if problem := _entity_problem(name, wrapper.get("entity")):
            return problem
    return None

"""From an ``Authorization: Bearer …`` header (or a websocket's connection_init) to a Viewer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.access import Caller
from gridbill.settings import Settings
from services.tokens import InvalidToken, decode_access_token
from services.viewer import Viewer


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization`` value; None when absent or not a Bearer header."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("the Authorization header must be `Bearer <access token>`")
    return token.strip()


def viewer_from_token(settings: Settings, token: str) -> Viewer:
    """Verify an access token; raises InvalidToken. No database round trip."""
    claims = decode_access_token(settings, token)
    if claims.partner_id is not None:
        return Viewer(
            caller=Caller(role=None, scopes=claims.scopes),
            partner_id=claims.partner_id,
            label=f"partner:{claims.partner_id}",
        )
    return Viewer(
        caller=Caller(role=claims.role),
        user_id=claims.user_id,
        customer_id=claims.customer_id,
        label=f"user:{claims.user_id}",
    )


def token_from_connection_params(params: Mapping[str, Any] | None) -> str | None:
    """graphql-transport-ws clients send ``{"Authorization": "Bearer …"}`` or ``{"token": …}``."""
    if not params:
        return None
    for key in ("Authorization", "authorization"):
        value = params.get(key)
        if isinstance(value, str):
            return bearer_token(value)
    token = params.get("token") or params.get("accessToken")
    return token if isinstance(token, str) and token else None

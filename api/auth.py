"""From an ``Authorization: Bearer …`` header (or a websocket's connection_init) to a Viewer.

:func:`viewer_from_token` checks the signature and expiry only; :func:`authenticate`
also asks ``services.identity.token_standing`` whether a person's token still stands (active,
same role, session not signed out): what every request and socket operation uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.access import Caller
from gridbill.settings import Settings
from services.identity import token_standing
from services.identity.tokens import InvalidToken, decode_access_token
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
    """Verify an access token's signature and expiry; raises InvalidToken. No database."""
    claims = decode_access_token(settings, token)
    if claims.partner_id is not None:
        return Viewer(
            caller=Caller(role=None, scopes=claims.scopes),
            partner_id=claims.partner_id,
            label=f"partner:{claims.partner_id}",
            token_expires_at=claims.expires_at,
        )
    return Viewer(
        caller=Caller(role=claims.role),
        user_id=claims.user_id,
        customer_id=claims.customer_id,
        label=f"user:{claims.user_id}",
        token_expires_at=claims.expires_at,
        session=claims.session,
    )


async def standing_problem(settings: Settings, viewer: Viewer) -> str | None:
    """Why a person's token no longer stands (deactivated, demoted, signed out), or None."""
    if viewer.user_id is None:
        return None
    return await token_standing.problem_with(
        user_id=viewer.user_id, role=viewer.role, session=viewer.session,
        ttl_s=settings.session_check_ttl_s,
    )  # fmt: skip


async def authenticate(settings: Settings, token: str) -> Viewer:
    """Verify an access token and that its bearer still stands; raises InvalidToken."""
    viewer = viewer_from_token(settings, token)
    problem = await standing_problem(settings, viewer)
    if problem is not None:
        raise InvalidToken(problem)
    return viewer


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

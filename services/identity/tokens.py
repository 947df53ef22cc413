"""Access tokens (JWT, HS256) and signed, expiring download links.

Access tokens are short-lived and signed; a person's token names the session it was
issued to (``sid``, the refresh-token family), and ``services.identity.token_standing`` checks on
every request that the person is still active, in the same role, and the session alive. Refresh tokens are not JWTs: they are random and
stored hashed (``services.identity.sessions``). Both token kinds and download links are keyed by
``GRIDBILL_SECRET_KEY``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

from domain.enums import Role
from gridbill.errors import UserError
from gridbill.settings import Settings

ALGORITHM = "HS256"
AUDIENCE = "gridbill-api"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
PARTNER_PREFIX = "partner:"
LINK_BUCKET_S = 300  # links made in the same five minutes expire together (cacheable)


class InvalidToken(UserError):
    """An access token that is missing, malformed, expired or not ours."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid access token says about its bearer."""

    subject: str
    user_id: int | None
    partner_id: int | None
    role: Role | None
    customer_id: int | None
    scopes: frozenset[str]
    expires_at: int
    session: str | None = None  # the refresh-token family a person's token was issued to


def issuer(settings: Settings) -> str:
    return settings.base_url


def issue_user_token(
    settings: Settings,
    *,
    user_id: int,
    role: Role,
    customer_id: int | None,
    session: str | None = None,
    now: float | None = None,
) -> tuple[str, int]:
    """An access token for a person; returns the token and its lifetime in seconds.

    ``session`` (the refresh-token family) lets a sign-out end the token's power at once.
    """
    ttl = settings.access_token_ttl_s
    claims: dict[str, Any] = {"sub": str(user_id), "role": role.value, "typ": "access"}
    if customer_id is not None:
        claims["cid"] = customer_id
    if session is not None:
        claims["sid"] = session
    return _encode(settings, claims, ttl, now), ttl


def issue_partner_token(
    settings: Settings, *, partner_id: int, scopes: frozenset[str], now: float | None = None
) -> tuple[str, int]:
    """An access token for a partner application, limited to ``scopes``."""
    ttl = settings.partner_token_ttl_s
    claims = {"sub": f"{PARTNER_PREFIX}{partner_id}", "scope": " ".join(sorted(scopes))}
    claims["typ"] = "access"
    return _encode(settings, claims, ttl, now), ttl


def _encode(settings: Settings, claims: dict[str, Any], ttl: int, now: float | None) -> str:
    issued = int(time.time() if now is None else now)
    payload = {
        **claims,
        "iss": issuer(settings),
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Verify signature, algorithm, expiry, issuer and audience; raises InvalidToken."""
    try:
        payload = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=issuer(settings),
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the access token has expired: refresh it") from None
    except jwt.PyJWTError:
        raise InvalidToken("the access token is not valid") from None
    if payload.get("typ") != "access":
        raise InvalidToken("the access token is not valid")
    subject = str(payload["sub"])
    try:
        if subject.startswith(PARTNER_PREFIX):
            scopes = frozenset(str(payload.get("scope", "")).split())
            return AccessClaims(
                subject, None, int(subject.removeprefix(PARTNER_PREFIX)), None, None, scopes,
                int(payload["exp"]),
            )  # fmt: skip
        customer = payload.get("cid")
        session = payload.get("sid")
        return AccessClaims(
            subject, int(subject), None, Role(payload["role"]),
            int(customer) if customer is not None else None, frozenset(), int(payload["exp"]),
            str(session) if session is not None else None,
        )  # fmt: skip
    except (KeyError, ValueError, TypeError):
        raise InvalidToken("the access token is not valid") from None


# --- signed links -----------------------------------------------------------------------


def _signature(settings: Settings, purpose: str, object_id: int, expires: int) -> str:
    message = f"{purpose}:{object_id}:{expires}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def sign_link(
    settings: Settings, purpose: str, object_id: int, *, now: float | None = None
) -> tuple[int, str]:
    """Expiry (Unix time) and signature for a download of ``object_id``.

    The expiry is at least ``GRIDBILL_DOWNLOAD_LINK_TTL`` away, rounded up to five
    minutes, so every link to one object made within five minutes is the same link.
    """
    at = math.ceil(time.time() if now is None else now) + settings.download_link_ttl_s
    expires = -(-at // LINK_BUCKET_S) * LINK_BUCKET_S
    return expires, _signature(settings, purpose, object_id, expires)


def check_link(
    settings: Settings, purpose: str, object_id: int, expires: int, signature: str,
    *, now: float | None = None,
) -> str | None:  # fmt: skip
    """None when the link is genuine and current, else the reason it is refused.

    A signature is hex: anything else (non-ASCII, which ``compare_digest`` cannot take
    as a str) is simply a bad signature.
    """
    if not signature.isascii():
        return "bad signature"
    expected = _signature(settings, purpose, object_id, expires)
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    if expires < (time.time() if now is None else now):
        return "link expired"
    return None

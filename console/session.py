"""Console sign-in: a session cookie backed by a refresh-token row, and CSRF tokens.

Signing in goes through ``services.identity.sessions.sign_in``, so the console has the
same throttles, second factor and refusals as GraphQL. The session is that sign-in's
refresh-token row: the cookie holds its raw token (HttpOnly, SameSite=Strict, Secure in
production), the row's expiry is cut to ``GRIDBILL_CONSOLE_SESSION_TTL``, and signing
out (here or with ``signOut(everywhere: true)``) revokes it. Only staff and admins get
a console session; anyone else's sign-in is revoked at once and refused.

CSRF: every POST carries a token, in a form field ``csrf`` or an ``X-CSRF-Token``
header (htmx). Signed in, it is an HMAC of the session under the secret key; on the
sign-in form (no session yet) it must equal a random cookie set with the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from domain.access import Caller, sees_everything
from domain.enums import Role
from gridbill.settings import Settings
from services import audit
from services.errors import Refused
from services.identity import sessions
from services.viewer import Viewer
from store.models import RefreshToken, User

COOKIE = "gridbill_console"
PRE_COOKIE = "gridbill_console_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
NOT_STAFF = "NOT_STAFF"


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member of one console request."""

    user: User
    viewer: Viewer
    csrf: str

    @property
    def name(self) -> str:
        return self.user.full_name or self.user.email or f"user {self.user.id}"


def _csrf_for(settings: Settings, token_hash: str) -> str:
    key = settings.secret_key.encode()
    return hmac.new(key, f"console-csrf:{token_hash}".encode(), hashlib.sha256).hexdigest()


def viewer_of(user: User, family: str | None = None) -> Viewer:
    """The same Viewer an access token of this user gives GraphQL: same audit label."""
    return Viewer(
        caller=Caller(role=Role(user.role)),
        user_id=user.id,
        customer_id=user.customer_id,  # type: ignore[attr-defined]
        label=f"user:{user.id}",
        session=family,
    )


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path="/console", httponly=True, samesite="strict",
        secure=settings.is_production,
    )  # fmt: skip


async def sign_in(
    settings: Settings, *, login: str, password: str, totp_code: str, user_agent: str, address: str
) -> str:
    """Sign a staff member or admin in; returns the raw session token for the cookie.

    Raises Refused: the sign-in service's refusals, or ``NOT_STAFF`` for anyone else
    (whose fresh session is revoked before answering).
    """
    session = await sessions.sign_in(
        settings, login=login, password=password, totp_code=totp_code.strip() or None,
        user_agent=f"console {user_agent}"[:300], address=address,
    )  # fmt: skip
    user = session.user
    if not sees_everything(Caller(role=Role(user.role))):
        await sessions.sign_out(
            user_id=user.id, refresh_token=session.refresh_token, everywhere=False
        )
        raise Refused(NOT_STAFF, "the console is for utility staff: use the customer app instead")
    expires = datetime.now(UTC) + timedelta(seconds=settings.console_session_ttl_s)
    await RefreshToken.filter(id=session.refresh_token_id).update(expires_at=expires)
    await audit.record(
        viewer=viewer_of(user), action="console.signed_in", entity="user", entity_id=user.id
    )
    return session.refresh_token


async def current(settings: Settings, request: Request) -> Staff | None:
    """The staff member whose live session cookie came with ``request``, or None."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    digest = sessions.token_hash(raw)
    token = await RefreshToken.get_or_none(token_hash=digest)
    now = datetime.now(UTC)
    if (
        token is None
        or token.revoked_at is not None
        or token.replaced_by_id is not None  # type: ignore[attr-defined]
        or token.expires_at <= now
    ):
        return None
    user = await User.get_or_none(id=token.user_id)  # type: ignore[attr-defined]
    if user is None or not user.is_active or not sees_everything(Caller(role=Role(user.role))):
        return None
    return Staff(user, viewer_of(user, str(token.family)), _csrf_for(settings, digest))


async def sign_out(request: Request, staff: Staff) -> None:
    await sessions.sign_out(
        user_id=staff.user.id, refresh_token=request.cookies.get(COOKIE), everywhere=False
    )
    await audit.record(
        viewer=staff.viewer, action="console.signed_out", entity="user", entity_id=staff.user.id
    )


def new_pre_session_token() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(request: Request, sent: str | None, staff: Staff | None) -> bool:
    """Does the token sent with a POST match the session's (or the sign-in form's)?"""
    given = sent or request.headers.get(CSRF_HEADER) or ""
    expected = staff.csrf if staff is not None else request.cookies.get(PRE_COOKIE, "")
    return bool(given and expected) and hmac.compare_digest(given, expected)

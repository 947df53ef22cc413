"""Whether a person's access token still speaks for them, checked on every request.

An access token is a signed statement made at sign-in; alone it would keep a demoted or
deactivated person's power, or a signed-out session's, until it expires (15 minutes).
So every request (and every operation on a WebSocket) also asks the database whether

* the user still exists and is active,
* their role is still the one in the token,
* the session the token was issued to (its refresh-token family, claim ``sid``) still
  has a live refresh token, i.e. was not signed out, reused or ended by a password change.

The answer is remembered per process for ``GRIDBILL_SESSION_CHECK_TTL`` seconds (5 by
default; ``0`` asks every time), and forgotten at once in this process when the session
is signed out here. Partner tokens are checked through their consents (``services.viewer``).
"""

from __future__ import annotations

import time
import uuid

from domain.enums import Role
from services import events
from store.models import RefreshToken, User

DEACTIVATED = "this account is not active"
ROLE_CHANGED = "your role has changed: sign in again"
SIGNED_OUT = "this session has ended (signed out): sign in again"
_MAX_ENTRIES = 10_000

_remembered: dict[tuple[int, str | None, str], tuple[float, str | None]] = {}


async def problem_with(
    *, user_id: int, role: Role | None, session: str | None, ttl_s: int
) -> str | None:
    """None while the token still stands, else why it no longer does (for the person)."""
    key = (user_id, session, role.value if role else "")
    now = time.monotonic()
    cached = _remembered.get(key) if ttl_s > 0 else None
    if cached is not None and cached[0] > now:
        return cached[1]
    problem = await _ask(user_id=user_id, role=role, session=session)
    if ttl_s > 0:
        if len(_remembered) >= _MAX_ENTRIES:
            _remembered.clear()
        _remembered[key] = (now + ttl_s, problem)
    return problem


async def _ask(*, user_id: int, role: Role | None, session: str | None) -> str | None:
    row = await User.filter(id=user_id).values("is_active", "role")
    if not row or not row[0]["is_active"]:
        return DEACTIVATED
    if role is None or Role(row[0]["role"]) != role:
        return ROLE_CHANGED
    if session is not None:
        try:
            family = uuid.UUID(session)
        except ValueError:
            return SIGNED_OUT
        live = RefreshToken.filter(family=family, user_id=user_id, revoked_at__isnull=True)
        if not await live.exists():
            return SIGNED_OUT
    return None


STANDING_CHANGED = "auth.standing_changed"


def forget(user_id: int) -> None:
    """Drop this process's remembered answers for ``user_id``."""
    for key in [k for k in _remembered if k[0] == user_id]:
        del _remembered[key]


async def changed(user_id: int) -> None:
    """A person's standing changed (signed out, deactivated, role changed): every server
    process forgets what it remembered, this one at once and the others when the event
    arrives (PostgreSQL NOTIFY), so none honours an ended session for its cache's TTL."""
    forget(user_id)
    await events.publish(STANDING_CHANGED, user_id=user_id)


def on_event(event: events.Event) -> None:
    """The event bus's listener in every server process (``api.app``)."""
    if event.name == STANDING_CHANGED and isinstance(event.data.get("user_id"), int):
        forget(event.data["user_id"])

"""A second factor for staff and admins: time-based one-time codes (TOTP, RFC 6238, pyotp).

* **Enrolment**: :func:`start_enrolment` stores a new random key and returns it with an
  ``otpauth://`` URI for an authenticator app; :func:`confirm_enrolment` switches the
  factor on once the person proves the app shows the right code. ``gridbill totp enrol
  EMAIL`` does both at once for an operator on the server (the only way for an admin in
  production, who cannot sign in without a factor).
* **Verification** at sign-in: a 6-digit code of the current 30-second step or the one
  either side (clock drift), never a step already used (``users.totp_last_step``, moved
  forward with a conditional update, so a code replayed concurrently works once).
* Who must have one: the roles in ``GRIDBILL_TOTP_REQUIRED_ROLES`` (``admin`` in
  production), and any one person an administrator requires it of (``users.totp_required``,
  set on the console's staff users page, ``services.identity.staff_users.require_second_factor``).
  :func:`required` is the one test; every sign-in with a password (GraphQL ``signIn``, the
  console) and with a one-time code goes through it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pyotp

from gridbill.settings import Settings
from services import audit
from services.errors import NotFound, Refused
from store.models import User

ISSUER = "gridbill"
TOTP_REQUIRED = "TOTP_REQUIRED"
TOTP_ENROLMENT_REQUIRED = "TOTP_ENROLMENT_REQUIRED"
SECOND_FACTOR_ROLES = ("staff", "admin")


def required(settings: Settings, user: User) -> bool:
    """Whether ``user`` must sign in with a second factor: by role, or by their own flag
    while they are staff or an admin (a person moved to meter reader, who cannot enrol
    one, is not locked out by a flag left from before)."""
    role = str(user.role)
    own = bool(user.totp_required) and role in SECOND_FACTOR_ROLES
    return own or role in settings.totp_required_roles


def _uri(user: User, secret: str) -> str:
    name = user.email or user.phone or f"user {user.id}"
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=ISSUER)


async def start_enrolment(user_id: int) -> tuple[str, str]:
    """A fresh key (base32) and its otpauth URI; the factor is off until confirmed."""
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise NotFound("user")
    if str(user.role) not in SECOND_FACTOR_ROLES:
        raise Refused("INVALID_STATE", "only staff and admins use a second factor")
    if user.totp_enabled_at is not None:
        raise Refused(
            "INVALID_STATE",
            "a second factor is already on: ask an operator to run `gridbill totp reset`",
        )
    secret = pyotp.random_base32()
    await User.filter(id=user.id).update(totp_secret=secret, totp_last_step=0)
    return secret, _uri(user, secret)


async def confirm_enrolment(user_id: int, code: str, *, now: float | None = None) -> None:
    """Turn the factor on if ``code`` matches the key from :func:`start_enrolment`."""
    user = await User.get(id=user_id)
    if user.totp_secret is None:
        raise Refused("INVALID_STATE", "start the enrolment first", field="code")
    if user.totp_enabled_at is not None:
        raise Refused("INVALID_STATE", "the second factor is already on")
    if not await accept_code(user, code, now=now):
        raise Refused("INVALID_CREDENTIALS", "the code is not right: check the clock", field="code")
    await User.filter(id=user.id).update(totp_enabled_at=datetime.now(UTC))
    await audit.record(actor_id=user.id, action="user.totp_enabled", entity="user",
                       entity_id=user.id)  # fmt: skip


async def enrol_by_operator(email: str) -> tuple[str, str]:
    """``gridbill totp enrol``: a new key, switched on at once; returns key and URI."""
    user = await User.get_or_none(email=email.strip().lower())
    if user is None:
        raise NotFound(f"user {email}")
    if str(user.role) not in SECOND_FACTOR_ROLES:
        raise Refused("INVALID_STATE", f"{email} is not staff or an admin")
    secret = pyotp.random_base32()
    await User.filter(id=user.id).update(
        totp_secret=secret, totp_enabled_at=datetime.now(UTC), totp_last_step=0
    )
    await audit.record(actor_label="cli", action="user.totp_enabled", entity="user",
                       entity_id=user.id)  # fmt: skip
    return secret, _uri(user, secret)


async def reset_by_operator(email: str) -> None:
    """``gridbill totp reset``: a lost phone; the person enrols again at next need."""
    user = await User.get_or_none(email=email.strip().lower())
    if user is None:
        raise NotFound(f"user {email}")
    await User.filter(id=user.id).update(totp_secret=None, totp_enabled_at=None, totp_last_step=0)
    await audit.record(actor_label="cli", action="user.totp_reset", entity="user",
                       entity_id=user.id)  # fmt: skip


async def accept_code(user: User, code: str, *, now: float | None = None) -> bool:
    """True, once, for a right code of this or a neighbouring 30-second step."""
    if user.totp_secret is None:
        return False
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    at = time.time() if now is None else now
    step = totp.timecode(datetime.fromtimestamp(at, UTC))
    for candidate in (step, step - 1, step + 1):
        if candidate > user.totp_last_step and pyotp.utils.strings_equal(
            totp.generate_otp(candidate), code
        ):
            moved = await User.filter(id=user.id, totp_last_step__lt=candidate).update(
                totp_last_step=candidate
            )
            return bool(moved)
    return False

"""Sign-in help: a one-time code by SMS or e-mail, to sign in or to set a new password.

* A code is 6 digits, lives ``GRIDBILL_SIGN_IN_CODE_TTL`` seconds (10 minutes), is used
  once (a conditional UPDATE, so two racing uses cannot both win) and allows 5 wrong
  guesses. Only its HMAC (keyed by ``GRIDBILL_SECRET_KEY``) is stored.
* Requests are throttled per account (3 per 15 minutes) and per address (5 per hour).
* The answer to a request never says whether the address belongs to anyone.
* The code travels in the outbox row that sends it, is never logged, and is blanked out
  of that row as soon as the row is sent or given up (``SECRET_EVENTS``); staff's view of
  notifications never shows it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta

from tortoise.transactions import in_transaction

from domain.enums import NotificationChannel
from gridbill.passwords import WeakPassword, check_strength, hash_secret
from gridbill.settings import Settings
from services import audit
from services.errors import Refused
from services.identity import second_factor
from services.identity.sessions import Session, _find_user, _start_session
from store.models import Customer, OutboxMessage, RefreshToken, SignInCode, User

log = logging.getLogger(__name__)

EVENT = "sign_in.code"
PURPOSES = ("sign_in", "reset_password")
PER_ACCOUNT = (3, timedelta(minutes=15))
PER_ADDRESS = (5, timedelta(hours=1))
MAX_GUESSES = 5
NOT_RIGHT = "the code is not right, or it has expired: ask for a new one"


def _digest(settings: Settings, user_id: int, code: str) -> str:
    message = f"{user_id}:{code}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


async def request_code(
    settings: Settings, *, login: str, purpose: str, channel: NotificationChannel
) -> None:
    """Send a code if ``login`` is someone's e-mail or phone; silent if it is nobody's."""
    if purpose not in PURPOSES:
        raise Refused(
            "INVALID_INPUT", f"purpose must be one of {', '.join(PURPOSES)}", field="purpose"
        )
    if channel not in (NotificationChannel.EMAIL, NotificationChannel.SMS):
        raise Refused("INVALID_INPUT", "codes go by e-mail or SMS", field="channel")
    address = login.strip().lower()
    now = datetime.now(UTC)
    limit, window = PER_ADDRESS
    if await SignInCode.filter(address=address, created_at__gte=now - window).count() >= limit:
        raise _throttled(window)
    user = await _find_user(login)
    if user is None or not user.is_active:
        return
    to = user.email if channel == NotificationChannel.EMAIL else user.phone
    if not to:
        return
    limit, window = PER_ACCOUNT
    if await SignInCode.filter(user_id=user.id, created_at__gte=now - window).count() >= limit:
        raise _throttled(window)
    code = f"{secrets.randbelow(10**6):06d}"
    async with in_transaction():
        row = await SignInCode.create(
            user_id=user.id, purpose=purpose, channel=channel, address=address,
            code_hash=_digest(settings, user.id, code),
            expires_at=now + timedelta(seconds=settings.sign_in_code_ttl_s),
        )  # fmt: skip
        customer = await Customer.get_or_none(id=user.customer_id or 0)  # type: ignore[attr-defined]
        await OutboxMessage.create(
            event=EVENT, channel=channel, user_id=user.id, customer_id=user.customer_id,  # type: ignore[attr-defined]
            recipient=to, language=(customer.language if customer else None) or "en",
            payload={"code": code, "purpose": purpose, "customer_name": user.full_name,
                     "minutes": settings.sign_in_code_ttl_s // 60},
            dedupe_key=f"{EVENT}:{row.id}:{channel}", next_attempt_at=now,
        )  # fmt: skip
    log.info("sign-in code #%s sent to user %s by %s", row.id, user.id, channel)


def _throttled(window: timedelta) -> Refused:
    minutes = int(window.total_seconds() // 60)
    return Refused(
        "TOO_MANY_ATTEMPTS", f"too many codes asked for: try again in up to {minutes} minutes",
        retry_after_s=int(window.total_seconds()),
    )  # fmt: skip


async def _use(settings: Settings, *, login: str, code: str, purpose: str) -> User:
    """The person the code was sent to; the code is spent. Refused alike for every failure."""
    user = await _find_user(login)
    now = datetime.now(UTC)
    row = None
    if user is not None and user.is_active:
        row = (
            await SignInCode.filter(
                user_id=user.id, purpose=purpose, used_at__isnull=True, expires_at__gt=now
            )
            .order_by("-id")
            .first()
        )
    if user is None or row is None or row.failed_attempts >= MAX_GUESSES:
        raise Refused("INVALID_CREDENTIALS", NOT_RIGHT, field="code")
    if not hmac.compare_digest(row.code_hash, _digest(settings, user.id, code.strip())):
        await SignInCode.filter(id=row.id).update(failed_attempts=row.failed_attempts + 1)
        raise Refused("INVALID_CREDENTIALS", NOT_RIGHT, field="code")
    if not await SignInCode.filter(id=row.id, used_at__isnull=True).update(used_at=now):
        raise Refused("INVALID_CREDENTIALS", NOT_RIGHT, field="code")
    return user


async def sign_in_with_code(
    settings: Settings, *, login: str, code: str, user_agent: str = ""
) -> Session:
    user = await _use(settings, login=login, code=code, purpose="sign_in")
    if user.totp_enabled_at is not None or second_factor.required(settings, user):
        # A code by SMS or e-mail is one factor: it must not stand in for two.
        raise Refused(
            second_factor.TOTP_REQUIRED,
            "this account signs in with its password and a second factor, not with a code",
        )
    now = datetime.now(UTC)
    async with in_transaction():
        await User.filter(id=user.id).update(
            last_sign_in_at=now, failed_sign_ins=0, locked_until=None
        )
        await audit.record(
            actor_id=user.id, action="user.signed_in_with_code", entity="user", entity_id=user.id
        )
        return await _start_session(settings, user, user_agent=user_agent, now=now)


async def reset_password_with_code(
    settings: Settings, *, login: str, code: str, new_password: str, user_agent: str = ""
) -> Session:
    """Set a new password with a reset code; every other session of the person ends."""
    try:
        check_strength(new_password)
    except WeakPassword as exc:
        raise Refused("WEAK_PASSWORD", str(exc), field="newPassword") from None
    user = await _use(settings, login=login, code=code, purpose="reset_password")
    now = datetime.now(UTC)
    new_hash = await asyncio.to_thread(hash_secret, new_password)
    async with in_transaction():
        await User.filter(id=user.id).update(
            password_hash=new_hash, password_changed_at=now, failed_sign_ins=0, locked_until=None
        )
        await RefreshToken.filter(user_id=user.id, revoked_at__isnull=True).update(revoked_at=now)
        await audit.record(
            actor_id=user.id, action="user.password_reset", entity="user", entity_id=user.id
        )
        return await _start_session(settings, user, user_agent=user_agent, now=now)

"""Signing up, signing in and out, refresh-token rotation, password changes and partners' tokens.

* Passwords and client secrets are Argon2id hashes (``gridbill.passwords``), verified in a
  worker thread so a sign-in does not stall every other request for ~50 ms.
* Refresh tokens are 256 random bits, stored as SHA-256. Each use rotates it: the old one
  is marked replaced and a new one of the same *family* is issued. Presenting a token
  that was already used is theft or a bug; either way the whole family is revoked.
* Wrong passwords are throttled per client address and per (address, login)
  (``services.identity.throttle``), never per account alone, so nobody can lock someone else out.
  An unknown e-mail or phone gets the same answers, at the same pace, as a known one,
  so sign-in never reveals who has an account.
* Staff and admins may have a second factor (``services.identity.second_factor``).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from domain.access import phone_matches, unknown_scopes
from domain.enums import Role
from gridbill.passwords import (
    WeakPassword,
    check_strength,
    hash_secret,
    needs_rehash,
    verify_secret,
)
from gridbill.settings import Settings
from services import audit
from services.errors import Refused
from services.identity import second_factor, throttle, token_standing
from services.identity.tokens import issue_partner_token, issue_user_token
from store.models import (
    Account,
    AccountHolder,
    Customer,
    PartnerClient,
    RefreshToken,
    User,
)

INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


@dataclass(frozen=True)
class Session:
    """What a successful sign-in (or refresh) hands the client."""

    user: User
    access_token: str
    access_expires_in: int
    refresh_token: str
    refresh_expires_at: datetime
    refresh_token_id: int


def _now() -> datetime:
    return datetime.now(UTC)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def normalise_phone(phone: str) -> str:
    kept = "".join(c for c in phone.strip() if c.isdigit() or c == "+")
    return kept if kept.startswith("+") else f"+{kept}"


_dummy_hash: str | None = None


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_secret(secrets.token_urlsafe(16))
    return _dummy_hash


async def _verify(stored_hash: str | None, secret: str) -> bool:
    """Argon2 in a thread; an absent hash costs the same time and fails."""
    ok = await asyncio.to_thread(verify_secret, stored_hash or _dummy(), secret)
    return ok and stored_hash is not None


def _too_many(wait: int) -> Refused:
    return Refused(
        TOO_MANY_ATTEMPTS,
        f"too many failed sign-ins from here: try again in {wait} seconds",
        retry_after_s=wait,
    )


async def _find_user(login: str) -> User | None:
    login = login.strip()
    if "@" in login:
        return await User.get_or_none(email=normalise_email(login))
    return await User.get_or_none(phone=normalise_phone(login))


async def sign_in(
    settings: Settings,
    *,
    login: str,
    password: str,
    totp_code: str | None = None,
    user_agent: str = "",
    address: str = "unknown",
) -> Session:
    """E-mail or phone and password (and a TOTP code if enrolled) → a session.

    Raises Refused, never saying which part was wrong. Failures are throttled by client
    address, and by address and login together (``services.identity.throttle``): a stranger
    cannot lock the owner out, and an unknown login is throttled exactly like a known one.
    """
    rules = throttle.sign_in_rules(settings, address, login)
    if (wait := await throttle.retry_after(settings, rules)) is not None:
        raise _too_many(wait)
    now = _now()
    user = await _find_user(login)
    if user is not None and not (user.is_active and user.password_hash):
        user = None  # answered exactly like an unknown login
    ok = await _verify(user.password_hash if user else None, password)  # Argon2 either way
    if user is None or not ok:
        await throttle.failed(settings, rules)
        if user is not None:
            await User.filter(id=user.id).update(failed_sign_ins=F("failed_sign_ins") + 1)
        raise Refused(INVALID_CREDENTIALS, "the e-mail, phone or password is not right")
    await _second_factor(settings, user, totp_code, rules)
    updates: dict[str, object] = {"failed_sign_ins": 0, "last_sign_in_at": now}
    if user.password_hash and needs_rehash(user.password_hash):
        updates["password_hash"] = await asyncio.to_thread(hash_secret, password)
    async with in_transaction():
        await User.filter(id=user.id).update(**updates)
        return await _start_session(settings, user, user_agent=user_agent, now=now)


async def _second_factor(
    settings: Settings, user: User, code: str | None, rules: list[throttle.Rule]
) -> None:
    """Staff and admins with TOTP need the code; those who must have it (by role or by
    their own flag, ``second_factor.required``) must enrol first."""
    if user.totp_enabled_at is not None:
        if not code:
            raise Refused(
                second_factor.TOTP_REQUIRED,
                "enter the 6-digit code from your authenticator app",
                field="totpCode",
            )
        if not await second_factor.accept_code(user, code):
            await throttle.failed(settings, rules)
            raise Refused(INVALID_CREDENTIALS, "the code is not right", field="totpCode")
    elif second_factor.required(settings, user):
        raise Refused(
            second_factor.TOTP_ENROLMENT_REQUIRED,
            "this account needs a second factor: an operator enrols it with "
            "`gridbill totp enrol EMAIL`",
        )


async def _start_session(
    settings: Settings,
    user: User,
    *,
    user_agent: str,
    now: datetime,
    family: uuid.UUID | None = None,
) -> Session:
    raw = secrets.token_urlsafe(32)  # 256 bits
    expires_at = now + timedelta(seconds=settings.refresh_token_ttl_s)
    token = await RefreshToken.create(
        user_id=user.id,
        token_hash=token_hash(raw),
        family=family or uuid.uuid4(),
        expires_at=expires_at,
        user_agent=user_agent[:300],
    )
    access, ttl = issue_user_token(
        settings,
        user_id=user.id,
        role=Role(user.role),
        customer_id=user.customer_id,  # type: ignore[attr-defined]
        session=str(token.family),
    )
    return Session(user, access, ttl, raw, expires_at, token.id)


async def refresh(settings: Settings, *, refresh_token: str, user_agent: str = "") -> Session:
    """Rotate a refresh token; a second use of one revokes its whole family."""
    now = _now()
    token = await RefreshToken.get_or_none(token_hash=token_hash(refresh_token))
    if token is None or token.expires_at <= now:
        raise Refused("INVALID_TOKEN", "the refresh token is not valid: sign in again")
    if token.revoked_at is not None or token.replaced_by_id is not None:  # type: ignore[attr-defined]
        await revoke_family(token.family, now=now)
        raise Refused(
            "TOKEN_REUSED", "this refresh token was already used: every session of it is signed out"
        )
    user = await User.get_or_none(id=token.user_id)  # type: ignore[attr-defined]
    if user is None or not user.is_active:
        raise Refused("INVALID_TOKEN", "the refresh token is not valid: sign in again")
    async with in_transaction():
        # The conditional update is the lock: of two concurrent refreshes one wins.
        claimed = await RefreshToken.filter(
            id=token.id, revoked_at__isnull=True, replaced_by_id__isnull=True
        ).update(revoked_at=now)
        if not claimed:
            raise Refused("TOKEN_REUSED", "this refresh token was already used")
        session = await _start_session(
            settings, user, user_agent=user_agent or token.user_agent, now=now, family=token.family
        )
        await RefreshToken.filter(id=token.id).update(replaced_by_id=session.refresh_token_id)
    return session


async def revoke_family(family: uuid.UUID, *, now: datetime | None = None) -> int:
    return await RefreshToken.filter(family=family, revoked_at__isnull=True).update(
        revoked_at=now or _now()
    )


async def sign_out(*, user_id: int, refresh_token: str | None, everywhere: bool) -> int:
    """Revoke the session of ``refresh_token`` (or every session); returns tokens revoked.

    Access tokens of the revoked sessions stop working at once in this process and, as
    soon as the event reaches them, in others (``services.identity.token_standing``).
    """
    now = _now()
    try:
        if everywhere:
            return await RefreshToken.filter(user_id=user_id, revoked_at__isnull=True).update(
                revoked_at=now
            )
        if not refresh_token:
            return 0
        token = await RefreshToken.get_or_none(
            token_hash=token_hash(refresh_token), user_id=user_id
        )
        if token is None:
            return 0
        return await revoke_family(token.family, now=now)
    finally:
        await token_standing.changed(user_id)


async def change_password(
    settings: Settings, *, user_id: int, current: str, new: str, user_agent: str = ""
) -> Session:
    """Check the current password, store the new one, end every other session."""
    user = await User.get(id=user_id)
    if not await _verify(user.password_hash, current):
        raise Refused(
            INVALID_CREDENTIALS, "the current password is not right", field="currentPassword"
        )
    try:
        check_strength(new)
    except WeakPassword as exc:
        raise Refused("WEAK_PASSWORD", str(exc), field="newPassword") from None
    if current == new:
        raise Refused(
            "WEAK_PASSWORD",
            "the new password must differ from the current one",
            field="newPassword",
        )
    now = _now()
    new_hash = await asyncio.to_thread(hash_secret, new)
    async with in_transaction():
        await User.filter(id=user.id).update(password_hash=new_hash, password_changed_at=now)
        await RefreshToken.filter(user_id=user.id, revoked_at__isnull=True).update(revoked_at=now)
        await audit.record(
            actor_id=user.id, action="user.password_changed", entity="user", entity_id=user.id
        )
        return await _start_session(settings, user, user_agent=user_agent, now=now)


async def sign_up(
    settings: Settings,
    *,
    account_number: str,
    phone_last_digits: str,
    email: str,
    password: str,
    full_name: str | None = None,
    user_agent: str = "",
    address: str = "unknown",
) -> Session:
    """A customer of record creates their sign-in, proving who they are with the account
    number and the last four digits of the phone the utility has for them.

    Wrong digits are throttled per (client address, account number), 5 an hour, and per
    address like sign-ins: a stranger cannot block the customer's own sign-up.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise Refused("INVALID_INPUT", "give a valid e-mail address", field="email")
    try:
        check_strength(password)
    except WeakPassword as exc:
        raise Refused("WEAK_PASSWORD", str(exc), field="password") from None
    number = account_number.strip()
    rules = throttle.sign_up_rules(settings, address, number)
    if (wait := await throttle.retry_after(settings, rules)) is not None:
        raise Refused(
            TOO_MANY_ATTEMPTS, f"too many attempts from here: try again in {wait} seconds",
            retry_after_s=wait,
        )  # fmt: skip
    customer = await _holder_of(number)
    if customer is None or not phone_matches(customer.phone, phone_last_digits):
        await throttle.failed(settings, rules)
        await audit.record(
            actor_label="anonymous", action="user.sign_up_refused", entity="account",
            entity_id=number[:40], reason="account number and phone digits do not match",
        )  # fmt: skip
        raise Refused(
            "VERIFICATION_FAILED",
            "the account number and phone digits do not match our records",
            field="phoneLastDigits",
        )
    if await User.filter(customer_id=customer.id).exists():
        raise Refused("ALREADY_SIGNED_UP", "this customer has already signed up: sign in instead")
    if await User.filter(email=email).exists():
        raise Refused("EMAIL_TAKEN", "that e-mail address is already used", field="email")
    phone = customer.phone if not await User.filter(phone=customer.phone).exists() else None
    password_hash = await asyncio.to_thread(hash_secret, password)
    now = _now()
    async with in_transaction():
        user = await User.create(
            email=email, phone=phone, full_name=(full_name or customer.name)[:200],
            role=Role.CUSTOMER, password_hash=password_hash, customer_id=customer.id,
            password_changed_at=now, last_sign_in_at=now,
        )  # fmt: skip
        await audit.record(
            actor_id=user.id, action="user.signed_up", entity="customer", entity_id=customer.id
        )
        return await _start_session(settings, user, user_agent=user_agent, now=now)


async def _holder_of(account_number: str) -> Customer | None:
    account = await Account.get_or_none(number=account_number)
    if account is None:
        return None
    holder = await AccountHolder.filter(account_id=account.id, move_out_on__isnull=True).first()
    if holder is None:
        return None
    return await Customer.get(id=holder.customer_id)  # type: ignore[attr-defined]


# --- partner applications ----------------------------------------------------------------


@dataclass(frozen=True)
class PartnerToken:
    access_token: str
    expires_in: int
    scopes: frozenset[str]


async def client_credentials(
    settings: Settings, *, client_id: str, client_secret: str, scope: str | None
) -> PartnerToken:
    """OAuth 2.0 client credentials grant (RFC 6749 §4.4).

    Raises Refused with ``invalid_client`` or ``invalid_scope`` (the RFC's codes).
    """
    client = await PartnerClient.get_or_none(client_id=client_id.strip())
    ok = await _verify(client.secret_hash if client else None, client_secret)
    if client is None or not ok or not client.is_active:
        raise Refused("invalid_client", "client authentication failed")
    granted = frozenset(str(s) for s in client.scopes or ())
    requested = frozenset(scope.split()) if scope else granted
    if unknown_scopes(requested) or not requested <= granted:
        raise Refused("invalid_scope", f"this client may ask for: {' '.join(sorted(granted))}")
    token, ttl = issue_partner_token(settings, partner_id=client.id, scopes=requested)
    return PartnerToken(token, ttl, requested)

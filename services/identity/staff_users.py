"""The utility's own people: staff, admins and meter readers, managed by an administrator.

* **Invite**: a user with no password yet, sent a password-reset code by e-mail
  (``services.identity.sign_in_codes``); until they set a password they cannot sign in.
* **Set role** among staff, admin and meter reader; **deactivate** or reactivate. A
  change of role or a deactivation ends the person's sessions at once in this process
  (``token_standing.forget``) and within ``GRIDBILL_SESSION_CHECK_TTL`` elsewhere.
* **Send a password reset**: a reset code by e-mail, as the person could ask themselves.
* **Require a second factor** of one person, whatever their role (``users.totp_required``,
  checked at every sign-in by ``second_factor.required``). Requiring it ends the person's
  sessions, so from then on they are in only with the factor; until an operator enrols
  one (``gridbill totp enrol EMAIL``) they cannot sign in at all.

Administrators cannot demote or deactivate themselves (nobody would be left to undo it by
mistake). Every change is audited with the administrator as actor. Customers are never
managed here: they sign up themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from domain.enums import NotificationChannel, Role
from gridbill.settings import Settings
from services import audit
from services.errors import NotFound, Refused
from services.identity import sign_in_codes, token_standing
from services.identity.sessions import normalise_email
from services.viewer import Viewer
from store.models import RefreshToken, User

STAFF_ROLES = (Role.STAFF, Role.ADMIN, Role.METER_READER)
FULL_NAME_MAX = 200


def _role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = Role.CUSTOMER
    if role not in STAFF_ROLES:
        raise Refused("INVALID_INPUT", "choose staff, admin or meter reader", field="role")
    return role


async def _person(actor: Viewer, user_id: int, *, changing_self: str | None = None) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None or user.role not in STAFF_ROLES:
        raise NotFound("user", field="userId")
    if changing_self and user.id == actor.user_id:
        raise Refused("INVALID_INPUT", f"you cannot {changing_self} yourself: ask another admin")
    return user


async def invite(
    actor: Viewer, settings: Settings, *, email: str, full_name: str, role: str
) -> User:
    """Create the person without a password and send them a code to set one."""
    address = normalise_email(email)
    if "@" not in address or len(address) > 254:
        raise Refused("INVALID_INPUT", "give a valid e-mail address", field="email")
    name = full_name.strip()
    if not name or len(name) > FULL_NAME_MAX:
        raise Refused("INVALID_INPUT", "give the person's full name", field="fullName")
    chosen = _role(role)
    async with in_transaction():
        if await User.filter(email=address).exists():
            raise Refused("EMAIL_TAKEN", "that e-mail address is already used", field="email")
        user = await User.create(email=address, full_name=name, role=chosen, password_hash=None)
        await audit.record(
            viewer=actor, action="user.invited", entity="user", entity_id=user.id,
            after={"email": address, "role": chosen.value},
        )  # fmt: skip
    await sign_in_codes.request_code(
        settings, login=address, purpose="reset_password", channel=NotificationChannel.EMAIL
    )
    return user


async def set_role(actor: Viewer, *, user_id: int, role: str) -> User:
    user = await _person(actor, user_id, changing_self="change the role of")
    chosen = _role(role)
    async with in_transaction():
        await User.filter(id=user.id).update(role=chosen)
        await audit.record(
            viewer=actor, action="user.role_set", entity="user", entity_id=user.id,
            before={"role": user.role.value}, after={"role": chosen.value},
        )  # fmt: skip
    token_standing.forget(user.id)
    return await User.get(id=user.id)


async def set_active(actor: Viewer, *, user_id: int, active: bool) -> User:
    """Deactivate (ending every session) or reactivate a person."""
    user = await _person(actor, user_id, changing_self=None if active else "deactivate")
    async with in_transaction():
        await User.filter(id=user.id).update(is_active=active)
        if not active:
            await RefreshToken.filter(user_id=user.id, revoked_at__isnull=True).update(
                revoked_at=datetime.now(UTC)
            )
        await audit.record(
            viewer=actor, action="user.activated" if active else "user.deactivated",
            entity="user", entity_id=user.id,
        )  # fmt: skip
    token_standing.forget(user.id)
    return await User.get(id=user.id)


async def send_password_reset(actor: Viewer, settings: Settings, *, user_id: int) -> None:
    user = await _person(actor, user_id)
    if not user.email or not user.is_active:
        raise Refused("INVALID_STATE", "only an active person with an e-mail address gets a code")
    await sign_in_codes.request_code(
        settings, login=user.email, purpose="reset_password", channel=NotificationChannel.EMAIL
    )
    await audit.record(
        viewer=actor, action="user.password_reset_sent", entity="user", entity_id=user.id
    )


async def require_second_factor(actor: Viewer, *, user_id: int, required: bool) -> User:
    """Require (ending every session) or stop requiring a second factor of one person."""
    user = await _person(actor, user_id, changing_self="change the second factor rule of")
    if user.role not in (Role.STAFF, Role.ADMIN):
        raise Refused("INVALID_INPUT", "only staff and admins use a second factor", field="userId")
    async with in_transaction():
        await User.filter(id=user.id).update(totp_required=required)
        if required:
            await RefreshToken.filter(user_id=user.id, revoked_at__isnull=True).update(
                revoked_at=datetime.now(UTC)
            )
        await audit.record(
            viewer=actor, action="user.totp_required" if required else "user.totp_not_required",
            entity="user", entity_id=user.id,
            before={"totp_required": user.totp_required}, after={"totp_required": required},
        )  # fmt: skip
    await token_standing.changed(user.id)
    return await User.get(id=user.id)

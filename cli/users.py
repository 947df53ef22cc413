"""Creating users from the command line (staff, admins, meter readers)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from domain.enums import Role
from gridbill.errors import UserError
from gridbill.passwords import WeakPassword, check_strength, hash_secret
from gridbill.settings import Settings
from store.db import open_database
from store.models import User


class UserInputError(UserError):
    pass


async def create_user(
    settings: Settings,
    *,
    email: str | None,
    phone: str | None,
    full_name: str,
    role: str,
    password: str,
) -> int:
    if not email and not phone:
        raise UserInputError("give --email or --phone: a user signs in with one of them")
    try:
        check_strength(password)
    except WeakPassword as exc:
        raise UserInputError(str(exc)) from None
    email = email.strip().lower() if email else None
    async with open_database(settings.database_url), in_transaction():
        if email and await User.filter(email=email).exists():
            raise UserInputError(f"a user with email {email} already exists")
        if phone and await User.filter(phone=phone).exists():
            raise UserInputError(f"a user with phone {phone} already exists")
        user = await User.create(
            email=email,
            phone=phone,
            full_name=full_name,
            role=Role(role),
            password_hash=hash_secret(password),
        )
        return user.id

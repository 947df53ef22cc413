"""Sign-in help: asking for a one-time code, and using it to sign in or set a password."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from api.schema.enums import NotificationChannel
from api.schema.identity import AuthError


@strawberry.enum(description="What a one-time code is for.")
class SignInCodePurpose(Enum):
    SIGN_IN = "sign_in"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a password


@strawberry.input
class RequestSignInCodeInput:
    login: str = strawberry.field(description="Your e-mail address or phone number.")
    purpose: SignInCodePurpose
    channel: NotificationChannel = strawberry.field(description="EMAIL or SMS.")


@strawberry.type(
    description="The same answer whether or not the address is known: nobody can probe it."
)
class SignInCodeRequested:
    message: str


RequestSignInCodeResult = Annotated[
    SignInCodeRequested | AuthError, strawberry.union("RequestSignInCodeResult")
]


@strawberry.input
class SignInWithCodeInput:
    login: str
    code: str


@strawberry.input
class ResetPasswordWithCodeInput:
    login: str
    code: str
    new_password: str

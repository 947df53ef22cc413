"""Sign-in help without a password: a one-time code by e-mail or SMS (``services.identity.sign_in_codes``)."""

from __future__ import annotations

import strawberry

from api.resolvers.identity import Info, _auth_error, _session
from api.schema.decorators import mutation
from api.schema.identity import AuthResult
from api.schema.sign_in_codes import (
    RequestSignInCodeInput,
    RequestSignInCodeResult,
    ResetPasswordWithCodeInput,
    SignInCodeRequested,
    SignInWithCodeInput,
)
from domain.enums import NotificationChannel
from services.errors import Refused
from services.identity import sign_in_codes

REQUESTED = "if this address belongs to an account, a code is on its way"


@strawberry.type
class SignInCodeMutations:
    @mutation(description="Send a one-time code to sign in or to set a new password.")
    async def request_sign_in_code(
        self, info: Info, input: RequestSignInCodeInput
    ) -> RequestSignInCodeResult:
        try:
            await sign_in_codes.request_code(
                info.context.settings, login=input.login, purpose=input.purpose.value,
                channel=NotificationChannel(input.channel),
            )  # fmt: skip
        except Refused as refusal:
            return _auth_error(refusal)
        return SignInCodeRequested(message=REQUESTED)

    @mutation(description="Sign in with a one-time code instead of a password.")
    async def sign_in_with_code(self, info: Info, input: SignInWithCodeInput) -> AuthResult:
        return await _session(
            sign_in_codes.sign_in_with_code(
                info.context.settings,
                login=input.login,
                code=input.code,
                user_agent=info.context.user_agent,
            )
        )

    @mutation(description="Set a new password with a one-time code; other sessions end.")
    async def reset_password_with_code(
        self, info: Info, input: ResetPasswordWithCodeInput
    ) -> AuthResult:
        return await _session(
            sign_in_codes.reset_password_with_code(
                info.context.settings,
                login=input.login,
                code=input.code,
                new_password=input.new_password,
                user_agent=info.context.user_agent,
            )
        )

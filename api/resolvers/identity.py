"""Signing up, in and out; the signed-in person; notification preferences; partners and consents."""

from __future__ import annotations

import strawberry

from api.context import Context
from api.errors import ApiError
from api.permissions import requires
from api.resolvers.common import id_or_refuse, result
from api.schema.common import error_fields
from api.schema.decorators import field, mutation
from api.schema.identity import (
    AuthError,
    AuthPayload,
    AuthResult,
    ChangePasswordInput,
    ConsentError,
    ConsentResult,
    ConsentSuccess,
    ConsentType,
    CreatePartnerClientInput,
    GrantConsentInput,
    NotificationPreferenceInput,
    NotificationPreferencesError,
    NotificationPreferencesResult,
    NotificationPreferencesSuccess,
    NotificationPreferenceType,
    PartnerClientResult,
    PartnerClientSecret,
    PartnerClientSuccess,
    PartnerClientType,
    PartnerError,
    PartnerSecretResult,
    RefreshSessionInput,
    SignInInput,
    SignOutInput,
    SignOutSuccess,
    SignUpInput,
    TotpConfirmed,
    TotpConfirmResult,
    TotpEnrolment,
    TotpEnrolmentError,
    TotpEnrolmentResult,
    UserType,
)
from domain.access import Operation
from domain.enums import NotificationChannel
from services.errors import Refused
from services.identity import partners, second_factor, sessions
from services.identity.sessions import Session
from services.notifications import preferences as notification_preferences
from store.models import Consent, PartnerClient

Info = strawberry.Info[Context, None]


def _payload(session: Session) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,
        token_type="Bearer",  # noqa: S106 - the OAuth token type, not a secret
        expires_in=session.access_expires_in,
        refresh_token=session.refresh_token,
        refresh_token_expires_at=session.refresh_expires_at,
        user=session.user,  # type: ignore[arg-type]
    )


def _auth_error(refusal: Refused) -> AuthError:
    return AuthError(**error_fields(refusal), retry_after_seconds=refusal.retry_after_s)  # type: ignore[arg-type]


async def _session(work: object) -> AuthPayload | AuthError:
    try:
        session = await work  # type: ignore[misc]
    except Refused as refusal:
        return _auth_error(refusal)
    return _payload(session)


def _throttled(info: Info, answer: AuthPayload | AuthError) -> AuthPayload | AuthError:
    """A throttled answer also goes out as HTTP 429 with Retry-After."""
    if isinstance(answer, AuthError) and answer.retry_after_seconds is not None:
        info.context.too_many_requests(answer.retry_after_seconds)
    return answer


def _person(info: Info) -> int:
    user_id = info.context.viewer.user_id
    if user_id is None:
        raise ApiError("FORBIDDEN", "only a signed-in person can do this")
    return user_id


@strawberry.type
class IdentityQueries:
    @field(description="The signed-in person.", extensions=requires(Operation.VIEW_SELF))
    async def me(self, info: Info) -> UserType:
        user = await info.context.loaders.user.load(_person(info))
        if user is None or not user.is_active:
            raise ApiError("UNAUTHENTICATED", "this account no longer exists: sign in again")
        return user  # type: ignore[return-value]

    @field(
        description="Which notifications you get, per event and channel.",
        extensions=requires(Operation.MANAGE_NOTIFICATIONS),
    )
    async def notification_preferences(self, info: Info) -> list[NotificationPreferenceType]:
        return await notification_preferences.preferences(_person(info))  # type: ignore[return-value]

    @field(
        description="Partner applications you have let read your data.",
        extensions=requires(Operation.MANAGE_CONSENTS),
    )
    async def my_consents(self, info: Info) -> list[ConsentType]:
        customer_id = info.context.viewer.customer_id
        rows = (
            await Consent.filter(customer_id=customer_id).order_by("-granted_at")
            if customer_id
            else []
        )
        return rows  # type: ignore[return-value]

    @field(
        description="Every partner application (admins).",
        extensions=requires(Operation.MANAGE_PARTNERS),
    )
    async def partner_clients(self, info: Info) -> list[PartnerClientType]:
        return await PartnerClient.all().order_by("name")  # type: ignore[return-value]


@strawberry.type
class IdentityMutations:
    @mutation(
        description="A customer of record signs up: account number + last 4 digits of their phone."
    )
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthResult:
        return _throttled(
            info,
            await _session(
                sessions.sign_up(
                    info.context.settings,
                    account_number=input.account_number,
                    phone_last_digits=input.phone_last_digits,
                    email=input.email,
                    password=input.password,
                    full_name=input.full_name,
                    user_agent=info.context.user_agent,
                    address=info.context.client_address,
                )
            ),
        )

    @mutation(
        description="Sign in with e-mail or phone and password (and a TOTP code if enrolled). "
        "Too many failures from one address answer TOO_MANY_ATTEMPTS, and HTTP 429 with "
        "Retry-After."
    )
    async def sign_in(self, info: Info, input: SignInInput) -> AuthResult:
        return _throttled(
            info,
            await _session(
                sessions.sign_in(
                    info.context.settings,
                    login=input.login,
                    password=input.password,
                    totp_code=input.totp_code,
                    user_agent=info.context.user_agent,
                    address=info.context.client_address,
                )
            ),
        )

    @mutation(
        description="Staff and admins: start adding a second factor (TOTP). Add the key to an "
        "authenticator app, then confirmTotpEnrolment with a code it shows.",
        extensions=requires(Operation.VIEW_SELF),
    )
    async def start_totp_enrolment(self, info: Info) -> TotpEnrolmentResult:
        try:
            secret, uri = await second_factor.start_enrolment(_person(info))
        except Refused as refusal:
            return TotpEnrolmentError(**error_fields(refusal))  # type: ignore[arg-type]
        return TotpEnrolment(secret=secret, otpauth_uri=uri)

    @mutation(
        description="Switch the second factor on with a code from the authenticator app. "
        "From then on signIn needs totpCode.",
        extensions=requires(Operation.VIEW_SELF),
    )
    async def confirm_totp_enrolment(self, info: Info, code: str) -> TotpConfirmResult:
        try:
            await second_factor.confirm_enrolment(_person(info), code)
        except Refused as refusal:
            return TotpEnrolmentError(**error_fields(refusal))  # type: ignore[arg-type]
        return TotpConfirmed(enabled=True)

    @mutation(description="Exchange a refresh token for a new session (the old token is spent).")
    async def refresh_session(self, info: Info, input: RefreshSessionInput) -> AuthResult:
        return await _session(
            sessions.refresh(
                info.context.settings,
                refresh_token=input.refresh_token,
                user_agent=info.context.user_agent,
            )
        )

    @mutation(
        description="End this session (or every session). Access tokens lapse within minutes.",
        extensions=requires(Operation.VIEW_SELF),
    )
    async def sign_out(self, info: Info, input: SignOutInput) -> SignOutSuccess:
        ended = await sessions.sign_out(
            user_id=_person(info), refresh_token=input.refresh_token, everywhere=input.everywhere
        )
        return SignOutSuccess(sessions_ended=ended)

    @mutation(
        description="Change your password; every other session is signed out.",
        extensions=requires(Operation.CHANGE_PASSWORD),
    )
    async def change_password(self, info: Info, input: ChangePasswordInput) -> AuthResult:
        return await _session(
            sessions.change_password(
                info.context.settings,
                user_id=_person(info),
                current=input.current_password,
                new=input.new_password,
                user_agent=info.context.user_agent,
            )
        )

    @mutation(extensions=requires(Operation.MANAGE_NOTIFICATIONS))
    async def update_notification_preferences(
        self, info: Info, preferences: list[NotificationPreferenceInput]
    ) -> NotificationPreferencesResult:
        changes = [
            notification_preferences.Preference(p.event, NotificationChannel(p.channel), p.enabled)
            for p in preferences
        ]
        return await result(
            lambda: notification_preferences.set_preferences(_person(info), changes),
            lambda prefs: NotificationPreferencesSuccess(preferences=prefs),  # type: ignore[arg-type]
            NotificationPreferencesError,
        )

    @mutation(
        description="Let a partner application read your data (scopes you choose).",
        extensions=requires(Operation.MANAGE_CONSENTS),
    )
    async def grant_consent(self, info: Info, input: GrantConsentInput) -> ConsentResult:
        viewer = info.context.viewer

        async def work() -> Consent:
            account = (
                id_or_refuse(input.account_id, "account", "accountId") if input.account_id else None
            )
            return await partners.grant_consent(
                viewer, customer_id=viewer.customer_id or 0, client_id=input.client_id,
                account_id=account, scopes=input.scopes, expires_at=input.expires_at,
            )  # fmt: skip

        return await result(work, lambda c: ConsentSuccess(consent=c), ConsentError)  # type: ignore[arg-type]

    @mutation(extensions=requires(Operation.MANAGE_CONSENTS))
    async def revoke_consent(self, info: Info, consent_id: strawberry.ID) -> ConsentResult:
        viewer = info.context.viewer

        async def work() -> Consent:
            return await partners.revoke_consent(
                viewer, customer_id=viewer.customer_id or 0,
                consent_id=id_or_refuse(consent_id, "consent", "consentId"),
            )  # fmt: skip

        return await result(work, lambda c: ConsentSuccess(consent=c), ConsentError)  # type: ignore[arg-type]

    @mutation(
        description="Register a partner application; its secret is in the answer, once.",
        extensions=requires(Operation.MANAGE_PARTNERS),
    )
    async def create_partner_client(
        self, info: Info, input: CreatePartnerClientInput
    ) -> PartnerSecretResult:
        return await result(
            lambda: partners.create_client(
                info.context.viewer,
                name=input.name,
                scopes=input.scopes,
                contact_email=input.contact_email,
            ),
            lambda pair: PartnerClientSecret(partner_client=pair[0], client_secret=pair[1]),  # type: ignore[arg-type]
            PartnerError,
        )

    @mutation(
        description="Issue a new secret; the old one stops working.",
        extensions=requires(Operation.MANAGE_PARTNERS),
    )
    async def rotate_partner_secret(
        self, info: Info, partner_id: strawberry.ID
    ) -> PartnerSecretResult:
        return await result(
            lambda: partners.rotate_secret(
                info.context.viewer,
                partner_id=id_or_refuse(partner_id, "partner client", "partnerId"),
            ),
            lambda pair: PartnerClientSecret(partner_client=pair[0], client_secret=pair[1]),  # type: ignore[arg-type]
            PartnerError,
        )

    @mutation(extensions=requires(Operation.MANAGE_PARTNERS))
    async def set_partner_scopes(
        self, info: Info, partner_id: strawberry.ID, scopes: list[str]
    ) -> PartnerClientResult:
        return await result(
            lambda: partners.set_scopes(
                info.context.viewer,
                partner_id=id_or_refuse(partner_id, "partner client", "partnerId"),
                scopes=scopes,
            ),
            lambda client: PartnerClientSuccess(partner_client=client),  # type: ignore[arg-type]
            PartnerError,
        )

    @mutation(
        description="Turn a partner's access off (or on again).",
        extensions=requires(Operation.MANAGE_PARTNERS),
    )
    async def set_partner_active(
        self, info: Info, partner_id: strawberry.ID, active: bool
    ) -> PartnerClientResult:
        return await result(
            lambda: partners.set_active(
                info.context.viewer,
                partner_id=id_or_refuse(partner_id, "partner client", "partnerId"),
                active=active,
            ),
            lambda client: PartnerClientSuccess(partner_client=client),  # type: ignore[arg-type]
            PartnerError,
        )

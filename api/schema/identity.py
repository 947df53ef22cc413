"""Who is signed in, sessions, notification preferences, partner applications and consents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.common import Error
from api.schema.customers import CustomerType
from api.schema.decorators import field
from api.schema.enums import NotificationChannel, Role

Info = strawberry.Info[Context, None]


@strawberry.type(name="User", description="A person who signs in.")
class UserType:
    id: ID
    email: str | None
    phone: str | None
    full_name: str
    role: Role
    last_sign_in_at: datetime | None

    @field(description="The customer record of a signed-up customer.")
    async def customer(self, info: Info) -> CustomerType | None:
        customer_id = self.customer_id  # type: ignore[attr-defined]
        return await info.context.loaders.customer.load(customer_id) if customer_id else None  # type: ignore[return-value]


@strawberry.type(
    description="A signed-in session: send `accessToken` as `Authorization: Bearer …`."
)
class AuthPayload:
    access_token: str
    token_type: str = strawberry.field(description="Always `Bearer`.")
    expires_in: int = strawberry.field(description="Seconds the access token is valid for.")
    refresh_token: str = strawberry.field(
        description="Exchange it for a new session with `refreshSession` before it expires; single use."
    )
    refresh_token_expires_at: datetime
    user: UserType


@strawberry.type(description="Why signing in, up or out did not work.")
class AuthError(Error):
    retry_after_seconds: int | None = strawberry.field(
        default=None, description="With TOO_MANY_ATTEMPTS: wait this long."
    )


AuthResult = Annotated[AuthPayload | AuthError, strawberry.union("AuthResult")]


@strawberry.input
class SignUpInput:
    account_number: str = strawberry.field(description="As printed on a bill.")
    phone_last_digits: str = strawberry.field(
        description="The last 4 digits of the phone the utility has on record."
    )
    email: str
    password: str = strawberry.field(description="At least 10 characters.")
    full_name: str | None = None


@strawberry.input
class SignInInput:
    login: str = strawberry.field(description="E-mail address or phone number.")
    password: str
    totp_code: str | None = strawberry.field(
        default=None,
        description="The 6-digit code of your authenticator app, if you enrolled one "
        "(staff and admins). Without it such a sign-in answers TOTP_REQUIRED.",
    )


@strawberry.type(description="A second-factor key to add to an authenticator app.")
class TotpEnrolment:
    secret: str = strawberry.field(description="The key (base32), for typing in by hand.")
    otpauth_uri: str = strawberry.field(description="The same as an otpauth:// URI (QR code).")


@strawberry.type
class TotpEnrolmentError(Error):
    pass


TotpEnrolmentResult = Annotated[
    TotpEnrolment | TotpEnrolmentError, strawberry.union("TotpEnrolmentResult")
]


@strawberry.type
class TotpConfirmed:
    enabled: bool


TotpConfirmResult = Annotated[
    TotpConfirmed | TotpEnrolmentError, strawberry.union("TotpConfirmResult")
]


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.input
class SignOutInput:
    refresh_token: str | None = strawberry.field(default=None, description="The session to end.")
    everywhere: bool = strawberry.field(
        default=False, description="End every session of this user."
    )


@strawberry.type
class SignOutSuccess:
    sessions_ended: int


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.type(description="A notification a person gets, per event and channel.")
class NotificationPreferenceType:
    event: str = strawberry.field(
        description="bill.issued, bill.estimated, payment.captured, payment.failed, refund.processed, "
        "cheque.bounced, late_fee.applied, usage.high, support.updated, dunning.reminder, "
        "dunning.overdue, dunning.disconnection_notice."
    )
    channel: NotificationChannel
    enabled: bool


@strawberry.input
class NotificationPreferenceInput:
    event: str
    channel: NotificationChannel
    enabled: bool


@strawberry.type
class NotificationPreferencesSuccess:
    preferences: list[NotificationPreferenceType]


@strawberry.type
class NotificationPreferencesError(Error):
    pass


NotificationPreferencesResult = Annotated[
    NotificationPreferencesSuccess | NotificationPreferencesError,
    strawberry.union("NotificationPreferencesResult"),
]


# --- partners and consents -------------------------------------------------------------


@strawberry.type(name="PartnerClient", description="A partner application with client credentials.")
class PartnerClientType:
    id: ID
    client_id: str
    name: str
    scopes: list[str]
    is_active: bool
    contact_email: str
    created_at: datetime


@strawberry.type(name="Consent", description="A customer's permission for a partner application.")
class ConsentType:
    id: ID
    scopes: list[str]
    granted_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @field(name="accountId", description="Null: all of the customer's accounts.")
    def consented_account_id(self) -> ID | None:
        account = self.account_id  # type: ignore[attr-defined]
        return ID(str(account)) if account is not None else None

    @strawberry.field
    async def partner_name(self, info: Info) -> str:
        partner = await info.context.loaders.partner_client.load(self.partner_id)  # type: ignore[attr-defined]
        return partner.name if partner else ""

    @strawberry.field
    async def client_id(self, info: Info) -> str:
        partner = await info.context.loaders.partner_client.load(self.partner_id)  # type: ignore[attr-defined]
        return partner.client_id if partner else ""


@strawberry.type(
    description="A new or re-keyed partner client: note the secret now, it is never shown again."
)
class PartnerClientSecret:
    partner_client: PartnerClientType
    client_secret: str


@strawberry.type
class PartnerClientSuccess:
    partner_client: PartnerClientType


@strawberry.type
class PartnerError(Error):
    pass


PartnerSecretResult = Annotated[
    PartnerClientSecret | PartnerError, strawberry.union("PartnerSecretResult")
]
PartnerClientResult = Annotated[
    PartnerClientSuccess | PartnerError, strawberry.union("PartnerClientResult")
]


@strawberry.input
class CreatePartnerClientInput:
    name: str
    scopes: list[str] = strawberry.field(
        description="accounts:read, bills:read, usage:read, payments:read"
    )
    contact_email: str = ""


@strawberry.input
class GrantConsentInput:
    client_id: str = strawberry.field(description="The partner application's client id.")
    scopes: list[str]
    account_id: ID | None = strawberry.field(default=None, description="Null: all your accounts.")
    expires_at: datetime | None = None


@strawberry.type
class ConsentSuccess:
    consent: ConsentType


@strawberry.type
class ConsentError(Error):
    pass


ConsentResult = Annotated[ConsentSuccess | ConsentError, strawberry.union("ConsentResult")]

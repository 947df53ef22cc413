"""Who may sign in: people, partner applications and the consents customers give them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index

from domain.enums import Role

from .base import Timestamped

if TYPE_CHECKING:
    from .customers import Account, Customer


class User(Timestamped):
    """A person who signs in: a customer, a meter reader, staff or an admin.

    Customers found in the utility's records have no user until they sign up, ``customer``
    links the signed-up user to that record.
    """

    id = fields.IntField(primary_key=True)
    email = fields.CharField(max_length=254, null=True, unique=True)
    phone = fields.CharField(max_length=20, null=True, unique=True)
    full_name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=20, db_index=True)
    password_hash = fields.CharField(max_length=200, null=True)
    is_active = fields.BooleanField(default=True)
    customer: fields.ForeignKeyNullableRelation[Customer] = fields.ForeignKeyField(
        "gridbill.Customer", related_name="users", null=True, on_delete=fields.RESTRICT
    )
    failed_sign_ins = fields.IntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    last_sign_in_at = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField(null=True)
    totp_secret = fields.CharField(
        max_length=64, null=True, description="base32 TOTP key, set while enrolling or enrolled"
    )
    totp_enabled_at = fields.DatetimeField(null=True, description="second factor confirmed at")
    totp_last_step = fields.BigIntField(
        default=0, db_default=0, description="last accepted TOTP time step, so a code works once"
    )
    totp_required = fields.BooleanField(
        default=False,
        db_default=False,
        description="an administrator requires a second factor of this person, whatever the role",
    )

    class Meta:
        table = "users"


class RefreshToken(Timestamped):
    """A rotating refresh token, stored as its SHA-256 only, a reused one revokes its family."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "gridbill.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    token_hash = fields.CharField(max_length=64, unique=True)
    family = fields.UUIDField(db_index=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    replaced_by: fields.ForeignKeyNullableRelation[RefreshToken] = fields.ForeignKeyField(
        "gridbill.RefreshToken", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    user_agent = fields.CharField(max_length=300, default="")

    class Meta:
        table = "refresh_tokens"
        indexes = (Index(fields=("user_id", "expires_at")),)


class PartnerClient(Timestamped):
    """A partner application using client credentials, its secret is stored hashed (Argon2)."""

    id = fields.IntField(primary_key=True)
    client_id = fields.CharField(max_length=64, unique=True)
    secret_hash = fields.CharField(max_length=200)
    name = fields.CharField(max_length=200)
    scopes: fields.JSONField[list[Any]] = fields.JSONField(
        default=list, description="granted scopes, e.g. usage:read"
    )
    is_active = fields.BooleanField(default=True)
    contact_email = fields.CharField(max_length=254, default="")

    class Meta:
        table = "partner_clients"


class Consent(Timestamped):
    """A customer's permission for a partner to read some of their accounts' data."""

    id = fields.IntField(primary_key=True)
    partner: fields.ForeignKeyRelation[PartnerClient] = fields.ForeignKeyField(
        "gridbill.PartnerClient", related_name="consents", on_delete=fields.CASCADE
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "gridbill.Customer", related_name="consents", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account",
        related_name="consents",
        null=True,
        on_delete=fields.CASCADE,
        description="null: all of the customer's accounts",
    )
    scopes: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    granted_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "consents"
        unique_together = (("partner", "customer", "account"),)

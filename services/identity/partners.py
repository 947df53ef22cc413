"""Partner applications (admins) and the consents customers give them.

A client's secret is shown once, when created or rotated, and stored only as an Argon2
hash. A partner sees a customer's data only while the customer's consent stands, and
only for the scopes both the client was granted and the customer consented to.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from domain.access import SCOPES, unknown_scopes
from gridbill.passwords import hash_secret
from services import audit
from services.errors import NotFound, Refused
from services.events import publish
from services.viewer import Viewer
from store.models import AccountHolder, Consent, PartnerClient


def _check_scopes(scopes: list[str]) -> list[str]:
    unknown = unknown_scopes(scopes)
    if unknown:
        raise Refused(
            "INVALID_INPUT", f"unknown scopes {', '.join(unknown)}: use {', '.join(sorted(SCOPES))}",
            field="scopes",
        )  # fmt: skip
    if not scopes:
        raise Refused("INVALID_INPUT", "grant at least one scope", field="scopes")
    return sorted(set(scopes))


async def create_client(
    viewer: Viewer, *, name: str, scopes: list[str], contact_email: str = ""
) -> tuple[PartnerClient, str]:
    """A new client; returns it with its secret (shown this once)."""
    if not name.strip():
        raise Refused("INVALID_INPUT", "give the partner's name", field="name")
    granted = _check_scopes(scopes)
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(hash_secret, secret)
    async with in_transaction():
        client = await PartnerClient.create(
            client_id=f"gbp_{secrets.token_hex(8)}", secret_hash=secret_hash, name=name.strip()[:200],
            scopes=granted, contact_email=contact_email.strip()[:254],
        )  # fmt: skip
        await audit.record(
            viewer=viewer, action="partner.created", entity="partner_client", entity_id=client.id,
            after={"client_id": client.client_id, "scopes": granted},
        )  # fmt: skip
    return client, secret


async def _client(partner_id: int) -> PartnerClient:
    client = await PartnerClient.get_or_none(id=partner_id)
    if client is None:
        raise NotFound("partner client", field="partnerId")
    return client


async def set_scopes(viewer: Viewer, *, partner_id: int, scopes: list[str]) -> PartnerClient:
    granted = _check_scopes(scopes)
    async with in_transaction():
        client = await _client(partner_id)
        await PartnerClient.filter(id=partner_id).update(scopes=granted)
        await audit.record(
            viewer=viewer, action="partner.scopes_changed", entity="partner_client",
            entity_id=partner_id, before={"scopes": client.scopes}, after={"scopes": granted},
        )  # fmt: skip
        return await PartnerClient.get(id=partner_id)


async def rotate_secret(viewer: Viewer, *, partner_id: int) -> tuple[PartnerClient, str]:
    secret = secrets.token_urlsafe(32)
    secret_hash = await asyncio.to_thread(hash_secret, secret)
    async with in_transaction():
        await _client(partner_id)
        await PartnerClient.filter(id=partner_id).update(secret_hash=secret_hash)
        await audit.record(
            viewer=viewer,
            action="partner.secret_rotated",
            entity="partner_client",
            entity_id=partner_id,
        )
        return await PartnerClient.get(id=partner_id), secret


async def set_active(viewer: Viewer, *, partner_id: int, active: bool) -> PartnerClient:
    async with in_transaction():
        client = await _client(partner_id)
        await PartnerClient.filter(id=partner_id).update(is_active=active)
        await audit.record(
            viewer=viewer, action="partner.activated" if active else "partner.deactivated",
            entity="partner_client", entity_id=partner_id,
            before={"is_active": client.is_active}, after={"is_active": active},
        )  # fmt: skip
        return await PartnerClient.get(id=partner_id)


async def grant_consent(
    viewer: Viewer, *, customer_id: int, client_id: str, account_id: int | None,
    scopes: list[str], expires_at: datetime | None = None,
) -> Consent:  # fmt: skip
    """A customer lets a partner read (some of) their data; replaces an earlier consent."""
    client = await PartnerClient.get_or_none(client_id=client_id.strip(), is_active=True)
    if client is None:
        raise NotFound("partner application", field="clientId")
    wanted = _check_scopes(scopes)
    offered = set(client.scopes or ())
    if not set(wanted) <= offered:
        raise Refused(
            "INVALID_INPUT",
            f"{client.name} can only be given {', '.join(sorted(offered))}",
            field="scopes",
        )
    if account_id is not None and not await AccountHolder.exists(
        account_id=account_id, customer_id=customer_id, move_out_on__isnull=True
    ):
        raise NotFound("account", field="accountId")
    now = datetime.now(UTC)
    if expires_at is not None and expires_at <= now:
        raise Refused("INVALID_INPUT", "the consent must expire in the future", field="expiresAt")
    async with in_transaction():
        await Consent.filter(
            partner_id=client.id, customer_id=customer_id, account_id=account_id
        ).delete()
        consent = await Consent.create(
            partner=client, customer_id=customer_id, account_id=account_id, scopes=wanted,
            granted_at=now, expires_at=expires_at,
        )  # fmt: skip
        await audit.record(
            viewer=viewer, action="consent.granted", entity="consent", entity_id=consent.id,
            after={"partner": client.client_id, "account_id": account_id, "scopes": wanted},
        )  # fmt: skip
    await publish("consent.changed", customer_id=customer_id, consent_id=consent.id)
    return consent


async def revoke_consent(viewer: Viewer, *, customer_id: int, consent_id: int) -> Consent:
    async with in_transaction():
        consent = await Consent.get_or_none(id=consent_id, customer_id=customer_id)
        if consent is None:
            raise NotFound("consent", field="consentId")
        if consent.revoked_at is None:
            consent.revoked_at = datetime.now(UTC)
            await Consent.filter(id=consent_id).update(revoked_at=consent.revoked_at)
            await audit.record(
                viewer=viewer, action="consent.revoked", entity="consent", entity_id=consent_id
            )
    await publish("consent.changed", customer_id=customer_id, consent_id=consent_id)
    return consent

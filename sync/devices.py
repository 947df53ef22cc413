"""Field devices: enrolment to a meter reader, revocable credentials, request authentication.

A device's credential is random (256 bits), shown once at enrolment and stored as an
Argon2id hash. Verifying Argon2 costs tens of milliseconds, so a successful check is
remembered per process for ``sync_auth_cache_ttl_s`` seconds, keyed by the device and the
SHA-256 of the credential. The revocation check is not cached: every request reads the
device row, so a revoked device is refused on its next request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from domain.enums import Role
from gridbill.passwords import hash_secret, verify_secret
from services.errors import NotFound, Refused
from store.models import AuditLog, FieldDevice, User

DEVICE_UID_PREFIX = "dev_"

_verified: dict[tuple[str, str], float] = {}
"""(device_uid, sha256(credential)) -> monotonic time until which the check stands."""


@dataclass(frozen=True)
class Enrolled:
    device_uid: str
    credential: str
    reader_email: str
    name: str


@dataclass(frozen=True)
class DeviceRow:
    device_uid: str
    name: str
    reader_email: str
    enrolled_at: datetime
    last_seen_at: datetime | None
    revoked_at: datetime | None


class AuthFailed(Exception):
    """The request's device credential is missing, wrong or revoked (HTTP 401)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


async def enroll(*, reader_email: str, name: str, enrolled_by: User | None = None) -> Enrolled:
    """Enrol a new device to a meter reader; the credential is returned this once only."""
    email = reader_email.strip().lower()
    reader = await User.get_or_none(email=email)
    if reader is None:
        raise NotFound(f"user {email}")
    if reader.role != Role.METER_READER or not reader.is_active:
        raise Refused("NOT_A_READER", f"{email} is not an active meter reader")
    if not name.strip():
        raise Refused("BAD_NAME", "give the device a name, e.g. the handset's asset tag")
    device_uid = DEVICE_UID_PREFIX + secrets.token_hex(8)
    credential = secrets.token_urlsafe(32)
    async with in_transaction():
        device = await FieldDevice.create(
            device_uid=device_uid,
            name=name.strip()[:100],
            reader=reader,
            credential_hash=hash_secret(credential),
            enrolled_by=enrolled_by,
        )
        await AuditLog.create(
            actor=enrolled_by,
            actor_label="" if enrolled_by else "cli",
            action="device.enroll",
            entity="field_device",
            entity_id=str(device.id),
            after={"device_uid": device_uid, "reader": email, "name": device.name},
        )
    return Enrolled(device_uid, credential, email, device.name)


async def revoke(*, device_uid: str, revoked_by: User | None = None, reason: str = "") -> bool:
    """Revoke a device's credential at once; False if it was already revoked."""
    async with in_transaction():
        device = await FieldDevice.get_or_none(device_uid=device_uid)
        if device is None:
            raise NotFound(f"device {device_uid}")
        forget(device_uid)
        if device.revoked_at is not None:
            return False
        device.revoked_at = datetime.now(UTC)
        await device.save(update_fields=["revoked_at", "updated_at"])
        await AuditLog.create(
            actor=revoked_by,
            actor_label="" if revoked_by else "cli",
            action="device.revoke",
            entity="field_device",
            entity_id=str(device.id),
            reason=reason,
        )
    return True


async def list_devices(*, reader_email: str | None = None) -> list[DeviceRow]:
    query = FieldDevice.all().select_related("reader").order_by("id")
    if reader_email:
        query = query.filter(reader__email=reader_email.strip().lower())
    return [
        DeviceRow(
            device_uid=d.device_uid,
            name=d.name,
            reader_email=d.reader.email or d.reader.phone or "",
            enrolled_at=d.created_at,
            last_seen_at=d.last_seen_at,
            revoked_at=d.revoked_at,
        )
        for d in await query
    ]


def forget(device_uid: str) -> None:
    """Drop cached verifications of a device (on revocation, in this process)."""
    for key in [k for k in _verified if k[0] == device_uid]:
        del _verified[key]


def parse_authorization(header: str | None) -> tuple[str, str]:
    """``Device UID:CREDENTIAL`` or HTTP Basic with the device UID as the user name."""
    if not header:
        raise AuthFailed("no_credentials", "send Authorization: Device <device_uid>:<credential>")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic":
        try:
            value = base64.b64decode(value, validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):  # binascii.Error, or non-ASCII input
            raise AuthFailed("bad_credentials", "malformed Basic credentials") from None
    elif scheme.lower() != "device":
        raise AuthFailed("bad_credentials", "use the Device or Basic authorization scheme")
    uid, sep, credential = value.partition(":")
    if not sep or not uid or not credential:
        raise AuthFailed("bad_credentials", "credentials must be <device_uid>:<credential>")
    return uid, credential


def claimed_uid(header: str | None) -> str:
    """The device uid a request claims to come from ("" if unreadable), for throttling."""
    try:
        return parse_authorization(header)[0]
    except AuthFailed:
        return ""


async def authenticate(
    header: str | None, *, cache_ttl_s: int, now: datetime | None = None
) -> FieldDevice:
    """The device a request comes from; raises :class:`AuthFailed`.

    Hits the database once per request (the device row, for ``revoked_at`` and the
    reader); Argon2 is verified only when this process has no fresh successful check.
    """
    uid, credential = parse_authorization(header)
    device = await FieldDevice.get_or_none(device_uid=uid).select_related("reader")
    if device is None:
        verify_secret(_dummy_hash(), credential)  # same cost whether or not the device exists
        raise AuthFailed("bad_credentials", "unknown device or wrong credential")
    if device.revoked_at is not None:
        forget(uid)
        raise AuthFailed("revoked", "this device was revoked: ask the office to enrol it again")
    if not device.reader.is_active:
        raise AuthFailed("reader_inactive", "the meter reader of this device is not active")
    key = (uid, hashlib.sha256(credential.encode()).hexdigest())
    clock = time.monotonic()
    if _verified.get(key, 0.0) <= clock:
        if not verify_secret(device.credential_hash, credential):
            raise AuthFailed("bad_credentials", "unknown device or wrong credential")
        if cache_ttl_s > 0:
            _verified[key] = clock + cache_ttl_s
    seen = now or datetime.now(UTC)
    if device.last_seen_at is None or (seen - device.last_seen_at).total_seconds() > 60:
        device.last_seen_at = seen
        await FieldDevice.filter(id=device.id).update(last_seen_at=seen)
    return device


@functools.cache
def _dummy_hash() -> str:
    return hash_secret(secrets.token_urlsafe(16))

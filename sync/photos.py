"""Resumable photo upload: declare a photo, send it in chunks at offsets, resume after a cut.

A device declares a photo by UUID with its size and SHA-256, then sends the bytes with
``PATCH`` at ``Upload-Offset`` = the bytes the server has. A chunk is written only when
it arrived whole, so a cut connection leaves ``bytes_received`` at the last whole chunk,
where the device resumes. The last chunk completes the photo if the SHA-256 matches,
else the upload starts over from zero. Files live in ``<GRIDBILL_VAR_DIR>/photos/``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from store.models import FieldDevice, Photo

CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PhotoError(Exception):
    def __init__(self, status: int, code: str, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class PhotoState:
    uuid: UUID
    size_bytes: int
    bytes_received: int
    complete: bool

    def as_json(self) -> dict[str, object]:
        return {
            "uuid": str(self.uuid),
            "size_bytes": self.size_bytes,
            "bytes_received": self.bytes_received,
            "complete": self.complete,
        }


def _state(photo: Photo) -> PhotoState:
    return PhotoState(
        photo.uuid, photo.size_bytes, photo.bytes_received, photo.completed_at is not None
    )


def photo_path(root: Path, photo_uuid: UUID) -> Path:
    return root / "photos" / f"{photo_uuid}.bin"


async def declare(
    device: FieldDevice,
    *,
    photo_uuid: UUID,
    size_bytes: int,
    sha256: str,
    content_type: str,
    max_bytes: int,
    root: Path,
) -> PhotoState:
    """Start an upload, or find the one already started (idempotent)."""
    if not 0 < size_bytes <= max_bytes:
        raise PhotoError(413, "photo_too_large", f"a photo must be 1 to {max_bytes} bytes")
    if not SHA256.match(sha256):
        raise PhotoError(400, "bad_sha256", "sha256 must be 64 lowercase hex digits")
    if content_type not in CONTENT_TYPES:
        raise PhotoError(
            400, "bad_content_type", f"content_type must be one of {', '.join(CONTENT_TYPES)}"
        )
    photo = await Photo.get_or_none(uuid=photo_uuid)
    if photo is None:
        path = photo_path(root, photo_uuid)
        photo, _ = await Photo.get_or_create(
            uuid=photo_uuid,
            defaults={
                "device_id": device.id,
                "size_bytes": size_bytes,
                "sha256": sha256,
                "content_type": content_type,
                "storage_path": str(path),
            },
        )
    if photo.device_id != device.id:  # type: ignore[attr-defined]
        raise PhotoError(409, "photo_uuid_in_use", "another device uses this photo UUID")
    if photo.size_bytes != size_bytes or photo.sha256 != sha256:
        raise PhotoError(
            409, "photo_changed", "this photo UUID was declared with another size or checksum"
        )
    return _state(photo)


async def status(device: FieldDevice, photo_uuid: UUID) -> PhotoState:
    photo = await Photo.get_or_none(uuid=photo_uuid, device_id=device.id)
    if photo is None:
        raise PhotoError(404, "unknown_photo", "declare the photo first (POST /sync/v1/photos)")
    return _state(photo)


async def append(device: FieldDevice, photo_uuid: UUID, *, offset: int, chunk: bytes) -> PhotoState:
    """Write ``chunk`` at ``offset``, which must be the bytes the server already has."""
    photo = await Photo.get_or_none(uuid=photo_uuid, device_id=device.id)
    if photo is None:
        raise PhotoError(404, "unknown_photo", "declare the photo first (POST /sync/v1/photos)")
    if photo.completed_at is not None:
        return _state(photo)
    if offset != photo.bytes_received:
        raise PhotoError(
            409,
            "wrong_offset",
            f"resume at offset {photo.bytes_received}",
            offset=photo.bytes_received,
        )
    end = offset + len(chunk)
    if end > photo.size_bytes:
        raise PhotoError(400, "too_many_bytes", "the chunk goes past the declared size")
    path = Path(photo.storage_path)
    await asyncio.to_thread(_write_at, path, offset, chunk)
    updated = await Photo.filter(id=photo.id, bytes_received=offset).update(bytes_received=end)
    if not updated:  # another request moved the offset meanwhile
        fresh = await Photo.get(id=photo.id)
        raise PhotoError(
            409,
            "wrong_offset",
            f"resume at offset {fresh.bytes_received}",
            offset=fresh.bytes_received,
        )
    if end == photo.size_bytes:
        digest = await asyncio.to_thread(_sha256_of, path)
        if digest != photo.sha256:
            await Photo.filter(id=photo.id).update(bytes_received=0)
            await asyncio.to_thread(_write_at, path, 0, b"")
            raise PhotoError(
                422,
                "checksum_mismatch",
                "the photo's SHA-256 does not match: upload it again from 0",
                offset=0,
            )
        await Photo.filter(id=photo.id).update(completed_at=datetime.now(UTC))
        return PhotoState(photo.uuid, photo.size_bytes, end, True)
    return PhotoState(photo.uuid, photo.size_bytes, end, False)


def _write_at(path: Path, offset: int, chunk: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        os.pwrite(fd, chunk, offset)
        os.ftruncate(fd, offset + len(chunk))
        os.fsync(fd)
    finally:
        os.close(fd)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()

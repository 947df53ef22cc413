"""Resumable photo upload: declare a photo, send it in chunks at offsets, resume after a cut.

The use case; ``sync/photos.py`` is its HTTP transport.

A device declares a photo by UUID with its size and SHA-256, then sends the bytes with
``PATCH`` at ``Upload-Offset`` = the bytes the server has. A chunk is written only when
it arrived whole, so a cut connection leaves ``bytes_received`` at the last whole chunk,
where the device resumes. Files live in ``<GRIDBILL_VAR_DIR>/photos/``.

Two rules make a complete photo trustworthy, whatever runs concurrently:

* **One writer per photo.** A chunk first moves ``bytes_received`` from its offset to its
  end with a conditional ``UPDATE`` in a transaction, and writes its bytes only if that
  claimed the row. The claim holds the row lock (PostgreSQL; the write lock on SQLite)
  until the chunk is written and, for the last chunk, verified, so a second chunk at the
  same offset, in this process or another server process, waits and then finds the
  offset moved (409 ``wrong_offset``): its bytes never reach the file.
* **Verified, then renamed.** Bytes go to ``<uuid>.part``; the last chunk's SHA-256 is
  checked over the whole part file and only a match renames it to ``<uuid>.bin`` (the
  stored path) and marks the photo complete. A complete photo's file is never written
  again.

A photo belongs to the device that declared it first, and once reads or skips name a
photo only a device of one of their readers may declare it (:func:`declare`); a photo is
attached to a read or skip only when its owner is that record's device or a device of
its reader (:func:`attached`).

Refusals are :class:`PhotoRefused` with a stable code; the transport gives each its HTTP
status.
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

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from services.errors import Refused
from store.models import FieldDevice, FieldVisit, Photo, RegisterRead

CONTENT_TYPES = ("image/jpeg", "image/png", "image/webp")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


class PhotoRefused(Refused):
    """A photo request that cannot be done as asked; ``offset`` is where to resume, if known."""

    def __init__(self, code: str, message: str, *, offset: int | None = None) -> None:
        super().__init__(code, message)
        self.offset = offset


@dataclass(frozen=True)
class PhotoState:
    uuid: UUID
    size_bytes: int
    bytes_received: int
    complete: bool


def _state(photo: Photo) -> PhotoState:
    return PhotoState(
        photo.uuid, photo.size_bytes, photo.bytes_received, photo.completed_at is not None
    )


def photo_path(root: Path, photo_uuid: UUID) -> Path:
    return root / "photos" / f"{photo_uuid}.bin"


@dataclass(frozen=True)
class Declaration:
    """A photo's declaration: which photo, how many bytes, their SHA-256, their type."""

    uuid: UUID
    size_bytes: int
    sha256: str
    content_type: str


async def declare(
    device: FieldDevice, declaration: Declaration, *, max_bytes: int, root: Path
) -> PhotoState:
    """Start an upload, or find the one already started (idempotent).

    The first device to declare a photo owns it: declaring again answers its state, and
    another device gets 409 ``photo_uuid_in_use`` (a photo declared before its read
    arrives cannot be taken over by a device that names it in a read of its own). A photo
    not declared yet that reads or skips already name may be declared only by a device of
    one of their readers: 403 ``photo_not_yours`` otherwise.
    """
    size_bytes, sha256 = declaration.size_bytes, declaration.sha256
    if not 0 < size_bytes <= max_bytes:
        raise PhotoRefused("photo_too_large", f"a photo must be 1 to {max_bytes} bytes")
    if not SHA256.match(sha256):
        raise PhotoRefused("bad_sha256", "sha256 must be 64 lowercase hex digits")
    if declaration.content_type not in CONTENT_TYPES:
        raise PhotoRefused(
            "bad_content_type", f"content_type must be one of {', '.join(CONTENT_TYPES)}"
        )
    photo_uuid = declaration.uuid
    path = photo_path(root, photo_uuid)
    fields = {
        "device_id": device.id, "size_bytes": size_bytes, "sha256": sha256,
        "content_type": declaration.content_type, "storage_path": str(path),
    }  # fmt: skip
    for _ in range(2):  # a concurrent first declaration of the same UUID: look again
        photo = await Photo.get_or_none(uuid=photo_uuid)
        if photo is not None:
            break
        try:
            async with in_transaction() as conn:
                namers = await named_by(photo_uuid, conn)
                if namers and not _among(namers, device.id, device.reader_id):  # type: ignore[attr-defined]
                    raise PhotoRefused("photo_not_yours",
                        "a read or skip of another reader names this photo: only its device uploads it",
                    )  # fmt: skip
                photo = await Photo.create(using_db=conn, uuid=photo_uuid, **fields)
        except IntegrityError:
            continue
        break
    if photo is None or photo.device_id != device.id:  # type: ignore[attr-defined]
        raise PhotoRefused("photo_uuid_in_use", "another device uses this photo UUID")
    if photo.size_bytes != size_bytes or photo.sha256 != sha256:
        raise PhotoRefused(
            "photo_changed", "this photo UUID was declared with another size or checksum"
        )
    return _state(photo)


async def named_by(
    photo_uuid: UUID, conn: BaseDBAsyncClient | None = None
) -> list[tuple[int | None, int | None]]:
    """(device id, reader id) of every read and skip that names the photo."""
    reads = (
        await RegisterRead.filter(photo_uuid=photo_uuid)
        .using_db(conn)
        .values_list("device_id", "captured_by_id")
    )
    visits = (
        await FieldVisit.filter(photo_uuid=photo_uuid)
        .using_db(conn)
        .values_list("device_id", "reader_id")
    )
    return [(d, r) for d, r in [*reads, *visits]]


def _among(namers: list[tuple[int | None, int | None]], device_id: int, reader_id: int) -> bool:
    return any(d == device_id or r == reader_id for d, r in namers)


async def attached(
    photo_uuid: UUID, *, device_id: int | None, reader_id: int | None
) -> Photo | None:
    """The photo a read or skip (of this device and reader) names, if it is theirs.

    A record names a photo by UUID, but the photo is its photo only when the device that
    declared it is the record's device or one of its reader's devices: a photo another
    reader's device declared under the same UUID is not attached to it.
    """
    photo = await Photo.get_or_none(uuid=photo_uuid).prefetch_related("device")
    if photo is None:
        return None
    owner: FieldDevice = photo.device
    owner_reader: int = owner.reader_id  # type: ignore[attr-defined]
    if owner.id == device_id or (reader_id is not None and owner_reader == reader_id):
        return photo
    return None


async def status(device: FieldDevice, photo_uuid: UUID) -> PhotoState:
    photo = await Photo.get_or_none(uuid=photo_uuid, device_id=device.id)
    if photo is None:
        raise PhotoRefused("unknown_photo", "declare the photo first (POST /sync/v1/photos)")
    return _state(photo)


async def append(device: FieldDevice, photo_uuid: UUID, *, offset: int, chunk: bytes) -> PhotoState:
    """Write ``chunk`` at ``offset``, which must be the bytes the server already has."""
    photo = await Photo.get_or_none(uuid=photo_uuid, device_id=device.id)
    if photo is None:
        raise PhotoRefused("unknown_photo", "declare the photo first (POST /sync/v1/photos)")
    if photo.completed_at is not None:
        return _state(photo)
    if offset != photo.bytes_received:
        raise _wrong_offset(photo.bytes_received)
    end = offset + len(chunk)
    if end > photo.size_bytes:
        raise PhotoRefused("too_many_bytes", "the chunk goes past the declared size")
    final = Path(photo.storage_path)
    mismatch = False
    async with in_transaction() as conn:
        claimed = (
            await Photo.filter(
                id=photo.id, device_id=device.id, bytes_received=offset, completed_at=None
            )
            .using_db(conn)
            .update(bytes_received=end)
        )
        if claimed:  # this request alone writes the photo until the transaction ends
            part = await asyncio.to_thread(_write_at, final, offset, chunk)
            if end == photo.size_bytes:
                if await asyncio.to_thread(_sha256_of, part) == photo.sha256:
                    await asyncio.to_thread(os.replace, part, final)
                    await (
                        Photo.filter(id=photo.id)
                        .using_db(conn)
                        .update(completed_at=datetime.now(UTC))
                    )
                else:
                    mismatch = True
                    await Photo.filter(id=photo.id).using_db(conn).update(bytes_received=0)
                    await asyncio.to_thread(_write_at, final, 0, b"")
    if not claimed:  # another request moved the offset meanwhile
        fresh = await Photo.get(id=photo.id)
        if fresh.completed_at is not None and fresh.device_id == device.id:  # type: ignore[attr-defined]
            return _state(fresh)
        raise _wrong_offset(fresh.bytes_received)
    if mismatch:
        raise PhotoRefused(
            "checksum_mismatch",
            "the photo's SHA-256 does not match: upload it again from 0",
            offset=0,
        )
    return PhotoState(photo.uuid, photo.size_bytes, end, end == photo.size_bytes)


def _wrong_offset(offset: int) -> PhotoRefused:
    return PhotoRefused("wrong_offset", f"resume at offset {offset}", offset=offset)


def part_path(final: Path) -> Path:
    """Where an upload's bytes gather until they are verified."""
    return final.with_suffix(".part")


def _write_at(final: Path, offset: int, chunk: bytes) -> Path:
    """Write into the part file (made from an unverified ``final`` left by an older
    server, if there is one) and cut it at the chunk's end; returns the part file."""
    part = part_path(final)
    part.parent.mkdir(parents=True, exist_ok=True)
    if offset and not part.exists() and final.exists():
        os.replace(final, part)
    fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o640)
    try:
        os.pwrite(fd, chunk, offset)
        os.ftruncate(fd, offset + len(chunk))
        os.fsync(fd)
    finally:
        os.close(fd)
    return part


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()

"""Photo uploads over HTTP: the declaration's wire format, and each refusal's HTTP status.

The upload itself (declare, resume, write, verify) is the use case
``services/field/photos.py``; docs/sync-protocol.md ("Photos") is the contract.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain import strict_json
from services.field.photos import Declaration, PhotoRefused, PhotoState

DECLARATION = "send a JSON object {uuid, size_bytes, sha256, content_type}"

STATUS = {
    "bad_photo": 400,
    "bad_sha256": 400,
    "bad_content_type": 400,
    "too_many_bytes": 400,
    "photo_not_yours": 403,
    "unknown_photo": 404,
    "photo_uuid_in_use": 409,
    "photo_changed": 409,
    "wrong_offset": 409,
    "photo_too_large": 413,
    "checksum_mismatch": 422,
}
"""The HTTP status of each refusal of a photo request."""


class PhotoError(Exception):
    """A photo request refused, as the HTTP answer gives it."""

    def __init__(self, status: int, code: str, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.offset = offset

    @classmethod
    def of(cls, refused: PhotoRefused) -> PhotoError:
        return cls(STATUS[refused.code], refused.code, refused.message, offset=refused.offset)


def state_json(state: PhotoState) -> dict[str, object]:
    return {
        "uuid": str(state.uuid),
        "size_bytes": state.size_bytes,
        "bytes_received": state.bytes_received,
        "complete": state.complete,
    }


def parse_declaration(body: bytes) -> Declaration:
    """The declaration in a request body, or :class:`PhotoError` naming the field.

    Types are exact: ``size_bytes`` is a JSON integer (not ``"5"``, ``1e3`` or
    ``true``), the three others are strings, and all four are required.
    """
    try:
        data: Any = strict_json.loads(body)
    except (ValueError, RecursionError):
        raise PhotoError(400, "bad_photo", f"not JSON: {DECLARATION}") from None
    if not isinstance(data, dict):
        raise PhotoError(400, "bad_photo", DECLARATION)
    for name in ("uuid", "sha256", "content_type"):
        if not isinstance(data.get(name), str):
            raise PhotoError(400, "bad_photo", f"{name} must be a string: {DECLARATION}")
    size = data.get("size_bytes")
    if type(size) is not int:
        raise PhotoError(
            400,
            "bad_photo",
            f'size_bytes must be a JSON integer (not "5", 1e3 or true): {DECLARATION}',
        )
    try:
        photo_uuid = UUID(data["uuid"])
    except ValueError:
        raise PhotoError(400, "bad_photo", "uuid must be a UUID like 1d4c7a52-…") from None
    return Declaration(photo_uuid, size, data["sha256"], data["content_type"])

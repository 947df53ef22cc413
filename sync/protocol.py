"""The sync protocol's payloads: parsing and validating what a device sends.

A batch that is not a JSON object with a batch id and a list of items is refused as a
whole (:class:`BadBatch`, HTTP 400). Inside a good batch each item is parsed on its own:
a malformed item becomes a :class:`BadItem` that the push answers ``rejected`` with a
reason, and the other items go on. docs/sync-protocol.md is the reference.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain import strict_json
from domain.nesting import NUL, NUL_SYMBOL, json_depth

PROTOCOL_VERSION = 1
MAX_ITEMS = 10_000
MAX_NOTES = 2_000
MAX_TELEGRAM = 8_000
SKIP_CODES = (
    "no_access",
    "premises_locked",
    "meter_damaged",
    "meter_not_found",
    "dog",
    "unsafe",
    "customer_refused",
    "other",
)
READ_SOURCES = ("manual", "probe")
NIL_UUID = UUID(int=0)
MAX_DEPTH = 16
"""Deepest JSON nesting a push may have; a real batch is four levels deep."""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Times outside these bounds are refused as ``bad_time``: no handset clock is that wrong."""
MAX_ECHO = 64


class BadBatch(ValueError):
    """The request as a whole is unusable; nothing was applied."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ItemError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ReadItem:
    uuid: UUID
    register_id: int
    value_milli: int
    captured_at: datetime
    source: str
    raw_telegram: str | None
    photo_uuid: UUID | None
    latitude: float | None
    longitude: float | None
    notes: str
    kind: str = "read"


@dataclass(frozen=True)
class EditItem:
    uuid: UUID
    read_uuid: UUID
    base_revision: int
    value_milli: int
    edited_at: datetime
    notes: str | None
    kind: str = "edit"


@dataclass(frozen=True)
class SkipItem:
    uuid: UUID
    meter_id: int
    visited_at: datetime
    skip_code: str
    notes: str
    latitude: float | None
    longitude: float | None
    photo_uuid: UUID | None
    kind: str = "skip"


@dataclass(frozen=True)
class BadItem:
    uuid: UUID
    kind: str
    code: str
    message: str
    sent_uuid: str | None = None
    """The ``uuid`` exactly as sent when it is not a valid one, echoed so the device can
    match the result to its record."""


Item = ReadItem | EditItem | SkipItem | BadItem


@dataclass(frozen=True)
class Batch:
    batch_uuid: UUID
    device_clock: datetime
    time_zone: str
    app_version: str
    raw_items: list[Any]
    items: list[Item]
    content_sha256: str
    nul_free: bool = False
    """No string of the body holds a NUL (JSON writes one only as ``\\u0000``): the
    items can be stored as sent, without :func:`domain.nesting.without_nul`'s copy."""


def canonical_sha256(value: Any) -> str:
    """SHA-256 of a JSON value written canonically (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_batch(body: bytes) -> Batch:
    try:
        data = strict_json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBatch("bad_json", f"the body is not JSON: {exc}") from None
    except RecursionError:
        raise BadBatch("too_deep", f"the body nests deeper than {MAX_DEPTH} levels") from None
    if json_depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise BadBatch("too_deep", f"the body nests deeper than {MAX_DEPTH} levels")
    if not isinstance(data, dict):
        raise BadBatch("bad_batch", "the body must be a JSON object")
    version = data.get("protocol", PROTOCOL_VERSION)
    if version != PROTOCOL_VERSION:
        raise BadBatch(
            "unsupported_protocol",
            f"protocol {version!r} is not supported (use {PROTOCOL_VERSION})",
        )
    try:
        batch_uuid = _uuid(data.get("batch_id"), "batch_id")
        time_zone = _zone(data.get("time_zone"))
        device_clock = _time(data.get("device_clock"), "device_clock", time_zone)
    except ItemError as exc:
        raise BadBatch(exc.code, exc.message) from None
    items = data.get("items")
    if not isinstance(items, list):
        raise BadBatch("bad_batch", "items must be a list")
    if len(items) > MAX_ITEMS:
        raise BadBatch("too_many_items", f"at most {MAX_ITEMS} items a batch: split it")
    app_version = data.get("app_version", "")
    return Batch(
        batch_uuid=batch_uuid,
        device_clock=device_clock,
        time_zone=time_zone,
        app_version=str(app_version)[:20].replace(NUL, NUL_SYMBOL),
        raw_items=items,
        items=[parse_item(raw, time_zone) for raw in items],
        content_sha256=canonical_sha256(items),
        nul_free=b"\\u0000" not in body,
    )


def sent_uuid(raw: Any) -> str | None:
    """What an item sent as its ``uuid``, if it was a string, cut to a sane length."""
    value = raw.get("uuid") if isinstance(raw, dict) else None
    return value[:MAX_ECHO] if isinstance(value, str) else None


def parse_item(raw: Any, time_zone: str) -> Item:
    if not isinstance(raw, dict):
        return BadItem(NIL_UUID, "", "bad_item", "an item must be a JSON object")
    kind = raw.get("kind")
    kind_text = kind[:12].replace(NUL, NUL_SYMBOL) if isinstance(kind, str) else ""
    try:
        item_uuid = _uuid(raw.get("uuid"), "uuid")
    except ItemError as exc:
        return BadItem(NIL_UUID, kind_text, exc.code, exc.message, sent_uuid(raw))
    try:
        if kind == "read":
            return _read(raw, item_uuid, time_zone)
        if kind == "edit":
            return _edit(raw, item_uuid, time_zone)
        if kind == "skip":
            return _skip(raw, item_uuid, time_zone)
        raise ItemError("bad_kind", f"kind must be read, edit or skip, not {kind_text!r}")
    except ItemError as exc:
        return BadItem(item_uuid, kind_text, exc.code, exc.message)


def _read(raw: dict[str, Any], item_uuid: UUID, zone: str) -> ReadItem:
    _required(raw, "register_id", "value_milli", "captured_at")
    source = raw.get("source", "manual")
    if source not in READ_SOURCES:
        raise ItemError("bad_source", f"source must be manual or probe, not {source!r}")
    sent = raw.get("raw_telegram")
    telegram = _text(
        sent.replace(NUL, NUL_SYMBOL) if isinstance(sent, str) else sent,
        "raw_telegram",
        MAX_TELEGRAM,
        null=True,
    )
    if source == "probe" and not telegram:
        raise ItemError("missing_telegram", "a probe read must carry the probe's raw_telegram")
    latitude, longitude = _position(raw)
    return ReadItem(
        uuid=item_uuid,
        register_id=_int(raw.get("register_id"), "register_id", minimum=1),
        value_milli=_int(raw.get("value_milli"), "value_milli", minimum=0),
        captured_at=_time(raw.get("captured_at"), "captured_at", zone),
        source=source,
        raw_telegram=telegram,
        photo_uuid=_uuid(raw["photo_uuid"], "photo_uuid") if raw.get("photo_uuid") else None,
        latitude=latitude,
        longitude=longitude,
        notes=_text(raw.get("notes"), "notes", MAX_NOTES) or "",
    )


def _edit(raw: dict[str, Any], item_uuid: UUID, zone: str) -> EditItem:
    _required(raw, "read_uuid", "base_revision", "value_milli", "edited_at")
    return EditItem(
        uuid=item_uuid,
        read_uuid=_uuid(raw.get("read_uuid"), "read_uuid"),
        base_revision=_int(raw.get("base_revision"), "base_revision", minimum=1),
        value_milli=_int(raw.get("value_milli"), "value_milli", minimum=0),
        edited_at=_time(raw.get("edited_at"), "edited_at", zone),
        notes=_text(raw.get("notes"), "notes", MAX_NOTES, null=True),
    )


def _skip(raw: dict[str, Any], item_uuid: UUID, zone: str) -> SkipItem:
    _required(raw, "meter_id", "visited_at", "skip_code")
    code = raw.get("skip_code")
    if code not in SKIP_CODES:
        raise ItemError("bad_skip_code", f"skip_code must be one of {', '.join(SKIP_CODES)}")
    latitude, longitude = _position(raw)
    return SkipItem(
        uuid=item_uuid,
        meter_id=_int(raw.get("meter_id"), "meter_id", minimum=1),
        visited_at=_time(raw.get("visited_at"), "visited_at", zone),
        skip_code=code,
        notes=_text(raw.get("notes"), "notes", MAX_NOTES) or "",
        latitude=latitude,
        longitude=longitude,
        photo_uuid=_uuid(raw["photo_uuid"], "photo_uuid") if raw.get("photo_uuid") else None,
    )


def _required(raw: dict[str, Any], *names: str) -> None:
    for name in names:
        if raw.get(name) is None:
            raise ItemError("missing_field", f"{name} is required")


def _uuid(value: Any, name: str) -> UUID:
    if not isinstance(value, str):
        raise ItemError("bad_uuid", f"{name} must be a UUID string")
    try:
        parsed = UUID(value)
    except ValueError:
        raise ItemError("bad_uuid", f"{name} {value!r} is not a UUID") from None
    if parsed == NIL_UUID:
        raise ItemError("bad_uuid", f"{name} must not be the nil UUID")
    return parsed


def _zone(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ItemError("bad_time_zone", "time_zone must be an IANA zone name like Asia/Kolkata")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ItemError("bad_time_zone", f"time_zone {value!r} is not a known IANA zone") from None
    return value


def _time(value: Any, name: str, zone: str) -> datetime:
    if not isinstance(value, str):
        raise ItemError("bad_time", f"{name} must be an ISO 8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ItemError("bad_time", f"{name} {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(zone))
    try:
        plausible = EARLIEST <= parsed < LATEST
    except OverflowError:  # a year-1 time with an offset cannot even be compared
        plausible = False
    if not plausible:
        raise ItemError(
            "bad_time", f"{name} {value!r} is not a plausible time: check the handset's clock"
        )
    return parsed


def _int(value: Any, name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ItemError("bad_number", f"{name} must be a whole number")
    if value < minimum:
        raise ItemError("bad_number", f"{name} must be at least {minimum}")
    if value >= 2**62:
        raise ItemError("bad_number", f"{name} is too large")
    return value


def _text(value: Any, name: str, limit: int, *, null: bool = False) -> str | None:
    if value is None:
        return None if null else ""
    if not isinstance(value, str):
        raise ItemError("bad_text", f"{name} must be a string")
    if len(value) > limit:
        raise ItemError("bad_text", f"{name} is longer than {limit} characters")
    if NUL in value:
        raise ItemError("bad_text", f"{name} must not contain a NUL character")
    return value


def _position(raw: dict[str, Any]) -> tuple[float | None, float | None]:
    lat, lon = raw.get("latitude"), raw.get("longitude")
    if lat is None and lon is None:
        return (None, None)
    for value, name, bound in ((lat, "latitude", 90), (lon, "longitude", 180)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ItemError("bad_position", f"{name} must be a number (give both or neither)")
        if abs(value) > bound:
            raise ItemError("bad_position", f"{name} must be within ±{bound} degrees")
    assert lat is not None and lon is not None
    return (float(lat), float(lon))

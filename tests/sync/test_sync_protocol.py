"""Parsing a pushed batch: whole-batch refusals, per-item rejections, the content hash."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sync.protocol import BadBatch, BadItem, EditItem, ReadItem, SkipItem, parse_batch
from sync.pull import BadCursor, Cursor, decode_cursor


def body(items: list, **extra) -> bytes:  # type: ignore[no-untyped-def, type-arg]
    data = {"protocol": 1, "batch_id": str(uuid.uuid4()), "device_clock": "2026-11-20T11:30:00+05:30",
            "time_zone": "Asia/Kolkata", "items": items, **extra}  # fmt: skip
    return json.dumps(data).encode()


def test_batch_level_refusals() -> None:
    for raw, code in [
        (b"{", "bad_json"),
        (body([{"kind": "read", "value_milli": float("inf")}]), "bad_json"),  # Infinity
        (body([], app_version=float("nan")), "bad_json"),
        (b"[]", "bad_batch"),
        (body([], protocol=2), "unsupported_protocol"),
        (body([], batch_id="nope"), "bad_uuid"),
        (body([], time_zone="Mars/Olympus"), "bad_time_zone"),
        (body([], device_clock="yesterday"), "bad_time"),
        (body({}), "bad_batch"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(BadBatch) as caught:
            parse_batch(raw)
        assert caught.value.code == code


def test_items_of_every_kind() -> None:
    read = {"kind": "read", "uuid": str(uuid.uuid4()), "register_id": 3, "value_milli": 1234,
            "captured_at": "2026-11-20T10:00:00", "source": "probe", "raw_telegram": "/ISK5\\2M550\r\n!",
            "latitude": 18.5, "longitude": 73.8, "photo_uuid": str(uuid.uuid4())}  # fmt: skip
    edit = {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": read["uuid"], "base_revision": 1,
            "value_milli": 1240, "edited_at": "2026-11-20T10:05:00+05:30"}  # fmt: skip
    skip = {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": 7, "skip_code": "dog",
            "visited_at": "2026-11-20T04:40:00Z"}  # fmt: skip
    batch = parse_batch(body([read, edit, skip]))
    parsed_read, parsed_edit, parsed_skip = batch.items
    assert isinstance(parsed_read, ReadItem) and isinstance(parsed_edit, EditItem)
    assert isinstance(parsed_skip, SkipItem)
    # A time without an offset is wall-clock time in the batch's zone.
    assert parsed_read.captured_at.astimezone(UTC) == datetime(2026, 11, 20, 4, 30, tzinfo=UTC)
    assert parsed_edit.edited_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert parsed_skip.visited_at.tzinfo is not None
    assert batch.device_clock == datetime(
        2026, 11, 20, 11, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))
    )


@pytest.mark.parametrize(
    ("item", "code"),
    [
        ("read", "bad_item"),
        ({"kind": "read"}, "bad_uuid"),
        ({"kind": "read", "uuid": str(uuid.UUID(int=0))}, "bad_uuid"),
        ({"kind": "read", "uuid": "U", "register_id": 1}, "bad_uuid"),
        ({"kind": "read", "uuid": "{u}", "register_id": "1", "value_milli": 1, "captured_at": "2026-11-20T10:00:00"}, "bad_number"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": -1, "captured_at": "2026-11-20T10:00:00"}, "bad_number"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": 1.5, "captured_at": "2026-11-20T10:00:00"}, "bad_number"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": 1, "captured_at": "soon"}, "bad_time"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": 1, "captured_at": "2026-11-20T10:00:00", "source": "smart"}, "bad_source"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": 1, "captured_at": "2026-11-20T10:00:00", "source": "probe"}, "missing_telegram"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": 1, "captured_at": "2026-11-20T10:00:00", "latitude": 91, "longitude": 0}, "bad_position"),
        ({"kind": "read", "uuid": "{u}", "register_id": 1, "value_milli": 1, "captured_at": "2026-11-20T10:00:00", "latitude": 18.5}, "bad_position"),
        ({"kind": "skip", "uuid": "{u}", "meter_id": 1, "visited_at": "2026-11-20T10:00:00", "skip_code": "rain"}, "bad_skip_code"),
        ({"kind": "edit", "uuid": "{u}", "read_uuid": "x", "base_revision": 1, "value_milli": 1, "edited_at": "2026-11-20T10:00:00"}, "bad_uuid"),
        ({"kind": "photo", "uuid": "{u}"}, "bad_kind"),
    ],
)  # fmt: skip
def test_malformed_items_are_rejected_alone(item: object, code: str) -> None:
    if isinstance(item, dict) and item.get("uuid") == "{u}":
        item = {**item, "uuid": str(uuid.uuid4())}
    good = {"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": 1, "visited_at": "2026-11-20T10:00:00",
            "skip_code": "no_access"}  # fmt: skip
    bad, ok = parse_batch(body([item, good])).items
    assert isinstance(bad, BadItem) and bad.code == code and bad.message
    assert isinstance(ok, SkipItem)


def test_content_hash_covers_the_items_only() -> None:
    items = [{"kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": 1, "skip_code": "dog",
              "visited_at": "2026-11-20T10:00:00"}]  # fmt: skip
    first = parse_batch(body(items))
    resent = parse_batch(
        json.dumps(
            {**json.loads(body(items)), "device_clock": "2026-11-21T09:00:00+05:30"}, indent=2
        ).encode()
    )
    assert first.content_sha256 == resent.content_sha256
    assert (
        parse_batch(body([{**items[0], "skip_code": "unsafe"}])).content_sha256
        != first.content_sha256
    )


def test_cursors_round_trip_and_foreign_ones_are_refused() -> None:
    at = datetime(2026, 11, 20, 4, 30, 0, 123456, tzinfo=UTC)
    cursor = Cursor((at, 42), None, False)
    assert decode_cursor(cursor.encode()) == cursor
    assert decode_cursor(None) == Cursor(None, None, True)
    for bad in ("%%%", "eyJ4IjoxfQ", "bm90IGpzb24"):
        with pytest.raises(BadCursor):
            decode_cursor(bad)

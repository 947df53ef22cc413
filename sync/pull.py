"""Pull: a device's route changes and reader messages since its cursor, page by page.

Route stops are read in keyset order of ``(updated_at, id)``, messages likewise. The
cursor is opaque to the device: base64url of a small JSON object holding both positions
and whether the device is still on its first, full download. A stop on one of the
reader's routes is sent whole while active and as a tombstone once removed; a stop that
changes while on a route that is *not* the reader's (a meter moved away, a route handed
to another reader) is sent as a tombstone, which a device that never had it ignores.
Every change to what a stop's payload is built from stamps the stop's ``updated_at`` in
the database itself (triggers of migration ``0004_sync_promises``), whichever code made it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from domain import field_conflicts as conflicts
from domain.enums import ReadQuality, ReadSource
from domain.field_conflicts import RegisterFacts
from store.models import (
    Account,
    FieldDevice,
    FieldDeviceRoute,
    Meter,
    MeterInstallation,
    ReaderMessage,
    Register,
    RegisterRead,
    RouteStop,
)

DEFAULT_LIMIT = 200
DEFAULT_SETTLE_S = 5
MAX_LIMIT = 1000
HISTORY = timedelta(days=400)
"""How far back the last two actual reads of a register are looked for."""
ACTUAL_SOURCES = (
    ReadSource.MANUAL,
    ReadSource.PROBE,
    ReadSource.SMART,
    ReadSource.STAFF,
    ReadSource.CUSTOMER,
)


class BadLimit(ValueError):
    """``limit`` is outside 1…MAX_LIMIT (HTTP 400 ``bad_limit``)."""


class BadCursor(ValueError):
    """The cursor was not issued by this server (HTTP 400): pull again without one."""


@dataclass(frozen=True)
class Cursor:
    stop: tuple[datetime, int] | None
    message: tuple[datetime, int] | None
    full: bool
    """Still on the first download: the reader's active stops, and any change since it began."""
    start: tuple[datetime, int] | None = None
    """On the first download: the last stop change settled when it began."""

    def encode(self) -> str:
        data = {
            "s": _dump(self.stop),
            "m": _dump(self.message),
            "f": self.full,
            "h": _dump(self.start),
        }
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _dump(position: tuple[datetime, int] | None) -> list[Any] | None:
    return [position[0].isoformat(), position[1]] if position else None


def decode_cursor(text: str | None) -> Cursor:
    """The cursor a device sent; ``None`` or empty for a first download."""
    if not text:
        return Cursor(None, None, True)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw)
        return Cursor(
            _position(data["s"]), _position(data["m"]), bool(data["f"]), _position(data.get("h"))
        )
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BadCursor("this cursor was not issued by this server: pull without one") from None


def _position(value: Any) -> tuple[datetime, int] | None:
    if value is None:
        return None
    at, ident = value
    parsed = datetime.fromisoformat(at)
    if parsed.tzinfo is None or not isinstance(ident, int):
        raise ValueError("bad position")
    return (parsed, ident)


def _after(position: tuple[datetime, int] | None) -> Q:
    if position is None:
        return Q()
    at, ident = position
    return Q(updated_at__gt=at) | Q(updated_at=at, id__gt=ident)


async def pull(
    device: FieldDevice,
    cursor_text: str | None,
    *,
    limit: int = DEFAULT_LIMIT,
    zone: ZoneInfo,
    settle_s: int = DEFAULT_SETTLE_S,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One page of changes after ``cursor_text``; pass back ``cursor`` until ``has_more`` is false.

    Changes stamped in the last ``settle_s`` seconds are left for the next pull: a
    transaction that stamped ``updated_at`` but has not committed yet would otherwise be
    passed over by a cursor already beyond it.
    """
    now = now or datetime.now(UTC)
    horizon = now - timedelta(seconds=settle_s)
    if not 1 <= limit <= MAX_LIMIT:
        raise BadLimit(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    cursor = decode_cursor(cursor_text)
    reader_id: int = device.reader_id  # type: ignore[attr-defined]
    held: list[int] = await FieldDeviceRoute.filter(device_id=device.id).values_list(  # type: ignore[assignment]
        "route_id", flat=True
    )
    # A device hears of its reader's stops, of removals, and of changes on routes it held;
    # changes on other readers' routes are none of its business.
    relevant = Q(route__reader_id=reader_id) | Q(removed_at__isnull=False)
    if held:
        relevant |= Q(route_id__in=list(held))
    stops_query = RouteStop.filter(relevant, _after(cursor.stop), updated_at__lte=horizon)
    start = cursor.start
    if cursor.full:
        # The first download: every active stop of the reader's, and every stop change
        # since the download began (a stop removed or handed over meanwhile must reach
        # the device as a tombstone). Older changes to other stops are none of its business.
        if start is None and cursor.stop is None:  # beginning (or nothing was settled yet)
            top = (
                await RouteStop.filter(updated_at__lte=horizon)
                .order_by("-updated_at", "-id")
                .first()
                .values("updated_at", "id")
            )
            start = (top["updated_at"], top["id"]) if top else None
        if start is not None:
            stops_query = stops_query.filter(
                Q(route__reader_id=reader_id, removed_at=None) | _after(start)
            )
    stops = await stops_query.order_by("updated_at", "id").limit(limit + 1).select_related("route")
    messages = (
        await ReaderMessage.filter(
            Q(device_id=None) | Q(device_id=device.id),
            _after(cursor.message),
            reader_id=reader_id,
            updated_at__lte=horizon,
        )
        .order_by("updated_at", "id")
        .limit(limit + 1)
    )
    has_more = len(stops) > limit or len(messages) > limit
    stops, messages = stops[:limit], messages[:limit]

    mine = [s for s in stops if s.route.reader_id == reader_id and s.removed_at is None]  # type: ignore[attr-defined]
    gone = [s for s in stops if s not in mine]
    stop_position = (stops[-1].updated_at, stops[-1].id) if stops else cursor.stop
    message_position = (messages[-1].updated_at, messages[-1].id) if messages else cursor.message
    if cursor.full and has_more:
        next_cursor = Cursor(stop_position, message_position, True, start)
    elif cursor.full and stop_position is None and start is None:
        next_cursor = Cursor(None, message_position, True)  # no stop settled yet: begin later
    elif cursor.full:
        # Done: everything up to where the download began has been seen or is not ours.
        if start is not None and (stop_position is None or start > stop_position):
            stop_position = start
        next_cursor = Cursor(stop_position, message_position, False)
    else:
        next_cursor = Cursor(stop_position, message_position, False)
    await _record_pull(device, cursor_text, {s.route_id for s in mine}, set(held), now)  # type: ignore[attr-defined]
    return {
        "protocol": 1,
        "server_time": now.isoformat(),
        "cursor": next_cursor.encode(),
        "has_more": has_more,
        "stops": await _describe_stops(mine, zone=zone, now=now),
        "tombstones": [
            {"stop_id": s.id, "meter_id": s.meter_id, "route": s.route.code}  # type: ignore[attr-defined]
            for s in gone
        ],
        "messages": [
            {
                "id": m.id,
                "body": m.body,
                "sent_at": m.created_at.isoformat(),
                "read_at": m.read_at.isoformat() if m.read_at else None,
            }
            for m in messages
        ],
    }


async def _record_pull(
    device: FieldDevice, cursor_text: str | None, routes: set[int], held: set[int], now: datetime
) -> None:
    """For support: the cursor the device acknowledged and when it pulled; and the routes
    it now holds stops of, so it hears of them after they go to another reader."""
    changes: dict[str, Any] = {"last_pull_at": now}
    if cursor_text and cursor_text != device.pull_cursor:
        changes["pull_cursor"] = cursor_text[:200]
    await FieldDevice.filter(id=device.id).update(**changes)
    new = sorted(routes - held)
    if new:
        await FieldDeviceRoute.bulk_create(
            [FieldDeviceRoute(device_id=device.id, route_id=r) for r in new],
            ignore_conflicts=True,
        )


async def _describe_stops(
    stops: list[RouteStop], *, zone: ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    """Everything a reader needs at each stop, loaded in a fixed number of queries."""
    if not stops:
        return []
    meter_ids = [s.meter_id for s in stops]  # type: ignore[attr-defined]
    meters = {m.id: m for m in await Meter.filter(id__in=meter_ids)}
    registers = await Register.filter(meter_id__in=meter_ids).order_by("meter_id", "obis_code")
    installs = await MeterInstallation.filter(
        meter_id__in=meter_ids, removed_at=None
    ).select_related("service_point__premise")
    by_meter_point = {i.meter_id: i.service_point for i in installs}  # type: ignore[attr-defined]
    accounts = await Account.filter(
        service_point_id__in=[p.id for p in by_meter_point.values()]
    ).order_by("id")
    account_by_point: dict[int, Account] = {}
    for a in accounts:
        current = account_by_point.get(a.service_point_id)  # type: ignore[attr-defined]
        if current is None or a.status == "active":
            account_by_point[a.service_point_id] = a  # type: ignore[attr-defined]
    recent = await _last_two(registers, now)
    out = []
    for stop in stops:
        meter = meters[stop.meter_id]  # type: ignore[attr-defined]
        point = by_meter_point.get(meter.id)
        account = account_by_point.get(point.id) if point else None
        premise = point.premise if point else None
        load = (
            max(account.sanctioned_load_w or 0, account.contract_demand_va or 0)
            if account
            else None
        )
        out.append(
            {
                "stop_id": stop.id,
                "route": {"code": stop.route.code, "name": stop.route.name},
                "sequence": stop.sequence,
                "meter": {
                    "id": meter.id,
                    "serial": meter.serial,
                    "kind": str(meter.kind),
                    "probe_address": meter.probe_address,
                },
                "account": {
                    "number": account.number,
                    "category": str(account.category),
                    "status": str(account.status),
                }
                if account
                else None,
                "premise": {
                    "address": ", ".join(
                        p
                        for p in (
                            premise.address_line1,
                            premise.address_line2,
                            premise.locality,
                            premise.city,
                        )
                        if p
                    ),
                    "postal_code": premise.postal_code,
                    "latitude": premise.latitude,
                    "longitude": premise.longitude,
                    "access_notes": premise.access_notes,
                }
                if premise
                else None,
                "registers": [
                    _register_json(r, recent.get(r.id, []), load, now)
                    for r in registers
                    if r.meter_id == meter.id  # type: ignore[attr-defined]
                ],
            }
        )
    return out


def _register_json(
    register: Register, recent: list[tuple[datetime, int]], load: int | None, now: datetime
) -> dict[str, Any]:
    facts = RegisterFacts(unit=str(register.unit), digits=register.digits, max_load_w=load)
    last = recent[0] if recent else None
    expected = conflicts.expected_range(facts, last, recent[1] if len(recent) > 1 else None, now)
    return {
        "id": register.id,
        "obis_code": register.obis_code,
        "unit": str(register.unit),
        "digits": register.digits,
        "decimals": register.decimals,
        "tou_period": register.tou_period,
        "is_billing": register.is_billing,
        "last_read": {"value_milli": last[1], "read_at": last[0].isoformat()} if last else None,
        "expected": {"low_milli": expected[0], "high_milli": expected[1]} if expected else None,
    }


async def _last_two(
    registers: Iterable[Register], now: datetime
) -> dict[int, list[tuple[datetime, int]]]:
    """The last two actual (not estimated, not rejected) reads of each register, newest first."""
    ids = [r.id for r in registers]
    if not ids:
        return {}
    rows = (
        await RegisterRead.filter(
            register_id__in=ids, read_at__gte=now - HISTORY, source__in=list(ACTUAL_SOURCES)
        )
        .exclude(quality__in=[ReadQuality.ESTIMATED, ReadQuality.REJECTED])
        .order_by("register_id", "-read_at")
        .values("register_id", "read_at", "value_milli")
    )
    out: dict[int, list[tuple[datetime, int]]] = {}
    for row in rows:
        found = out.setdefault(row["register_id"], [])
        if len(found) < 2:
            found.append((row["read_at"], row["value_milli"]))
    return out

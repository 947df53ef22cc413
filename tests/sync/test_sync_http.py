"""The sync endpoint over HTTP: device authentication, pull pages and tombstones, push, photos."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient
from sync_helpers import World, app_for, batch_body, hand_over, move_meter, read_item

from gridbill.settings import Settings
from store.models import ReaderMessage, RouteStop
from sync import devices


def run_db(client: TestClient, work):  # type: ignore[no-untyped-def]
    """Run database work inside the app's own event loop and connection."""
    assert client.portal is not None
    return client.portal.call(work)


def test_device_authentication(settings: Settings, seeded: World) -> None:
    device = seeded.devices["a"]
    credential = seeded.credentials["a"]
    with TestClient(app_for(settings)) as client:
        assert client.get("/sync/v1/pull").status_code == 401
        wrong = client.get(
            "/sync/v1/pull", headers={"Authorization": f"Device {device.device_uid}:nope"}
        )
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_credentials"
        assert wrong.headers["WWW-Authenticate"].startswith("Device")
        assert client.get("/sync/v1/pull", headers=seeded.auth("a")).status_code == 200
        basic = base64.b64encode(f"{device.device_uid}:{credential}".encode()).decode()
        assert (
            client.get("/sync/v1/pull", headers={"Authorization": f"Basic {basic}"}).status_code
            == 200
        )
        # Revocation takes effect on the next request, cached verification or not.
        assert run_db(client, lambda: devices.revoke(device_uid=device.device_uid)) is True
        revoked = client.get("/sync/v1/pull", headers=seeded.auth("a"))
        assert revoked.status_code == 401 and revoked.json()["error"]["code"] == "revoked"
        assert client.get("/sync/v1/pull", headers=seeded.auth("b")).status_code == 200


def pull_all(
    client: TestClient, headers: dict[str, str], cursor: str | None = None, limit: int = 2
):  # type: ignore[no-untyped-def]
    pages = []
    while True:
        params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
        page = client.get("/sync/v1/pull", params=params, headers=headers)
        assert page.status_code == 200, page.text
        body = page.json()
        pages.append(body)
        cursor = body["cursor"]
        if not body["has_more"]:
            return pages, cursor


def test_pull_pages_assignments_messages_and_tombstones(settings: Settings, seeded: World) -> None:
    with TestClient(app_for(settings)) as client:
        run_db(
            client,
            lambda: ReaderMessage.create(reader_id=seeded.reader.id, body="Gate code 1234 at P2"),
        )
        pages, cursor = pull_all(client, seeded.auth("a"))
        stops = [s for p in pages for s in p["stops"]]
        assert [s["meter"]["serial"] for s in stops] == ["M00000", "M00001", "M00002"]
        assert len(pages) == 2 and all(not p["tombstones"] for p in pages)
        first = stops[0]
        assert first["route"]["code"] == "R01" and first["sequence"] == 10
        assert first["account"]["number"] == "A0000"
        assert first["premise"]["access_notes"] == "dog in yard" and first["premise"]["latitude"]
        [register] = first["registers"]
        assert register["obis_code"] == "1.8.0" and register["digits"] == 5
        assert register["last_read"]["value_milli"] == 10_300_000
        expected = register["expected"]
        assert (
            expected["low_milli"] >= 10_300_000 and expected["high_milli"] > expected["low_milli"]
        )
        assert [m["body"] for p in pages for m in p["messages"]] == ["Gate code 1234 at P2"]
        # Nothing new: an empty page, the same position.
        again, cursor2 = pull_all(client, seeded.auth("a"), cursor)
        assert again[0]["stops"] == [] and again[0]["tombstones"] == []

        # A meter moves to the other reader's route; reader two gets its route handed over.
        moved = seeded.meters[1].id
        run_db(
            client, lambda: move_meter(meter_id=moved, route_id=seeded.other_route.id, sequence=5)
        )
        changes, cursor3 = pull_all(client, seeded.auth("a"), cursor2)
        old_stop = next(s["stop_id"] for s in stops if s["meter"]["id"] == moved)
        tombstones = [t for p in changes for t in p["tombstones"]]
        assert old_stop in {t["stop_id"] for t in tombstones}
        assert {t["meter_id"] for t in tombstones} == {moved}
        assert [s for p in changes for s in p["stops"]] == []
        theirs, _ = pull_all(client, seeded.auth("c"))
        assert sorted(s["meter"]["id"] for p in theirs for s in p["stops"]) == sorted(
            [moved, seeded.other_meter.id]
        )
        run_db(
            client, lambda: hand_over(route_id=seeded.other_route.id, reader_id=seeded.reader.id)
        )
        handed, _ = pull_all(client, seeded.auth("a"), cursor3)
        assert sorted(s["meter"]["id"] for p in handed for s in p["stops"]) == sorted(
            [moved, seeded.other_meter.id]
        )
        assert (
            client.get(
                "/sync/v1/pull", params={"cursor": "garbage"}, headers=seeded.auth("a")
            ).status_code
            == 400
        )
        assert run_db(client, lambda: RouteStop.all().count()) == 5  # the move left a tombstone


def test_push_over_http(settings: Settings, seeded: World) -> None:
    now = datetime.now(UTC)
    body = batch_body(
        [read_item(seeded.registers[0], 10_450_000, now - timedelta(hours=1))], device_clock=now
    )
    with TestClient(app_for(settings)) as client:
        first = client.post("/sync/v1/push", json=body, headers=seeded.auth("a"))
        assert first.status_code == 200, first.text
        assert first.json()["results"][0]["result"] == "accepted"
        replay = client.post("/sync/v1/push", json=body, headers=seeded.auth("a"))
        assert replay.json()["replayed"] is True and replay.json()["results"][0]["replayed"] is True
        changed = {**body, "items": [read_item(seeded.registers[1], 1, now)]}
        conflict = client.post("/sync/v1/push", json=changed, headers=seeded.auth("a"))
        assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "batch_conflict"
        bad = client.post("/sync/v1/push", content=b'{"batch_id": ', headers=seeded.auth("a"))
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_json"
        old = client.post("/sync/v1/push", json={**body, "protocol": 0}, headers=seeded.auth("a"))
        assert old.json()["error"]["code"] == "unsupported_protocol"
        huge = client.post(
            "/sync/v1/push",
            content=b"x" * (settings.sync_max_body_bytes + 1),
            headers=seeded.auth("a"),
        )
        assert huge.status_code == 413


def test_resumable_photo_upload(settings: Settings, seeded: World) -> None:
    photo = bytes(range(256)) * 40  # 10,240 bytes
    photo_uuid = str(uuid.uuid4())
    declare = {"uuid": photo_uuid, "size_bytes": len(photo), "sha256": hashlib.sha256(photo).hexdigest(),
               "content_type": "image/jpeg"}  # fmt: skip
    url = f"/sync/v1/photos/{photo_uuid}"
    with TestClient(app_for(settings)) as client:
        auth = seeded.auth("a")
        started = client.post("/sync/v1/photos", content=json.dumps(declare), headers=auth)
        assert started.status_code == 200 and started.json()["bytes_received"] == 0
        assert (
            client.post("/sync/v1/photos", content=json.dumps(declare), headers=auth).status_code
            == 200
        )
        chunk = client.patch(url, content=photo[:4000], headers={**auth, "Upload-Offset": "0"})
        assert chunk.json()["bytes_received"] == 4000
        # The answer was lost and the device resends the same chunk: told where to resume.
        stale = client.patch(url, content=photo[:4000], headers={**auth, "Upload-Offset": "0"})
        assert stale.status_code == 409 and stale.headers["Upload-Offset"] == "4000"
        assert client.head(url, headers=auth).headers["Upload-Offset"] == "4000"
        done = client.patch(url, content=photo[4000:], headers={**auth, "Upload-Offset": "4000"})
        assert done.json() == {"uuid": photo_uuid, "size_bytes": len(photo), "bytes_received": len(photo),
                               "complete": True}  # fmt: skip
        stored = settings.var_dir / "photos" / f"{photo_uuid}.bin"
        assert stored.read_bytes() == photo
        # Another device cannot touch it; a wrong checksum starts over.
        assert client.get(url, headers=seeded.auth("c")).status_code == 404
        other = str(uuid.uuid4())
        bad = {**declare, "uuid": other, "sha256": "0" * 64}
        client.post("/sync/v1/photos", content=json.dumps(bad), headers=auth)
        wrong = client.patch(
            f"/sync/v1/photos/{other}", content=photo, headers={**auth, "Upload-Offset": "0"}
        )
        assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "checksum_mismatch"
        assert client.get(f"/sync/v1/photos/{other}", headers=auth).json()["bytes_received"] == 0


def test_a_stop_removed_during_the_first_download_reaches_the_device(
    settings: Settings, seeded: World
) -> None:
    """Page one carries a stop; before page two the meter moves away: the tombstone must
    still arrive, though the download has not finished."""
    with TestClient(app_for(settings)) as client:
        first = client.get("/sync/v1/pull", params={"limit": "1"}, headers=seeded.auth("a")).json()
        [stop] = first["stops"]
        assert first["has_more"]
        run_db(
            client,
            lambda: move_meter(
                meter_id=stop["meter"]["id"], route_id=seeded.other_route.id, sequence=1
            ),
        )
        rest, _ = pull_all(client, seeded.auth("a"), first["cursor"], limit=1)
        assert stop["stop_id"] in {t["stop_id"] for p in rest for t in p["tombstones"]}
        assert len({s["stop_id"] for p in rest for s in p["stops"]}) == 2

"""The field app's sync client against a real gridbill server over HTTP, on SQLite and
PostgreSQL: enrol, pull, capture, lose the network, kill the handset's process mid-queue
and mid-push, restart, sync, and find every read on the server exactly once."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from field_server import FieldServer
from meter_sim import fixture
from sync_helpers import World, move_meter

from field_app.local_store import LocalStore
from field_app.sync_client import EnrolmentError, SyncClient
from field_app.sync_http import Refused
from store.models import Photo, ReaderMessage, RegisterRead, SyncItem
from sync.devices import revoke

pytestmark = pytest.mark.slow
WORKER = Path(__file__).resolve().parent / "store_worker.py"
TELEGRAM = fixture("iskra_mt174.bin").decode("ascii")
"""A real readout. (One whose BCC byte is 0x00 is stored with the NUL as ␀: see
docs/sync-protocol.md and tests/sync/test_sync_hostile.py.)"""


def printed_credential(world: World, name: str = "a") -> str:
    """What `gridbill device enroll` prints, as staff would paste it."""
    uid = world.devices[name].device_uid
    return f"enrolled device {uid} (handset {name})\ndevice_uid: {uid}\ncredential: {world.credentials[name]}\n"


def handset(tmp_path: Path, srv: FieldServer, world: World) -> SyncClient:
    client = SyncClient(LocalStore(tmp_path / "handset.sqlite3"))
    client.enrol(srv.url, printed_credential(world))
    return client


def server_reads(srv: FieldServer, uuids: list[str]) -> dict[str, int]:
    async def work() -> dict[str, int]:
        rows = await RegisterRead.filter(client_uuid__in=uuids).values_list(
            "client_uuid", flat=True
        )
        out: dict[str, int] = {}
        for u in rows:
            out[str(u)] = out.get(str(u), 0) + 1
        return out

    return srv.query(work)


def test_a_day_offline_with_kills_arrives_exactly_once(
    tmp_path: Path, server: tuple[FieldServer, World]
) -> None:
    srv, world = server
    client = handset(tmp_path, srv, world)
    store = client.store
    report = client.sync_now()
    assert report.error is None and report.stops_received == 3
    stops = store.stops()
    assert [s.meter_serial for s in stops] == ["M00000", "M00001", "M00002"]
    assert stops[0].access_notes == "dog in yard"
    reg = [store.registers(s.stop_id)[0] for s in stops]
    assert reg[0].last_value_milli == 10_300_000 and reg[0].digits == 5
    now = datetime.now(UTC)

    # Online: a manual read and a skip.
    first = store.capture_read(
        register_id=reg[0].register_id, value_milli=10_700_000, captured_at=now
    )
    skip = store.capture_skip(meter_id=stops[1].meter_id, skip_code="dog", visited_at=now)

    # The network goes; more captures, and a sync that cannot reach the server.
    srv.stop()
    probe = store.capture_read(
        register_id=reg[2].register_id, value_milli=10_702_000, captured_at=now, source="probe",
        raw_telegram=TELEGRAM,
    )  # fmt: skip
    offline = client.sync_now()
    assert offline.offline and "no connection" in (offline.error or "")
    assert store.pending_count() == 3

    # The handset's process is killed while capturing...
    with subprocess.Popen(
        [sys.executable, str(WORKER), str(store.path), str(reg[1].register_id), "1000"],
        stdout=subprocess.PIPE, text=True,
    ) as worker:  # fmt: skip
        assert worker.stdout is not None
        captured = [worker.stdout.readline().strip() for _ in range(5)]
        worker.send_signal(signal.SIGKILL)
        captured += worker.stdout.read().split()
    # ...and again right after it wrote its outbound batch, before sending it.
    with subprocess.Popen(
        [sys.executable, str(WORKER), str(store.path), "--build-batch"],
        stdout=subprocess.PIPE, text=True,
    ) as worker:  # fmt: skip
        assert worker.stdout is not None
        batch_id = worker.stdout.readline().split()[1]
        worker.send_signal(signal.SIGKILL)

    # The app starts again; the network comes back.
    restarted = SyncClient(LocalStore(store.path))
    srv.start()
    # The first push reaches the server but its answer is lost (sent here by hand).
    pending = restarted.store.outbound_batch(max_items=500, created_at=now)
    assert pending is not None and pending[0] == batch_id
    body = {"protocol": 1, "batch_id": batch_id, "device_clock": datetime.now(UTC).isoformat(),
            "time_zone": "Asia/Kolkata", "items": pending[1]}  # fmt: skip
    request = urllib.request.Request(
        f"{srv.url}/sync/v1/push", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Device {world.devices['a'].device_uid}:{world.credentials['a']}",
                 "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as lost:
        assert lost.status == 200

    done = restarted.sync_now()
    assert done.error is None, done.error
    assert restarted.store.pending_count() == 0
    lost_items = {i["uuid"] for i in pending[1]}
    assert lost_items == {first, skip, probe}  # built by the offline sync, kept since
    local = restarted.store.captures()
    # Every read the killed process reported is kept (it may have kept one more, killed
    # between its commit and its report).
    reads = [c.uuid for c in local if c.kind == "read"]
    assert reads[: 2 + len(captured)] == [first, probe, *captured]
    assert len(reads) - len(captured) - 2 in (0, 1)
    # The lost answer is replayed from the server's record; the rest is applied now.
    assert {r["uuid"]: r["replayed"] for r in done.results} == {
        c.uuid: c.uuid in lost_items for c in local
    }
    assert {c.state for c in local} == {"done"}
    assert server_reads(srv, reads) == dict.fromkeys(reads, 1)  # every read exactly once

    async def items() -> list[str]:
        return [str(u) for u in await SyncItem.all().values_list("client_uuid", flat=True)]

    sent = srv.query(items)
    assert sorted(sent) == sorted({c.uuid for c in local}) and skip in sent

    # Syncing again sends nothing new.
    assert restarted.sync_now().pushed == 0
    assert server_reads(srv, reads) == dict.fromkeys(reads, 1)


def test_conflict_reaches_the_store_with_the_servers_reason(
    tmp_path: Path, server: tuple[FieldServer, World]
) -> None:
    srv, world = server
    client = handset(tmp_path, srv, world)
    client.sync_now()
    stop = client.store.stops()[1]
    register = client.store.registers(stop.stop_id)[0]
    low = client.store.capture_read(
        register_id=register.register_id, value_milli=5_000_000, captured_at=datetime.now(UTC)
    )
    report = client.sync_now()
    (result,) = report.results
    assert (result["result"], result["rule"]) == ("conflict_resolved", "lower_than_previous")
    capture = client.store.capture(low)
    assert capture is not None
    assert (capture.state, capture.rule) == ("done", "lower_than_previous")
    assert capture.message == result["detail"]["message"]
    assert "re-read the meter" in (capture.message or "")


def test_tombstones_and_messages_arrive(tmp_path: Path, server: tuple[FieldServer, World]) -> None:
    srv, world = server
    client = handset(tmp_path, srv, world)
    client.sync_now()
    assert len(client.store.stops()) == 3

    async def change() -> None:
        await move_meter(meter_id=world.meters[0].id, route_id=world.other_route.id, sequence=5)
        await ReaderMessage.create(reader=world.reader, body="Gate code 1234 at P2")

    srv.query(change)
    report = client.sync_now()
    assert report.error is None
    assert [s.meter_serial for s in client.store.stops()] == ["M00001", "M00002"]
    assert [m["body"] for m in client.store.messages()] == ["Gate code 1234 at P2"]


def test_a_lost_cursor_downloads_the_route_again(
    tmp_path: Path, server: tuple[FieldServer, World]
) -> None:
    srv, world = server
    client = handset(tmp_path, srv, world)
    client.sync_now()
    client.store.put(cursor="not-a-cursor-the-server-issued")
    report = client.sync_now()
    assert report.error is None and report.stops_received == 3
    assert client.store.get("cursor") != "not-a-cursor-the-server-issued"


def test_photo_upload_resumes_where_the_server_is(
    tmp_path: Path, server: tuple[FieldServer, World]
) -> None:
    srv, world = server
    client = handset(tmp_path, srv, world)
    client.sync_now()
    data = os.urandom(600_000)
    photo = tmp_path / "meter.jpg"
    photo.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    photo_uuid = str(uuid.uuid4())
    register = client.store.registers(client.store.stops()[0].stop_id)[0]
    client.store.capture_read(
        register_id=register.register_id, value_milli=10_700_000, captured_at=datetime.now(UTC),
        photo=(photo_uuid, str(photo), len(data), digest, "image/jpeg"),
    )  # fmt: skip
    # An earlier attempt got the first chunk through before the signal went.
    http = client._http()
    http.request("POST", "photos", json_body={"uuid": photo_uuid, "size_bytes": len(data),
                                              "sha256": digest, "content_type": "image/jpeg"})  # fmt: skip
    http.request("PATCH", f"photos/{photo_uuid}", body=data[:100_000],
                 headers={"Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    events: list[tuple[str, int]] = []
    client.on_progress = lambda step, count: events.append((step, count))
    report = client.sync_now()
    assert report.error is None and report.photos_uploaded == 1
    assert events[0] == ("push", 1)
    # Resumed at the server's 100,000 bytes, in 256 KiB chunks.
    assert [c for s, c in events if s == "photo"] == [362_144, 600_000]
    assert events[-1][0] == "pull"
    assert client.store.photos_to_upload() == []

    async def stored() -> Any:
        return await Photo.get(uuid=photo_uuid)

    row = srv.query(stored)
    assert row.completed_at is not None and row.bytes_received == len(data)
    assert Path(row.storage_path).read_bytes() == data


def test_enrolment_refusals(tmp_path: Path, server: tuple[FieldServer, World]) -> None:
    srv, world = server
    client = SyncClient(LocalStore(tmp_path / "h.sqlite3"))
    with pytest.raises(EnrolmentError, match="gridbill device enroll"):
        client.enrol(srv.url, "hello")
    uid = world.devices["a"].device_uid
    with pytest.raises(Refused) as refused:
        client.enrol(srv.url, f"{uid}:{'x' * 43}")
    assert refused.value.code == "bad_credentials"
    assert client.store.get("device_uid") is None
    client.enrol(srv.url, f"{uid}:{world.credentials['a']}")

    async def revoked() -> None:
        await revoke(device_uid=uid, reason="handset lost")

    srv.query(revoked)
    report = client.sync_now()
    assert report.error is not None and report.error.startswith("revoked:")
    assert not report.offline

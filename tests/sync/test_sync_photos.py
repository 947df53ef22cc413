"""Photo uploads (issue 21): exact declarations, photos nobody else can capture, and no
race that leaves a complete photo whose bytes fail its checksum (two server processes)."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient
from sync_helpers import World, app_for, batch_body, read_item

from gridbill.settings import Settings
from services.field import photos
from store.models import FieldVisit, Photo, RegisterRead


def run_db(client: TestClient, work):  # type: ignore[no-untyped-def]
    assert client.portal is not None
    return client.portal.call(work)


def declaration(content: bytes, photo_uuid: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "uuid": photo_uuid or str(uuid.uuid4()), "size_bytes": len(content),
        "sha256": hashlib.sha256(content).hexdigest(), "content_type": "image/jpeg", **extra,
    }  # fmt: skip


def upload(client: Any, auth: dict[str, str], photo_uuid: str, content: bytes) -> Any:
    return client.patch(
        f"/sync/v1/photos/{photo_uuid}", content=content, headers={**auth, "Upload-Offset": "0"}
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"size_bytes": "5"}, "size_bytes must be a JSON integer"),
        ({"size_bytes": 1e3}, "size_bytes must be a JSON integer"),
        ({"size_bytes": 1000.0}, "size_bytes must be a JSON integer"),
        ({"size_bytes": True}, "size_bytes must be a JSON integer"),
        ({"size_bytes": None}, "size_bytes must be a JSON integer"),
        ({"content_type": None}, "content_type must be a string"),
        ({"content_type": ["image/jpeg"]}, "content_type must be a string"),
        ({"sha256": 5}, "sha256 must be a string"),
        ({"uuid": 5}, "uuid must be a string"),
        ({"uuid": "not-a-uuid"}, "uuid must be a UUID"),
    ],
)
def test_loose_declarations_are_refused(
    settings: Settings, seeded: World, change: dict[str, Any], message: str
) -> None:
    content = b"\xff\xd8" * 500
    body = {**declaration(content), **change}
    if change.get("content_type", "") is None:
        del body["content_type"]  # missing altogether, as the issue sent it
    with TestClient(app_for(settings)) as client:
        answer = client.post("/sync/v1/photos", content=json.dumps(body), headers=seeded.auth("a"))
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] == "bad_photo"
        assert message in answer.json()["error"]["message"]
        assert run_db(client, lambda: Photo.all().count()) == 0


def test_declarations_that_are_not_an_object_are_refused(settings: Settings, seeded: World) -> None:
    with TestClient(app_for(settings)) as client:
        for body in (b"", b"[1]", b'"photo"', b"null", b"{" * 3000, b"[" * 2040 + b"]" * 2040):
            answer = client.post("/sync/v1/photos", content=body, headers=seeded.auth("a"))
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_photo"
        good = client.post(
            "/sync/v1/photos", content=json.dumps(declaration(b"x" * 10)), headers=seeded.auth("a")
        )
        assert good.status_code == 200


def push_read(
    client: TestClient, seeded: World, device: str, photo_uuid: str, register: Any = None
) -> None:
    now = datetime.now(UTC)
    item = read_item(
        register or seeded.registers[0], 10_400_000, now - timedelta(hours=1),
        photo_uuid=photo_uuid,
    )  # fmt: skip
    pushed = client.post(
        "/sync/v1/push", json=batch_body([item], device_clock=now), headers=seeded.auth(device)
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["results"][0]["result"] != "rejected", pushed.text


def test_only_the_reader_whose_read_names_a_photo_may_upload_it(
    settings: Settings, seeded: World
) -> None:
    """Device a (reader one) pushes a read naming u5; device c (reader two) may not declare
    u5. Device b, another handset of reader one, may."""
    content = b"meter photo" * 100
    u5 = str(uuid.uuid4())
    with TestClient(app_for(settings)) as client:
        push_read(client, seeded, "a", u5)
        stolen = client.post(
            "/sync/v1/photos",
            content=json.dumps(declaration(content, u5)),
            headers=seeded.auth("c"),
        )
        assert stolen.status_code == 403 and stolen.json()["error"]["code"] == "photo_not_yours"
        assert run_db(client, lambda: Photo.all().count()) == 0
        own = client.post(
            "/sync/v1/photos",
            content=json.dumps(declaration(content, u5)),
            headers=seeded.auth("b"),
        )
        assert own.status_code == 200, own.text
        assert upload(client, seeded.auth("b"), u5, content).json()["complete"] is True
        read = run_db(client, lambda: RegisterRead.get(photo_uuid=u5))
        attached = run_db(
            client,
            lambda: photos.attached(
                uuid.UUID(u5), device_id=read.device_id, reader_id=read.captured_by_id
            ),
        )
        assert attached is not None and attached.completed_at is not None


def test_a_photo_declared_before_its_read_cannot_be_captured(
    settings: Settings, seeded: World
) -> None:
    """Device a declares u6 before its read naming u6 arrives. Device c (reader two) then
    pushes a read naming u6 too and declares it: refused, the photo stays a's, is attached
    to a's read and not to c's."""
    ours, theirs = b"the meter" * 80, b"not the meter" * 50
    u6 = str(uuid.uuid4())
    with TestClient(app_for(settings)) as client:
        first = client.post(
            "/sync/v1/photos", content=json.dumps(declaration(ours, u6)), headers=seeded.auth("a")
        )
        assert first.status_code == 200
        push_read(client, seeded, "c", u6, register=seeded.other_register)
        taken = client.post(
            "/sync/v1/photos", content=json.dumps(declaration(theirs, u6)), headers=seeded.auth("c")
        )
        assert taken.status_code == 409 and taken.json()["error"]["code"] == "photo_uuid_in_use"
        assert upload(client, seeded.auth("c"), u6, theirs).status_code == 404
        # a's own retry of the declaration still answers, though another reader names u6
        again = client.post(
            "/sync/v1/photos", content=json.dumps(declaration(ours, u6)), headers=seeded.auth("a")
        )
        assert again.status_code == 200
        assert upload(client, seeded.auth("a"), u6, ours).json()["complete"] is True
        push_read(client, seeded, "a", u6)
        reads = run_db(client, lambda: RegisterRead.filter(photo_uuid=u6).all())
        by_device = {
            read.device_id: run_db(
                client,
                lambda read=read: photos.attached(
                    uuid.UUID(u6), device_id=read.device_id, reader_id=read.captured_by_id
                ),
            )
            for read in reads
        }
        assert by_device[seeded.devices["a"].id] is not None  # a's read: a's photo
        assert by_device[seeded.devices["c"].id] is None  # c's read names it, gets nothing
        assert (settings.var_dir / "photos" / f"{u6}.bin").read_bytes() == ours


def test_a_skip_names_a_photo_too(settings: Settings, seeded: World) -> None:
    u7 = str(uuid.uuid4())
    now = datetime.now(UTC)
    skip = {
        "kind": "skip", "uuid": str(uuid.uuid4()), "meter_id": seeded.meters[0].id,
        "skip_code": "dog", "visited_at": (now - timedelta(hours=1)).isoformat(), "photo_uuid": u7,
    }  # fmt: skip
    with TestClient(app_for(settings)) as client:
        pushed = client.post(
            "/sync/v1/push", json=batch_body([skip], device_clock=now), headers=seeded.auth("a")
        )
        assert pushed.status_code == 200, pushed.text
        assert run_db(client, lambda: FieldVisit.filter(photo_uuid=u7).count()) == 1
        refused = client.post(
            "/sync/v1/photos",
            content=json.dumps(declaration(b"dog" * 9, u7)),
            headers=seeded.auth("c"),
        )
        assert refused.status_code == 403


def test_a_complete_photo_is_never_written_again(settings: Settings, seeded: World) -> None:
    content = os.urandom(3000)
    body = declaration(content)
    with TestClient(app_for(settings)) as client:
        auth = seeded.auth("a")
        client.post("/sync/v1/photos", content=json.dumps(body), headers=auth)
        assert upload(client, auth, body["uuid"], content).json()["complete"] is True
        late = upload(client, auth, body["uuid"], os.urandom(3000))  # a late duplicate chunk
        assert late.status_code == 200 and late.json()["complete"] is True
        stored = settings.var_dir / "photos" / f"{body['uuid']}.bin"
        assert stored.read_bytes() == content
        assert not stored.with_suffix(".part").exists()


# --- the race, with two server processes ---------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "the server exited early"
        try:
            if httpx2.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("the server never became ready")


PHOTOS = 30
SIZE = 96 * 1024


def test_concurrent_final_chunks_across_two_processes(
    on_postgres: None, seeded: World, settings: Settings, subprocess_env: dict[str, str]
) -> None:
    """Final chunks of different content race on every photo, sent to a server with two
    worker processes: every photo that ends complete holds exactly the declared bytes."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--port", str(port), "--workers", "2"],
        env={**subprocess_env, "GRIDBILL_LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, server)
        auth = seeded.auth("a")
        good = {n: os.urandom(SIZE) for n in range(PHOTOS)}
        ids = {n: str(uuid.uuid4()) for n in range(PHOTOS)}
        half = SIZE // 2
        with httpx2.Client(base_url=base, timeout=60) as client:
            for n in range(PHOTOS):
                declared = client.post(
                    "/sync/v1/photos",
                    content=json.dumps(declaration(good[n], ids[n])),
                    headers=auth,
                )
                assert declared.status_code == 200, declared.text
                first = client.patch(
                    f"/sync/v1/photos/{ids[n]}", content=good[n][:half],
                    headers={**auth, "Upload-Offset": "0"},
                )  # fmt: skip
                assert first.status_code == 200, first.text

        def final(job: tuple[int, bytes]) -> int:
            n, tail = job
            with httpx2.Client(base_url=base, timeout=60) as own:
                answer = own.patch(
                    f"/sync/v1/photos/{ids[n]}", content=tail,
                    headers={**auth, "Upload-Offset": str(half)},
                )  # fmt: skip
            return answer.status_code

        jobs = []
        for n in range(PHOTOS):
            for _ in range(2):  # the right bytes and wrong ones, twice each, all at once
                jobs.append((n, good[n][half:]))
                jobs.append((n, os.urandom(SIZE - half)))
        with ThreadPoolExecutor(max_workers=16) as pool:
            statuses = list(pool.map(final, jobs))
        assert set(statuses) <= {200, 409, 422}, statuses
        complete = 0
        with httpx2.Client(base_url=base, timeout=60) as client:
            for n in range(PHOTOS):
                state = client.get(f"/sync/v1/photos/{ids[n]}", headers=auth).json()
                stored = Path(settings.var_dir) / "photos" / f"{ids[n]}.bin"
                if state["complete"]:
                    complete += 1
                    assert (
                        hashlib.sha256(stored.read_bytes()).digest()
                        == hashlib.sha256(good[n]).digest()
                    ), f"photo {n} is complete but its bytes fail its checksum"
                else:
                    assert not stored.exists()
        assert complete > 0, "no photo completed: the race was not exercised"
    finally:
        server.terminate()
        server.wait(timeout=30)

"""The sync routes inside the real application (api.app.create_app), as the lead mounts them."""

from __future__ import annotations

import dataclasses
import gc
from datetime import UTC, datetime, timedelta

from starlette.routing import Mount
from starlette.testclient import TestClient
from sync_helpers import World, batch_body, read_item

from api.app import create_app, startup_heap_frozen
from gridbill.settings import Settings
from sync.routes import sync_routes


def app_with_sync(settings: Settings):  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(settings, sync_pull_settle_s=0)
    app = create_app(settings)
    if not any(getattr(r, "path", "") == "/sync" for r in app.router.routes):
        app.router.routes.append(Mount("/sync", routes=sync_routes(settings)))
    return app


def test_pull_and_push_through_the_application(settings: Settings, seeded: World) -> None:
    now = datetime.now(UTC)
    body = batch_body(
        [read_item(seeded.registers[0], 10_450_000, now - timedelta(hours=1))], device_clock=now
    )
    with TestClient(app_with_sync(settings)) as client:
        assert client.get("/sync/v1/pull", headers=seeded.auth("a")).json()["stops"]
        pushed = client.post("/sync/v1/push", json=body, headers=seeded.auth("a"))
        assert pushed.status_code == 200 and pushed.json()["results"][0]["result"] == "accepted"


def test_a_push_over_one_mebibyte_through_the_application(
    settings: Settings, seeded: World
) -> None:
    now = datetime.now(UTC)
    items = [
        read_item(seeded.registers[i % 3], 10_400_000 + i, now - timedelta(hours=2) + timedelta(seconds=i),
                  notes="x" * 400)
        for i in range(3000)
    ]  # fmt: skip
    with TestClient(app_with_sync(settings)) as client:
        pushed = client.post(
            "/sync/v1/push", json=batch_body(items, device_clock=now), headers=seeded.auth("a")
        )
        assert pushed.status_code == 200


def test_the_start_up_heap_is_left_out_of_collection_while_a_production_app_serves() -> None:
    """A production app freezes what start-up built (a large push no longer rescans it on
    every full collection) and unfreezes it when it stops."""
    with startup_heap_frozen():
        assert gc.get_freeze_count() > 10_000
    assert gc.get_freeze_count() == 0

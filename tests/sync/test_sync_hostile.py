"""Hostile and broken pushes: each bad item is rejected on its own, a bad batch is a 400
with nothing recorded, and a resend of a batch with bad items answers the same again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.testclient import TestClient
from sync_helpers import NOW, World, app_for, batch_body, read_item
from test_sync_http import run_db

from gridbill.settings import Settings
from store.models import RegisterRead, SyncBatch


def _post(client: TestClient, world: World, body: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = client.post("/sync/v1/push", content=json.dumps(body), headers=world.auth("a"))
    return answer.status_code, answer.json()


def test_bad_items_are_rejected_one_by_one_and_resends_answer_the_same(
    settings: Settings, seeded: World
) -> None:
    register = seeded.registers[0]
    good = read_item(register, 10_450_000, NOW - timedelta(hours=1))
    items = [
        "x",
        None,
        5,
        {"kind": "read", "uuid": "not-a-uuid", "register_id": register.id},
        {**read_item(register, 1, NOW), "captured_at": "0001-01-01T00:00:00+00:00"},
        {**read_item(register, 1, NOW), "captured_at": "9999-12-31T23:59:59-12:00"},
        {"kind": "read", "uuid": str(uuid.uuid4()), "value_milli": 5},
        {**read_item(register, 2**70, NOW)},
        good,
    ]
    body = batch_body(items, device_clock=datetime.now(UTC))
    with TestClient(app_for(settings)) as client:
        status, first = _post(client, seeded, body)
        assert status == 200, first
        results = first["results"]
        assert [r["result"] for r in results] == ["rejected"] * 8 + ["accepted"]
        codes = [r["detail"]["code"] for r in results[:8]]
        assert codes == ["bad_item"] * 3 + [
            "bad_uuid",
            "bad_time",
            "bad_time",
            "missing_field",
            "bad_number",
        ]
        assert results[3]["uuid"] == "not-a-uuid"  # echoed as sent
        assert results[0]["uuid"] is None and results[6]["uuid"] == items[6]["uuid"]  # type: ignore[index]
        status, again = _post(client, seeded, body)
        assert status == 200 and again["replayed"] is True
        assert [r["result"] for r in again["results"]] == [r["result"] for r in results]
        assert [r["uuid"] for r in again["results"]] == [r["uuid"] for r in results]


@pytest.mark.parametrize("clock", ["9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-12:00"])
def test_an_impossible_device_clock_is_refused_and_nothing_recorded(
    settings: Settings, seeded: World, clock: str
) -> None:
    body = {**batch_body([read_item(seeded.registers[0], 10_450_000, NOW)]), "device_clock": clock}
    with TestClient(app_for(settings)) as client:
        status, answer = _post(client, seeded, body)
        assert (status, answer["error"]["code"]) == (400, "bad_time")
        assert run_db(client, lambda: SyncBatch.all().count()) == 0


def test_deep_nesting_is_refused(settings: Settings, seeded: World) -> None:
    with TestClient(app_for(settings)) as client:
        for depth in (100_000, 40):
            body = "[" * depth + "]" * depth
            deep = {"protocol": 1, "items": []}
            raw = json.dumps(deep)[:-1] + f', "extra": {body}}}'
            answer = client.post("/sync/v1/push", content=raw, headers=seeded.auth("a"))
            assert answer.status_code == 400
            assert answer.json()["error"]["code"] == "too_deep"
        assert (
            client.get("/sync/v1/pull", params={"limit": "0"}, headers=seeded.auth("a")).json()[
                "error"
            ]["code"]
            == "bad_limit"
        )
        assert (
            client.get(
                "/sync/v1/pull", params={"limit": "1001"}, headers=seeded.auth("a")
            ).status_code
            == 400
        )


def test_a_duplicate_after_an_edit_reports_the_current_value(
    settings: Settings, seeded: World
) -> None:
    register = seeded.registers[0]
    read = read_item(register, 10_450_000, NOW - timedelta(hours=2))
    edit = {
        "kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": read["uuid"], "base_revision": 1,
        "value_milli": 10_460_000, "edited_at": (NOW - timedelta(hours=1)).isoformat(),
    }  # fmt: skip
    body = batch_body([read, edit, read], device_clock=datetime.now(UTC))
    with TestClient(app_for(settings)) as client:
        status, answer = _post(client, seeded, body)
    assert status == 200
    _, edited, duplicate = answer["results"]
    assert edited["detail"]["revision"] == 2
    assert duplicate["result"] == "duplicate"
    assert (duplicate["detail"]["value_milli"], duplicate["detail"]["revision"]) == (10_460_000, 2)


def test_the_clock_offset_is_measured_from_the_request_s_arrival(
    settings: Settings, seeded: World
) -> None:
    """Time spent after the request arrived (a body on a slow network, Argon2 checking the
    credential) is not clock skew: a handset whose clock is right gets an offset of 0."""
    item = read_item(seeded.registers[0], 10_450_000, datetime.now(UTC) - timedelta(minutes=5))
    sent_at = datetime.now(UTC)
    payload = json.dumps(batch_body([item], device_clock=sent_at)).encode()

    def slow_body() -> Iterator[bytes]:
        yield payload[:10]
        time.sleep(2.0)
        yield payload[10:]

    with TestClient(app_for(settings)) as client:
        answer = client.post("/sync/v1/push", content=slow_body(), headers=seeded.auth("a"))
    assert answer.status_code == 200, answer.text
    assert datetime.now(UTC) - sent_at > timedelta(seconds=2)
    assert answer.json()["clock_offset_s"] == 0


def test_nul_characters_never_reach_the_database(settings: Settings, seeded: World) -> None:
    """A probe's checksum byte may be 0x00: the readout is kept (NUL as ␀); a NUL in
    notes is refused as bad_text; nowhere does PostgreSQL see one."""
    register = seeded.registers[0]
    at = NOW - timedelta(hours=1)
    probe = read_item(register, 10_450_000, at, source="probe",
                      raw_telegram="/ISK5\\2M550T\r\n1.8.0(010450.0*kWh)\r\n!\r\n\x03\x00")  # fmt: skip
    noted = read_item(register, 10_460_000, at + timedelta(minutes=1), notes="gate\x00code")
    odd = {"kind": "re\x00ad", "uuid": "x\x00y"}
    body = {
        **batch_body([probe, noted, odd], device_clock=datetime.now(UTC)),
        "app_version": "1.0\x00",
    }
    with TestClient(app_for(settings)) as client:
        status, answer = _post(client, seeded, body)
        assert status == 200, answer
        results = answer["results"]
        assert [r["result"] for r in results] == ["accepted", "rejected", "rejected"]
        assert results[1]["detail"]["code"] == "bad_text"
        stored = run_db(client, lambda: RegisterRead.get(client_uuid=probe["uuid"]))
        assert stored.raw_telegram is not None and stored.raw_telegram.endswith("\x03\u2400")
        status, again = _post(client, seeded, body)
        assert status == 200 and [r["result"] for r in again["results"]] == [
            "accepted",
            "rejected",
            "rejected",
        ]


def test_nan_and_infinity_are_malformed_json_not_a_server_error(
    settings: Settings, seeded: World
) -> None:
    # Python's json reads these constants; PostgreSQL's json refuses them. Found by the
    # property test on PostgreSQL as a 500 when an item carried one.
    register = seeded.registers[0]
    item = read_item(register, 10_450_000, NOW - timedelta(hours=1))
    with TestClient(app_for(settings)) as client:
        reads = run_db(client, lambda: RegisterRead.filter(register_id=register.id).count())
        batches = run_db(client, lambda: SyncBatch.all().count())
        for constant in ("NaN", "Infinity", "-Infinity"):
            raw = json.dumps(batch_body([item])).replace(
                '"protocol": 1', f'"protocol": 1, "x": {constant}'
            )
            answer = client.post("/sync/v1/push", content=raw, headers=seeded.auth("a"))
            assert answer.status_code == 400, answer.text
            assert answer.json()["error"]["code"] == "bad_json"
            assert "is not a JSON number" in answer.json()["error"]["message"]
        assert run_db(client, lambda: RegisterRead.filter(register_id=register.id).count()) == reads
        assert run_db(client, lambda: SyncBatch.all().count()) == batches

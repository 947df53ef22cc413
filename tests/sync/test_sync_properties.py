"""Whatever a handset sends as items, the push answers 200 with one result per item (or
a 400 for the batch as a whole), and nothing is half-written: every item either has its
result row and its effect, or neither.

Hypothesis draws batches of hostile items: wrong types, nulls, huge and negative numbers,
NUL and non-ASCII text, far-past and far-future times, deep nesting, unknown kinds. Each
batch is pushed twice through the real endpoint, on both databases; the second answer
must repeat the first.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient
from sync_helpers import NOW, World, app_for, batch_body
from test_sync_http import run_db

from gridbill.settings import Settings
from store.models import FieldVisit, RegisterRead, SyncItem

TEXT = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FFF), max_size=30)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False), TEXT,
)  # fmt: skip
TIMES = st.one_of(
    st.sampled_from(["0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-12:00", "yesterday", ""]),
    st.datetimes(
        min_value=datetime(1990, 1, 1),  # noqa: DTZ001 - hypothesis wants naive bounds
        max_value=datetime(2110, 1, 1),  # noqa: DTZ001
        timezones=st.just(UTC),
    ).map(lambda d: d.isoformat()),
    st.just((NOW - timedelta(hours=1)).isoformat()),
)
NESTED = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3), max_leaves=6)


@st.composite
def items(draw: Any, register_id: int, meter_id: int) -> Any:
    kind = draw(st.sampled_from(["read", "skip", "edit", "bogus", None]))
    item: dict[str, Any] = {
        "kind": kind,
        "uuid": draw(st.one_of(st.just(str(uuid.uuid4())), TEXT, st.none())),
        "register_id": draw(st.one_of(st.just(register_id), SCALARS)),
        "meter_id": draw(st.one_of(st.just(meter_id), SCALARS)),
        "value_milli": draw(st.one_of(st.integers(0, 2**40), SCALARS)),
        "captured_at": draw(TIMES),
        "visited_at": draw(TIMES),
        "skip_code": draw(st.one_of(st.just("no_access"), TEXT)),
        "notes": draw(st.one_of(TEXT, NESTED)),
        "read_uuid": draw(st.one_of(st.just(str(uuid.uuid4())), TEXT)),
        "base_revision": draw(SCALARS),
        "edited_at": draw(TIMES),
        "raw_telegram": draw(st.one_of(TEXT, st.none())),
        "source": draw(st.sampled_from(["manual", "probe", "x"])),
    }
    return draw(st.one_of(st.just(item), SCALARS, NESTED))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_any_items_get_one_result_each_and_nothing_half_written(
    settings: Settings, seeded: World, data: st.DataObject
) -> None:
    register, meter = seeded.registers[0], seeded.meters[0]
    batch = data.draw(st.lists(items(register.id, meter.id), min_size=1, max_size=6))
    body = batch_body(batch, device_clock=datetime.now(UTC))
    raw = json.dumps(body).encode()
    with TestClient(app_for(settings)) as client:
        first = client.post("/sync/v1/push", content=raw, headers=seeded.auth("a"))
        assert first.status_code in (200, 400), first.text
        if first.status_code == 400:
            assert first.json()["error"]["code"]
            return
        answer = first.json()
        assert [r["position"] for r in answer["results"]] == list(range(len(batch)))
        again = client.post("/sync/v1/push", content=raw, headers=seeded.auth("a")).json()
        assert [r["result"] for r in again["results"]] == [r["result"] for r in answer["results"]]

        async def stored() -> tuple[set[str], set[str], int]:
            reads = {str(u) for u in await RegisterRead.all().values_list("client_uuid", flat=True)}
            visits = {str(u) for u in await FieldVisit.all().values_list("client_uuid", flat=True)}
            rows = await SyncItem.filter(batch__batch_uuid=body["batch_id"]).count()
            return reads, visits, rows

        reads, visits, rows = run_db(client, stored)
    assert rows == len(batch)
    for result in answer["results"]:
        if result["result"] == "rejected":
            continue
        if result["kind"] == "read" and result["result"] == "accepted":
            assert result["uuid"] in reads
        if result["kind"] == "skip" and result["result"] == "accepted":
            assert result["uuid"] in visits
    for result in answer["results"]:
        if result["result"] == "rejected" and result["kind"] == "read":
            assert result["uuid"] not in reads or result["detail"]["code"] == "uuid_in_use"

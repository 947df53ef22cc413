"""``POST /ingest/readings`` over HTTP: Basic credentials of a partner client with the
``readings:write`` scope, NDJSON or CSV streamed in, the counts and rejected rows out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest
from meterdata_helpers import (
    SECRET,
    START,
    basic,
    csv_text,
    day_profile,
    interval_rows,
    ndjson,
)

from api.ingest_route import PATH
from store.models import IntervalReading, PartnerClient

NDJSON = {"Content-Type": "application/x-ndjson"}


async def test_ndjson_delivery_is_counted(http: httpx2.AsyncClient) -> None:
    data = ndjson(interval_rows("SM0001", START, day_profile()))
    data += b'{"meter": "GHOST", "timestamp": "2026-03-02T00:00:00Z", "kwh": "1"}\n'
    response = await http.post(PATH, content=data, headers={**NDJSON, **basic("hes-1", SECRET)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["revised"]) == (96, 0, 0)
    assert body["rejected"] == [{"row": 97, "reason": "unknown meter GHOST"}]
    assert (body["rejected_count"], body["rejected_truncated"]) == (1, False)
    again = await http.post(PATH, content=data, headers={**NDJSON, **basic("hes-1", SECRET)})
    assert again.json()["duplicate"] == 96


async def test_csv_delivery_streamed_in_pieces(http: httpx2.AsyncClient) -> None:
    rows = interval_rows("SM0001", START, day_profile())
    data = csv_text(rows, ("meter", "obis", "timestamp", "kwh"))

    async def pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(data), 101):
            yield data[i : i + 101]

    response = await http.post(
        PATH, content=pieces(), headers={"Content-Type": "text/csv; charset=utf-8",
                                         **basic("hes-1", SECRET)},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 96
    assert await IntervalReading.all().count() == 96


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("hes-1", "wrong secret"),
        basic("nobody", SECRET),
        {"Authorization": "Bearer abc"},
        {"Authorization": "Basic not-base64!"},
    ],
)
async def test_bad_credentials_are_401_with_a_challenge(
    http: httpx2.AsyncClient, headers: dict[str, str]
) -> None:
    response = await http.post(PATH, content=b"", headers={**NDJSON, **headers})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="gridbill ingest"')


async def test_an_inactive_client_is_refused(http: httpx2.AsyncClient) -> None:
    await PartnerClient.filter(client_id="hes-1").update(is_active=False)
    response = await http.post(PATH, content=b"", headers={**NDJSON, **basic("hes-1", SECRET)})
    assert response.status_code == 401


async def test_a_client_without_the_scope_is_403(http: httpx2.AsyncClient) -> None:
    response = await http.post(PATH, content=b"", headers={**NDJSON, **basic("app-1", SECRET)})
    assert response.status_code == 403
    assert "readings:write" in response.json()["error"]


async def test_other_content_types_are_415_and_bad_csv_422(http: httpx2.AsyncClient) -> None:
    auth = basic("hes-1", SECRET)
    wrong = await http.post(
        PATH, content=b"{}", headers={"Content-Type": "application/json", **auth}
    )
    assert wrong.status_code == 415
    bad = await http.post(
        PATH, content=b"serial,when,kwh\n", headers={"Content-Type": "text/csv", **auth}
    )
    assert bad.status_code == 422
    assert "unknown column 'serial'" in bad.json()["error"]

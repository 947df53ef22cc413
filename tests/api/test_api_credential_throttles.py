"""Issue 12: wrong partner secrets (``/oauth/token``, ``/ingest/readings``) and wrong device
credentials (``/sync``) are throttled per address and per (address, credential): 429 with
Retry-After, even for the right secret once over the limit; on PostgreSQL the counts live
in a table every server process shares."""

from __future__ import annotations

import base64

from api_helpers import MakeApi

from domain.enums import Role
from store.models import ThrottleCounter
from sync import devices
from tests import factories as f

LIMITS = {"GRIDBILL_THROTTLE_CREDENTIALS_CLIENT": "2/300",
          "GRIDBILL_THROTTLE_CREDENTIALS_ADDRESS": "3/300"}  # fmt: skip


def basic(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


def test_oauth_client_secrets_are_throttled(make_api: MakeApi, backend: str) -> None:
    api = make_api(**LIMITS)
    client = api.run(f.partner, ["bills:read"])

    def token(secret: str) -> tuple[int, str | None]:
        form = {"grant_type": "client_credentials", "client_id": client.client_id,
                "client_secret": secret}  # fmt: skip
        response = api.client.post("/oauth/token", data=form)
        return response.status_code, response.headers.get("retry-after")

    assert token(f.PARTNER_SECRET)[0] == 200
    assert [token("wrong")[0] for _ in range(2)] == [401, 401]
    status, retry_after = token(f.PARTNER_SECRET)
    assert status == 429 and retry_after is not None and 1 <= int(retry_after) <= 300
    shared = api.run(ThrottleCounter.filter(key__startswith="cred:").count)
    assert shared == (2 if backend == "postgres" else 0)  # PostgreSQL: a table for every process


def test_ingest_secrets_are_throttled_per_address_across_clients(make_api: MakeApi) -> None:
    api = make_api(**LIMITS)
    client = api.run(f.partner, ["readings:write"])
    ndjson = {"content-type": "application/x-ndjson"}

    def deliver(user: str, secret: str) -> int:
        headers = {**basic(user, secret), **ndjson}
        return api.client.post("/ingest/readings", content=b"", headers=headers).status_code

    assert deliver("nobody", "wrong") == 401
    assert deliver("somebody", "wrong") == 401
    assert deliver(client.client_id, "wrong") == 401  # three failures from this address
    assert deliver(client.client_id, f.PARTNER_SECRET) == 429


def test_device_credentials_are_throttled(make_api: MakeApi) -> None:
    api = make_api(**LIMITS)
    reader = api.run(f.user, Role.METER_READER)
    enrolled = api.run(devices.enroll, reader_email=reader.email, name="handset")

    def pull(credential: str) -> tuple[int, str | None]:
        auth = {"Authorization": f"Device {enrolled.device_uid}:{credential}"}
        response = api.client.get("/sync/v1/pull", headers=auth)
        return response.status_code, response.headers.get("retry-after")

    assert pull(enrolled.credential)[0] == 200
    assert [pull("wrong")[0] for _ in range(2)] == [401, 401]
    status, retry_after = pull(enrolled.credential)
    assert status == 429 and retry_after is not None

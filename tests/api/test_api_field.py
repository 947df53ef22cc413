"""Staff's view of field sync over GraphQL: devices with their cursors, pushed batches with
per-item results, and messages to readers; readers and customers see none of it."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from api_helpers import Api, error_codes

from domain.enums import Role
from domain.vee import VeeConfig
from store.models import FieldDevice
from sync import devices
from sync.protocol import parse_batch
from sync.pull import pull
from sync.push import push
from tests import factories as f

DEVICES = """query($r: ID) { fieldDevices(readerId: $r) { deviceUid name lastPullAt pullCursor
  reader { id } } }"""
BATCHES = """query($d: String!) { syncBatches(deviceUid: $d, first: 5) { edges { node {
  batchId itemCount results items { position uuid kind result rule detail payload } } } } }"""
SEND = """mutation($i: SendReaderMessageInput!) { sendReaderMessage(input: $i) { __typename
  ... on ReaderMessageSuccess { message { id body device { deviceUid } } }
  ... on OperationError { code field } } }"""


async def _enrolled(reader_email: str) -> FieldDevice:
    enrolled = await devices.enroll(reader_email=reader_email, name="handset")
    device = await FieldDevice.get(device_uid=enrolled.device_uid)
    from zoneinfo import ZoneInfo

    await pull(device, None, zone=ZoneInfo("Asia/Kolkata"), settle_s=0)
    body = {"protocol": 1, "batch_id": str(uuid.uuid4()), "device_clock": datetime.now(UTC).isoformat(),
            "time_zone": "Asia/Kolkata", "items": [None, {"kind": "skip", "uuid": "nope"}]}  # fmt: skip
    await push(
        device,
        parse_batch(json.dumps(body).encode()),
        zone=ZoneInfo("Asia/Kolkata"),
        postgres=False,
        vee_config=VeeConfig(),
    )
    return device


def test_staff_see_devices_batches_and_send_messages(api: Api) -> None:
    staff = api.token(api.run(f.user, Role.STAFF))
    reader = api.run(f.user, Role.METER_READER)
    device = api.run(_enrolled, reader.email)

    [listed] = api.data(DEVICES, {"r": str(reader.id)}, token=staff)["fieldDevices"]
    assert listed["deviceUid"] == device.device_uid and listed["lastPullAt"]
    assert listed["reader"]["id"] == str(reader.id)

    [edge] = api.data(BATCHES, {"d": device.device_uid}, token=staff)["syncBatches"]["edges"]
    batch = edge["node"]
    assert batch["itemCount"] == 2 and batch["results"] == {"rejected": 2}
    first, second = batch["items"]
    assert first["payload"] == {"item": None} and first["uuid"] is None
    assert second["uuid"] == "nope" and second["detail"]["code"] == "bad_uuid"

    sent = api.data(SEND, {"i": {"readerId": str(reader.id), "body": "Gate code 1234",
                                "deviceUid": device.device_uid}}, token=staff)  # fmt: skip
    message = sent["sendReaderMessage"]["message"]
    assert message["body"] == "Gate code 1234"
    assert message["device"]["deviceUid"] == device.device_uid
    refused = api.data(SEND, {"i": {"readerId": str(reader.id), "body": "  "}}, token=staff)
    assert refused["sendReaderMessage"] == {
        "__typename": "OperationError",
        "code": "INVALID_INPUT",
        "field": "body",
    }
    customer = api.token(api.run(f.user, Role.CUSTOMER))
    for token in (api.token(reader), customer):
        assert error_codes(api.gql(DEVICES, {"r": None}, token=token)) == ["FORBIDDEN"]

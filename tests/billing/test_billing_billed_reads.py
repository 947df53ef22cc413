"""An issued bill protects what it stands on: its reads, and the intervals it priced.

Issuing marks the register reads a bill used, and the span of interval readings an
interval-priced bill priced, in the issuing transaction; deliveries and devices refuse
to change them (docs/meter-data.md, docs/sync-protocol.md); cancelling releases them, and
cancel/rebill is the way to correct them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.access import Caller
from domain.enums import ReadQuality, Role
from domain.vee import VeeConfig
from gridbill.settings import Settings
from services.billing.corrections import cancel_bill
from services.errors import Refused
from services.meter_data import vee_review
from services.viewer import Viewer, acting_as
from store.models import (
    Bill,
    BilledSpan,
    FieldDevice,
    IntervalReading,
    RegisterRead,
    User,
    ValidationException,
)
from sync import devices
from sync.protocol import parse_batch
from sync.push import push
from tests.billing.billing_factories import Utility, issue, run
from tests.factories import ZONE, at
from tests.meterdata.meterdata_helpers import run_ingest


async def _device() -> FieldDevice:
    await User.create(email="reader@test.example", full_name="Reader", role=Role.METER_READER)
    enrolled = await devices.enroll(reader_email="reader@test.example", name="handset")
    return await FieldDevice.get(device_uid=enrolled.device_uid)


async def _push(
    device: FieldDevice, items: list[dict[str, Any]], when: datetime, pg: bool
) -> list[dict[str, Any]]:
    body = {
        "protocol": 1, "batch_id": str(uuid.uuid4()), "device_clock": when.isoformat(),
        "time_zone": "Asia/Kolkata", "items": items,
    }  # fmt: skip
    result = await push(
        device,
        parse_batch(json.dumps(body).encode()),
        zone=ZONE,
        postgres=pg,
        received_at=when,
        vee_config=VeeConfig(),
    )
    return result.results


async def test_issuing_marks_the_reads_and_cancelling_releases_them(
    utility: Utility, backend: str
) -> None:
    pg = backend == "postgres"
    site = await utility.account()
    register = site.registers["1.8.0"]
    opening = await site.read("1.8.0", "0", date(2026, 2, 8))
    device = await _device()
    closing_uuid = str(uuid.uuid4())
    captured = at(date(2026, 3, 8))
    [accepted] = await _push(device, [{
        "kind": "read", "uuid": closing_uuid, "register_id": register.id, "value_milli": 900_000,
        "captured_at": captured.isoformat(), "source": "manual",
    }], captured + timedelta(hours=1), pg)  # fmt: skip
    assert accepted["result"] != "rejected"  # kept (flagged meter_moved: the meter is on no route)
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    [bill] = await Bill.filter(account_id=site.account.id)
    closing = await RegisterRead.get(client_uuid=closing_uuid)
    assert closing.quality == ReadQuality.VALID
    assert (await RegisterRead.get(id=opening.id)).billed and closing.billed

    # A device edit of the billed read: the bill stands.
    later = captured + timedelta(days=2)
    edit, older = await _push(device, [
        {"kind": "edit", "uuid": str(uuid.uuid4()), "read_uuid": closing_uuid, "base_revision": 1,
         "value_milli": 950_000, "edited_at": later.isoformat()},
        {"kind": "read", "uuid": str(uuid.uuid4()), "register_id": register.id,
         "value_milli": 800_000, "captured_at": (captured - timedelta(days=1)).isoformat()},
    ], later, pg)  # fmt: skip
    assert (edit["result"], edit["rule"]) == ("conflict_resolved", "edit_of_billed_read")
    assert edit["detail"]["winner"]["value_milli"] == 900_000
    assert older["rule"] == "older_than_billed_read"
    assert older["detail"]["winner"]["read_uuid"] == closing_uuid

    # A delivery revising it: the row is refused, nothing changes.
    row = {"meter": "M-C08-0001", "obis": "1.8.0", "timestamp": captured.isoformat(),
           "reading": "950.000", "uuid": closing_uuid}  # fmt: skip
    refused = await run_ingest((json.dumps(row) + "\n").encode())
    assert (refused.revised, refused.rejected_count) == (0, 1)
    assert "billed" in refused.rejected[0].reason
    closing = await RegisterRead.get(client_uuid=closing_uuid)
    assert (closing.value_milli, closing.revision) == (900_000, 1)

    # Cancelling releases both reads; the correction now goes through.
    await cancel_bill(acting_as("test"), bill.id, reason="misread", on=date(2026, 3, 20))
    assert not (await RegisterRead.get(id=opening.id)).billed
    revised = await run_ingest((json.dumps(row) + "\n").encode())
    assert (revised.revised, revised.rejected_count) == (1, 0)


async def test_an_interval_priced_bill_protects_its_intervals(
    utility: Utility, backend: str, settings: Settings
) -> None:
    site = await utility.account(kind="smart")
    register = site.registers["1.8.0"]
    start, end = at(date(2026, 2, 8)), at(date(2026, 3, 8))
    await site.read("1.8.0", "0", start)
    steps = int((end - start) / timedelta(minutes=15))
    now = datetime.now(UTC)
    await IntervalReading.bulk_create(
        [
            IntervalReading(register=register, interval_start=start + i * timedelta(minutes=15),
                            value_wh=100, received_at=now)
            for i in range(steps)
        ],
        batch_size=1000,
    )  # fmt: skip
    await site.read("1.8.0", str(steps * 100 / 1000), end)
    await run("2026-03")
    await issue("2026-03", date(2026, 3, 11))
    [bill] = await Bill.filter(account_id=site.account.id)
    assert bill.snapshot["usage"]["source"] == "intervals"
    [span] = await BilledSpan.filter(bill_id=bill.id)
    assert (span.register_id, span.starts_at, span.ends_at) == (register.id, start, end)  # type: ignore[attr-defined]

    inside = {
        "meter": "M-C08-0001",
        "timestamp": (start + timedelta(days=3)).isoformat(),
        "kwh": "0.5",
    }
    after = {"meter": "M-C08-0001", "timestamp": end.isoformat(), "kwh": "0.5"}
    data = "".join(json.dumps(r) + "\n" for r in (inside, after)).encode()
    result = await run_ingest(data, series_checks=False)
    assert result.rejected_count == 1 and result.rejected[0].row == 1
    assert "billed" in result.rejected[0].reason
    kept = await IntervalReading.get(
        register_id=register.id, interval_start=start + timedelta(days=3)
    )
    assert (kept.value_wh, kept.revision) == (100, 1)

    # Staff cannot replace or reject a billed interval either.
    flagged = await ValidationException.create(
        rule="interval_jump",
        meter_id=site.install.meter_id,
        interval_reading_id=kept.id,  # type: ignore[attr-defined]
    )
    staff = Viewer(caller=Caller(role=Role.STAFF), label="staff:test")
    with pytest.raises(Refused, match="billed"):
        await vee_review.replace(
            staff, exception_id=flagged.id, value="0.2", reason="fix", settings=settings
        )

    await cancel_bill(acting_as("test"), bill.id, reason="wrong data", on=date(2026, 3, 20))
    assert not await BilledSpan.exists(bill_id=bill.id)
    again = await run_ingest(data, series_checks=False)
    assert again.rejected_count == 0 and again.revised == 1

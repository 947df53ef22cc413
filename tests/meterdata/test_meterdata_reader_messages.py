"""A reader hears, through the messages their handset pulls, of a read the office turned down."""

from __future__ import annotations

from datetime import datetime, timedelta

from meterdata_helpers import IST, ndjson, run_ingest

from domain.access import Caller
from domain.enums import Role
from gridbill.settings import Settings
from services.meter_data import vee_review
from services.viewer import Viewer
from store.models import ReaderMessage, RegisterRead, User, ValidationException
from tests.factories import Site


async def test_rejected_and_replaced_reads_become_reader_messages(
    site: Site, settings: Settings
) -> None:
    reader = await User.create(phone="+919811111111", full_name="R. Reader", role=Role.METER_READER)
    staff_user = await User.create(email="vee@utility.test", full_name="V", role=Role.STAFF)
    staff = Viewer(caller=Caller(role=Role.STAFF), user_id=staff_user.id)
    t = datetime(2026, 3, 1, tzinfo=IST)
    reads = [{"meter": "SM0001", "timestamp": (t + timedelta(days=d)).isoformat(),
              "reading": str(v)} for d, v in enumerate([1000, 1010, 990, 980])]  # fmt: skip
    await run_ingest(ndjson(reads))
    await RegisterRead.all().update(captured_by_id=reader.id)
    first, second = await ValidationException.filter(rule="register_backwards").order_by("id")

    await vee_review.reject(
        staff, exception_id=first.id, reason="photo shows 1090", settings=settings
    )
    await vee_review.replace(
        staff, exception_id=second.id, reason="re-read on site", settings=settings, value="1020"
    )
    rejected, replaced = await ReaderMessage.filter(reader_id=reader.id).order_by("id")
    assert "was rejected by the office. Reason: photo shows 1090." in rejected.body
    assert "SM0001" in rejected.body and rejected.read_at is None
    assert "was replaced by the office with 1020 kWh. Reason: re-read on site." in replaced.body

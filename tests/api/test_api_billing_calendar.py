"""The billing calendar's GraphQL doors (issue #18): staff read a cycle's months and set a
month's dates, with the refusals and audit row ``gridbill calendar set`` has."""

from __future__ import annotations

from api_helpers import Api, error_codes

from domain.enums import Role
from store.models import AuditLog, BillingCalendarDate
from tests import factories as f

SHOW = """query($around: Date) { billingCalendar(cycleCode: "C1", around: $around, before: 0,
  after: 1) { month readDate billDate setByStaff } }"""
SET = """mutation($read: Date!, $bill: Date!) { setBillingDates(input: {cycleCode: "C1",
  period: "2026-11", readDate: $read, billDate: $bill, reason: "Diwali"}) { __typename
  ... on SetBillingDatesSuccess { dates { month readDate billDate setByStaff } }
  ... on OperationError { code message } } }"""


def test_staff_read_and_set_the_calendar_and_customers_cannot(api: Api) -> None:
    api.run(f.cycle, "C1", read_day=1, bill_day=5)
    staff = api.token(api.run(f.user, Role.STAFF))
    shown = api.data(SHOW, {"around": "2026-11-15"}, token=staff)["billingCalendar"]
    assert shown == [
        {"month": "2026-11", "readDate": "2026-11-01", "billDate": "2026-11-05", "setByStaff": False},
        {"month": "2026-12", "readDate": "2026-12-01", "billDate": "2026-12-05", "setByStaff": False},
    ]  # fmt: skip

    made = api.data(SET, {"read": "2026-11-06", "bill": "2026-11-09"}, token=staff)
    assert made["setBillingDates"]["dates"] == {
        "month": "2026-11", "readDate": "2026-11-06", "billDate": "2026-11-09", "setByStaff": True,
    }  # fmt: skip
    shown = api.data(SHOW, {"around": "2026-11-15"}, token=staff)["billingCalendar"]
    assert shown[0]["readDate"] == "2026-11-06" and shown[0]["setByStaff"] is True
    assert api.run(AuditLog.filter(action="billing_calendar.set").count) == 1

    refused = api.data(SET, {"read": "2026-12-02", "bill": "2026-12-03"}, token=staff)
    assert refused["setBillingDates"]["code"] == "INVALID_INPUT"
    assert api.run(BillingCalendarDate.all().count) == 1  # nothing lost, nothing added

    unknown = api.gql(SHOW.replace('"C1"', '"NOPE"'), {"around": "2026-11-15"}, token=staff)
    assert error_codes(unknown) == ["UNKNOWN_CYCLE"]
    home = api.run(f.household)
    customer = api.token(home.user)  # type: ignore[arg-type]
    assert error_codes(api.gql(SHOW, {"around": "2026-11-15"}, token=customer)) == ["FORBIDDEN"]

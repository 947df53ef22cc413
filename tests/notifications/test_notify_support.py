"""Support requests: an SLA due time per category, breaches listed for staff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.access import Caller
from domain.enums import Role, SupportStatus
from services.accounts import support
from services.viewer import Viewer
from store.models import OutboxMessage, SupportRequest, User
from tests.api.api_helpers import Api, error_codes
from tests.billing.billing_factories import Utility
from tests.notifications.notify_helpers import reachable

BREACHES = "{ supportSlaBreaches(first: 10) { nodes { number slaBreached slaDueAt status } } }"


async def people() -> tuple[User, User]:
    """A signed-up customer and a staff member."""
    _, user = await reachable(await Utility.create(), phone=None)
    assert user is not None
    staff = await User.create(email="desk@utility.example", full_name="Desk", role=Role.STAFF)
    return user, staff


def test_sla_due_time_per_category_and_breaches_for_staff(api: Api) -> None:
    user, staff = api.run(people)
    customer = Viewer(
        caller=Caller(role=Role.CUSTOMER),
        user_id=user.id,
        customer_id=user.customer_id,  # type: ignore[attr-defined]
    )
    opened = datetime.now(UTC)
    outage, billing = (
        api.run(
            support.open_request,
            customer,
            customer_id=user.customer_id,
            account_id=None,  # type: ignore[attr-defined]
            category=category,
            subject="No power",
            body="Since 6 pm.",
            settings=api.settings,
        )
        for category in ("outage", "billing")
    )
    assert outage.sla_due_at is not None and billing.sla_due_at is not None
    assert timedelta(hours=4) <= outage.sla_due_at - opened < timedelta(hours=4, minutes=1)
    assert timedelta(hours=72) <= billing.sla_due_at - opened < timedelta(hours=72, minutes=1)

    staff_token = api.token(staff)
    assert api.data(BREACHES, token=staff_token)["supportSlaBreaches"]["nodes"] == []
    past = datetime.now(UTC) - timedelta(minutes=5)
    api.run(SupportRequest.filter(id=outage.id).update, sla_due_at=past)
    (breach,) = api.data(BREACHES, token=staff_token)["supportSlaBreaches"]["nodes"]
    assert breach["number"] == outage.number and breach["slaBreached"] is True
    assert error_codes(api.gql(BREACHES, token=api.token(user))) == ["FORBIDDEN"]

    staff_viewer = Viewer(caller=Caller(role=Role.STAFF), user_id=staff.id)
    api.run(support.set_status, staff_viewer, request_id=outage.id, status=SupportStatus.RESOLVED)
    assert api.data(BREACHES, token=staff_token)["supportSlaBreaches"]["nodes"] == []
    notified = api.run(
        OutboxMessage.filter(event="support.updated").values_list, "payload", flat=True
    )
    assert {p["status"] for p in notified} == {"resolved"}  # type: ignore[index]

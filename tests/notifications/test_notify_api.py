"""Notifications in GraphQL: settings, push devices, the inbox and its subscription, staff."""

from __future__ import annotations

import time
from datetime import date

from domain.enums import OutboxStatus, Role
from services import events
from services.payments.dunning import run_dunning
from store.models import Customer, DeviceToken, OutboxMessage, User
from tests.api.api_helpers import Api, error_codes
from tests.billing.billing_factories import Utility
from tests.notifications.notify_helpers import billed, dispatch, reachable

INBOX = """query($unread: Boolean!) {
  unreadNotificationCount
  myNotifications(first: 10, unread: $unread) { nodes { id event channel subject body readAt } }
}"""
SETTINGS = """mutation($input: NotificationSettingsInput!) {
  updateNotificationSettings(input: $input) {
    __typename
    ... on NotificationSettingsSuccess { customer { language highUsageThresholdWh } }
    ... on NotificationError { code message field }
  }
}"""
STAFF_VIEW = """query($customer: ID!) {
  customerNotifications(customerId: $customer, first: 20) {
    nodes { id event channel status recipient attempts deliveryAttempts { number succeeded providerAnswer } }
  }
}"""


def wait_for_subscriber() -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        hub = events.hub()
        if hub is not None and hub.queues:
            return
        time.sleep(0.01)
    raise AssertionError("the subscription did not start")


async def customers_with_a_bill(*emails: str) -> list[tuple[User, Customer]]:
    utility = await Utility.create()
    found = []
    for email in emails:
        site, user = await reachable(utility, email=email, phone=None)
        assert user is not None
        await billed(site)
        found.append((user, site.customer))
    return found


async def customer_with_a_bill() -> tuple[User, Customer]:
    (found,) = await customers_with_a_bill("asha@example.com")
    return found


async def staff_user() -> User:
    return await User.create(email="desk@utility.example", full_name="Desk", role=Role.STAFF)


def test_a_customer_sets_language_and_threshold_and_registers_a_device(api: Api) -> None:
    user, _ = api.run(customer_with_a_bill)
    token = api.token(user)
    done = api.data(
        SETTINGS, {"input": {"language": "hi", "highUsageThresholdWh": 250000}}, token=token
    )
    assert done["updateNotificationSettings"]["customer"] == {
        "language": "hi", "highUsageThresholdWh": 250000,
    }  # fmt: skip
    bad = api.data(SETTINGS, {"input": {"language": "fr"}}, token=token)
    assert bad["updateNotificationSettings"] == {
        "__typename": "NotificationError", "code": "INVALID_INPUT",
        "message": "language must be one of en, hi", "field": "language",
    }  # fmt: skip
    cleared = api.data(SETTINGS, {"input": {"clearHighUsageThreshold": True}}, token=token)
    assert cleared["updateNotificationSettings"]["customer"]["highUsageThresholdWh"] is None

    register = "mutation($t: String!) { registerDeviceToken(token: $t) { __typename ... on DeviceTokenSuccess { registered } } }"
    assert api.data(register, {"t": "fcm-token-abc"}, token=token)["registerDeviceToken"] == {
        "__typename": "DeviceTokenSuccess", "registered": True,
    }  # fmt: skip
    assert api.run(DeviceToken.filter(user_id=user.id).values_list, "token", flat=True) == [
        "fcm-token-abc"
    ]
    refused = api.data(register, {"t": "has space"}, token=token)["registerDeviceToken"]
    assert refused["__typename"] == "NotificationError"


def test_the_inbox_lists_marks_read_and_is_the_customers_own(api: Api) -> None:
    (user, customer), (other, _) = api.run(
        customers_with_a_bill, "asha@example.com", "ravi@example.com"
    )
    api.run(dispatch, api.settings)
    token = api.token(user)
    inbox = api.data(INBOX, {"unread": True}, token=token)
    assert inbox["unreadNotificationCount"] == 1
    (item,) = inbox["myNotifications"]["nodes"]
    assert item["event"] == "bill.issued" and item["channel"] == "INAPP" and item["readAt"] is None
    assert item["subject"].startswith("Bill ") and "Dear Asha Rao" in item["body"]

    theirs = api.run(OutboxMessage.get, customer_id=other.customer_id, channel="inapp")  # type: ignore[attr-defined]
    mark = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { ... on MarkNotificationsReadSuccess { marked unread } } }"
    marked = api.data(mark, {"ids": [item["id"], str(theirs.id)]}, token=token)
    assert marked["markNotificationsRead"] == {"marked": 1, "unread": 0}
    assert api.data(INBOX, {"unread": True}, token=token)["myNotifications"]["nodes"] == []
    assert len(api.data(INBOX, {"unread": False}, token=token)["myNotifications"]["nodes"]) == 1
    assert api.run(OutboxMessage.get, id=theirs.id).read_at is None
    # customers cannot use the staff view
    body = api.gql(STAFF_VIEW, {"customer": str(customer.id)}, token=token)
    assert error_codes(body) == ["FORBIDDEN"]


def test_staff_see_attempts_and_resend_and_list_disconnections(api: Api) -> None:
    user, customer = api.run(customer_with_a_bill)
    staff = api.token(api.run(staff_user))
    api.run(dispatch, api.settings)
    nodes = api.data(STAFF_VIEW, {"customer": str(customer.id)}, token=staff)[
        "customerNotifications"
    ]["nodes"]
    email = next(n for n in nodes if n["channel"] == "EMAIL")
    assert email["status"] == "SENT" and email["recipient"] == "asha@example.com"
    assert email["deliveryAttempts"][0]["succeeded"] is True
    assert email["deliveryAttempts"][0]["providerAnswer"].startswith("smtp 127.0.0.1")

    resend = 'mutation($id: ID!) { resendNotification(id: $id, reason: "customer asked") { __typename ... on ResendNotificationSuccess { notification { id status event } } ... on NotificationError { code } } }'
    copy = api.data(resend, {"id": email["id"]}, token=staff)["resendNotification"]
    assert (
        copy["notification"]["status"] == "PENDING"
        and copy["notification"]["event"] == "bill.issued"
    )
    assert api.run(dispatch, api.settings).sent == 1
    sent = api.run(OutboxMessage.get, id=int(copy["notification"]["id"]))
    assert sent.status == OutboxStatus.SENT and sent.dedupe_key.endswith(":resend:1")
    inapp = next(n for n in nodes if n["channel"] == "INAPP")
    assert api.data(resend, {"id": inapp["id"]}, token=staff)["resendNotification"] == {
        "__typename": "NotificationError", "code": "INVALID_STATE",
    }  # fmt: skip
    assert error_codes(api.gql(resend, {"id": email["id"]}, token=api.token(user))) == ["FORBIDDEN"]

    api.run(run_dunning, api.settings, today=date(2026, 3, 5))
    api.run(dispatch, api.settings)
    eligible = "query($on: Date!) { accountsEligibleForDisconnection(on: $on) { accountNumber noticeServedOn disconnectFrom outstandingPaise } }"
    served = api.run(
        OutboxMessage.get, event="dunning.disconnection_notice", channel="email"
    ).sent_at
    day = served.astimezone(api.settings.zone).date()
    from datetime import timedelta

    before = api.data(eligible, {"on": str(day + timedelta(days=15))}, token=staff)
    assert before["accountsEligibleForDisconnection"] == []
    after = api.data(eligible, {"on": str(day + timedelta(days=16))}, token=staff)
    (row,) = after["accountsEligibleForDisconnection"]
    assert row["noticeServedOn"] == str(day) and row["disconnectFrom"] == str(
        day + timedelta(days=16)
    )


def test_new_inbox_messages_reach_the_subscription(api: Api) -> None:
    user, _ = api.run(customer_with_a_bill)
    query = "subscription { notificationEvents { notification { event channel } } }"
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token(user)}"}}
        )
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"id": "n", "type": "subscribe", "payload": {"query": query}})
        wait_for_subscriber()
        api.run(dispatch, api.settings)
        message = ws.receive_json()
        assert message["payload"]["data"]["notificationEvents"] == {
            "notification": {"event": "bill.issued", "channel": "INAPP"}
        }
        ws.send_json({"id": "n", "type": "complete"})


def test_one_click_unsubscribe_turns_reminder_emails_off(api: Api) -> None:
    from notifications.content import unsubscribe_url
    from services.notifications.preferences import wanted

    user, _ = api.run(customer_with_a_bill)
    api.run(run_dunning, api.settings, today=date(2026, 2, 23))
    reminder = api.run(OutboxMessage.get, event="dunning.reminder", channel="email")
    link = unsubscribe_url(api.settings, reminder.id).removeprefix(api.settings.base_url)
    page = api.client.get(link)
    assert page.status_code == 200 and '<form method="post"' in page.text
    assert api.run(wanted, user.id, "dunning.reminder", reminder.channel, has_email=True)
    forged = api.client.post(link.replace("sig=", "sig=0"), data={"List-Unsubscribe": "One-Click"})
    assert forged.status_code == 400 and "not valid" in forged.text
    done = api.client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "asha@example.com" in done.text
    for event in ("dunning.reminder", "dunning.overdue"):
        assert not api.run(wanted, user.id, event, reminder.channel, has_email=True)
    assert api.run(wanted, user.id, "bill.issued", reminder.channel, has_email=True)
    assert api.run(dispatch, api.settings).skipped == 1  # the queued reminder is not sent

"""The customer app: me, accounts with premises and meters, usage, estimates, payments,
notification preferences and support requests, all over HTTP."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from api_helpers import Api, error_codes

from domain.enums import Role
from store.models import AuditLog
from tests import factories as f

ZONE = ZoneInfo("Asia/Kolkata")
USAGE = """query($a: ID!, $g: UsageGranularity!, $from: Date, $to: Date) {
  usage(accountId: $a, granularity: $g, from: $from, to: $to) {
    granularity changePercent
    current { start end totalWh totalKwh source points { start end wh kwh averaged } }
    lastYear { totalWh source points { start wh } }
  } }"""


def local(day: date, hour: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZONE)


def test_me_my_accounts_premise_and_meters(api: Api) -> None:
    home = api.run(f.household)
    data = api.data(
        """{ me { email role customer { number accounts { number } } }
             myAccounts { number category status sanctionedLoadW premise { city postalCode }
               meters { meter { serial kind registers { obisCode unit } } }
               tariff { code } billingCycle { code } } }""",
        token=api.token(home.user),
    )
    assert data["me"]["customer"]["accounts"] == [{"number": home.account.number}]
    assert data["myAccounts"] == [
        {
            "number": home.account.number, "category": "DOMESTIC", "status": "ACTIVE",
            "sanctionedLoadW": 3000, "premise": {"city": "Pune", "postalCode": "411001"},
            "meters": [{"meter": {"serial": home.meter.serial, "kind": "MANUAL",
                                  "registers": [{"obisCode": "1.8.0", "unit": "KWH"}]}}],
            "tariff": {"code": "MSEDCL-LT-IB"}, "billingCycle": {"code": "C1"},
        }
    ]  # fmt: skip


def test_monthly_usage_from_register_reads_with_last_year(api: Api) -> None:
    home = api.run(f.household, moved_in=date(2023, 1, 1))
    # read on the 1st of each month at midnight: 100 kWh a month in 2024, 80 in 2023
    value = 0
    for year, per_month in ((2023, 80), (2024, 100)):
        for month in range(1, 13):
            api.run(f.read, home.register, value, local(date(year, month, 1)))
            value += per_month
    api.run(f.read, home.register, value, local(date(2025, 1, 1)))
    token = api.token(home.user)
    usage = api.data(
        USAGE,
        {"a": str(home.account.id), "g": "MONTHLY", "from": "2024-01-01", "to": "2025-01-01"},
        token=token,
    )["usage"]
    current = usage["current"]
    assert current["source"] == "reads"
    assert [p["start"] for p in current["points"]][:2] == ["2024-01-01", "2024-02-01"]
    assert all(p["wh"] == 100_000 and p["averaged"] for p in current["points"])
    assert (current["totalWh"], current["totalKwh"]) == (1_200_000, "1200")
    assert usage["lastYear"]["totalWh"] == 960_000
    assert usage["changePercent"] == "25.0"

    daily = api.data(
        USAGE,
        {"a": str(home.account.id), "g": "DAILY", "from": "2024-02-01", "to": "2024-02-03"},
        token=token,
    )["usage"]["current"]
    # February 2024 has 29 days: 100 kWh spread evenly
    assert [p["wh"] for p in daily["points"]] == [round(100_000 / 29)] * 2


def test_daily_usage_from_interval_data_is_measured(api: Api) -> None:
    home = api.run(f.household, smart=True)
    day = date(2024, 3, 10)
    # 96 quarter hours of 25 Wh = 2.4 kWh on the 10th, 50 Wh each on the 11th (local days)
    api.run(f.intervals, home.register, local(day), [25] * 96 + [50] * 96)
    usage = api.data(
        USAGE, {"a": str(home.account.id), "g": "DAILY", "from": "2024-03-10", "to": "2024-03-12"},
        token=api.token(home.user),
    )["usage"]["current"]  # fmt: skip
    assert usage["source"] == "intervals"
    assert [(p["start"], p["wh"], p["averaged"]) for p in usage["points"]] == [
        ("2024-03-10", 2400, False), ("2024-03-11", 4800, False),
    ]  # fmt: skip


def test_usage_before_a_customer_moved_in_is_not_theirs(api: Api) -> None:
    home = api.run(f.household, moved_in=date(2024, 3, 11), smart=True)
    api.run(f.intervals, home.register, local(date(2024, 3, 10)), [25] * 192)
    token = api.token(home.user)
    points = api.data(
        USAGE,
        {"a": str(home.account.id), "g": "DAILY", "from": "2024-03-10", "to": "2024-03-12"},
        token=token,
    )["usage"]["current"]["points"]
    assert [p["start"] for p in points] == ["2024-03-11"]
    staff = api.token(api.run(f.user, Role.STAFF))
    all_days = api.data(
        USAGE,
        {"a": str(home.account.id), "g": "DAILY", "from": "2024-03-10", "to": "2024-03-12"},
        token=staff,
    )["usage"]["current"]["points"]
    assert len(all_days) == 2
    other = api.run(f.household)
    body = api.gql(USAGE, {"a": str(home.account.id), "g": "DAILY"}, token=api.token(other.user))
    assert error_codes(body) == ["NOT_FOUND"]
    too_long = api.gql(
        USAGE,
        {"a": str(home.account.id), "g": "DAILY", "from": "2020-01-01", "to": "2024-01-01"},
        token=token,
    )
    assert error_codes(too_long) == ["INVALID_INPUT"]


def test_bill_estimate_on_the_accounts_tariff(api: Api) -> None:
    home = api.run(f.household)
    query = """query($a: ID!, $kwh: String!) { billEstimate(accountId: $a, kwh: $kwh, days: 30, start: "2024-06-01") {
      __typename ... on BillEstimate { tariffCode currency periodStart periodEnd total totalPaise
        lines { code amount amountPaise } }
      ... on EstimateError { code field } } }"""
    token = api.token(home.user)
    estimate = api.data(query, {"a": str(home.account.id), "kwh": "250"}, token=token)[
        "billEstimate"
    ]
    assert estimate["__typename"] == "BillEstimate"
    assert (estimate["tariffCode"], estimate["periodStart"], estimate["periodEnd"]) == (
        "MSEDCL-LT-IB", "2024-06-01", "2024-06-30",
    )  # fmt: skip
    assert Decimal(estimate["total"]) == sum(Decimal(line["amount"]) for line in estimate["lines"])
    assert estimate["totalPaise"] == int(Decimal(estimate["total"]) * 100)
    bigger = api.data(query, {"a": str(home.account.id), "kwh": "400"}, token=token)["billEstimate"]
    assert Decimal(bigger["total"]) > Decimal(estimate["total"])
    bad = api.data(query, {"a": str(home.account.id), "kwh": "-3"}, token=token)["billEstimate"]
    assert bad == {"__typename": "EstimateError", "code": "INVALID_INPUT", "field": "kwh"}


def test_my_payments_newest_first(api: Api) -> None:
    home, other = api.run(f.household), api.run(f.household)
    api.run(f.bill, home, date(2020, 1, 1), payments=2)
    api.run(f.bill, other, date(2020, 1, 1), payments=1)
    payments = api.data(
        "{ myPayments { edges { node { amountPaise status method bill { periodStart } account { number } } } } }",
        token=api.token(home.user),
    )["myPayments"]["edges"]  # fmt: skip
    assert len(payments) == 2
    assert {p["node"]["account"]["number"] for p in payments} == {home.account.number}


def test_notification_preferences(api: Api) -> None:
    home = api.run(f.household)
    token = api.token(home.user)
    before = api.data("{ notificationPreferences { event channel enabled } }", token=token)
    prefs = {(p["event"], p["channel"]): p["enabled"] for p in before["notificationPreferences"]}
    assert prefs[("bill.issued", "EMAIL")] is True and prefs[("bill.issued", "SMS")] is False
    update = """mutation($p: [NotificationPreferenceInput!]!) { updateNotificationPreferences(preferences: $p) {
      __typename ... on NotificationPreferencesSuccess { preferences { event channel enabled } }
      ... on NotificationPreferencesError { code field } } }"""
    changed = api.data(update, {"p": [{"event": "bill.issued", "channel": "SMS", "enabled": True},
                                      {"event": "bill.issued", "channel": "EMAIL", "enabled": False}]},
                       token=token)["updateNotificationPreferences"]  # fmt: skip
    after = {(p["event"], p["channel"]): p["enabled"] for p in changed["preferences"]}
    assert after[("bill.issued", "SMS")] is True and after[("bill.issued", "EMAIL")] is False
    bad = api.data(
        update, {"p": [{"event": "nope", "channel": "SMS", "enabled": True}]}, token=token
    )
    assert bad["updateNotificationPreferences"] == {
        "__typename": "NotificationPreferencesError", "code": "INVALID_INPUT", "field": "event",
    }  # fmt: skip


REQUEST_FIELDS = "number status category subject messages { body isInternal fromStaff }"


def test_support_requests_open_reply_close(api: Api) -> None:
    home, other = api.run(f.household), api.run(f.household)
    staff = api.run(f.user, Role.STAFF)
    token, staff_token = api.token(home.user), api.token(staff)
    opened = api.data(
        f"""mutation($i: OpenSupportRequestInput!) {{ openSupportRequest(input: $i) {{
          __typename ... on SupportRequestSuccess {{ request {{ id {REQUEST_FIELDS} }} }} }} }}""",
        {"i": {"category": "billing", "subject": "High bill", "message": "Why so high?",
               "accountId": str(home.account.id)}}, token=token,
    )["openSupportRequest"]["request"]  # fmt: skip
    assert opened["status"] == "OPEN" and opened["number"].startswith("SR/")
    request_id = opened["id"]
    reply = f"""mutation($i: ReplyToSupportRequestInput!) {{ replyToSupportRequest(input: $i) {{
      __typename ... on SupportRequestSuccess {{ request {{ {REQUEST_FIELDS} }} }}
      ... on SupportError {{ code }} }} }}"""
    api.data(
        reply,
        {"i": {"requestId": request_id, "message": "Checking the meter", "internal": True}},
        token=staff_token,
    )
    answered = api.data(reply, {"i": {"requestId": request_id, "message": "Your meter was read twice"}},
                        token=staff_token)["replyToSupportRequest"]["request"]  # fmt: skip
    assert answered["status"] == "AWAITING_CUSTOMER"
    seen = api.data(f"query($id: ID!) {{ supportRequest(id: $id) {{ {REQUEST_FIELDS} }} }}", {"id": request_id},
                    token=token)["supportRequest"]  # fmt: skip
    assert [m["body"] for m in seen["messages"]] == ["Why so high?", "Your meter was read twice"]
    assert [m["fromStaff"] for m in seen["messages"]] == [False, True]
    # another customer cannot see or answer it
    not_theirs = api.gql("query($id: ID!) { supportRequest(id: $id) { number } }", {"id": request_id},
                         token=api.token(other.user))  # fmt: skip
    assert error_codes(not_theirs) == ["NOT_FOUND"]
    sneaky = api.data(
        reply, {"i": {"requestId": request_id, "message": "hi"}}, token=api.token(other.user)
    )
    assert sneaky["replyToSupportRequest"] == {"__typename": "SupportError", "code": "NOT_FOUND"}
    # the customer replies (back to open) and closes it
    back = api.data(reply, {"i": {"requestId": request_id, "message": "Thanks"}}, token=token)
    assert back["replyToSupportRequest"]["request"]["status"] == "OPEN"
    closed = api.data("mutation($id: ID!) { closeSupportRequest(requestId: $id) { __typename ... on SupportRequestSuccess { request { status } } } }",
                      {"id": request_id}, token=token)["closeSupportRequest"]  # fmt: skip
    assert closed["request"]["status"] == "CLOSED"
    listed = api.data("{ mySupportRequests { edges { node { number status } } } }", token=token)
    assert listed["mySupportRequests"]["edges"] == [
        {"node": {"number": opened["number"], "status": "CLOSED"}}
    ]
    late = api.data(reply, {"i": {"requestId": request_id, "message": "one more"}}, token=token)
    assert late["replyToSupportRequest"]["code"] == "INVALID_STATE"
    audited = api.run(
        AuditLog.filter(entity="support_request", entity_id=request_id).values_list,
        "action",
        flat=True,
    )
    assert "support.replied" in audited and "support.status_changed" in audited

"""Staff operations over HTTP: search, customers and moves, meters, tariffs, routes, audit log."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from api_helpers import Api, error_codes

from domain.enums import MeterStatus, Role
from store.models import AuditLog, Meter, MeterInstallation, RegisterRead, Route, RouteStop
from tests import factories as f

SEARCH = (
    "query($s: String!) { customers(search: $s, first: 10) { edges { node { number name } } } }"
)


@pytest.fixture
def staff(api: Api) -> str:
    return api.token(api.run(f.user, Role.STAFF))


def audit_actions(api: Api) -> list[str]:
    return list(api.run(AuditLog.all().order_by("id").values_list, "action", flat=True))


def numbers(body: dict[str, Any]) -> list[str]:
    return [e["node"]["number"] for e in body["customers"]["edges"]]


def test_search_customers_by_name_account_meter_and_phone(api: Api, staff: str) -> None:
    home = api.run(f.household, phone="+919000012345")
    api.run(f.household)
    name = home.customer.name
    assert numbers(api.data(SEARCH, {"s": name}, token=staff)) == [home.customer.number]
    assert numbers(api.data(SEARCH, {"s": home.account.number}, token=staff)) == [
        home.customer.number
    ]
    assert numbers(api.data(SEARCH, {"s": home.meter.serial}, token=staff)) == [
        home.customer.number
    ]
    assert numbers(api.data(SEARCH, {"s": "90000 12345"}, token=staff)) == [home.customer.number]
    assert numbers(api.data(SEARCH, {"s": "no such person"}, token=staff)) == []
    assert error_codes(api.gql(SEARCH, {"s": "x"}, token=staff)) == ["INVALID_INPUT"]


MOVE = """mutation($i: {kind}Input!) {{ {name}(input: $i) {{ __typename
  ... on AccountHolderSuccess {{ holder {{ moveInOn moveOutOn customer {{ number }} }} }}
  ... on OperationError {{ code field message }} }} }}"""


def test_create_customer_move_out_and_move_in(api: Api, staff: str) -> None:
    home = api.run(f.household)
    created = api.data(
        "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { ... on CustomerSuccess { customer { id number name } } } }",
        {"i": {"name": "Ravi Desai", "phone": "+919811111111"}}, token=staff,
    )["createCustomer"]["customer"]  # fmt: skip
    assert created["number"].startswith("CU") and created["name"] == "Ravi Desai"
    account = str(home.account.id)
    move_in = MOVE.format(kind="MoveIn", name="moveIn")
    busy = api.data(
        move_in,
        {"i": {"accountId": account, "customerId": created["id"], "on": "2024-07-01"}},
        token=staff,
    )
    assert busy["moveIn"]["code"] == "INVALID_STATE"
    out = api.data(MOVE.format(kind="MoveOut", name="moveOut"),
                   {"i": {"accountId": account, "on": "2024-06-30", "reason": "sold the flat"}}, token=staff)  # fmt: skip
    assert out["moveOut"]["holder"]["moveOutOn"] == "2024-06-30"
    early = api.data(
        move_in,
        {"i": {"accountId": account, "customerId": created["id"], "on": "2024-06-01"}},
        token=staff,
    )
    assert (early["moveIn"]["code"], early["moveIn"]["field"]) == ("INVALID_INPUT", "on")
    done = api.data(
        move_in,
        {"i": {"accountId": account, "customerId": created["id"], "on": "2024-07-01"}},
        token=staff,
    )
    assert done["moveIn"]["holder"] == {
        "moveInOn": "2024-07-01",
        "moveOutOn": None,
        "customer": {"number": created["number"]},
    }
    unknown = api.data(
        move_in,
        {"i": {"accountId": "999999", "customerId": created["id"], "on": "2024-07-01"}},
        token=staff,
    )
    assert (unknown["moveIn"]["code"], unknown["moveIn"]["field"]) == ("NOT_FOUND", "accountId")
    # the old holder still sees the account (their bills are there); the new one sees it too
    assert api.data("{ myAccounts { number } }", token=api.token(home.user))["myAccounts"] == [
        {"number": home.account.number}
    ]
    assert audit_actions(api)[-3:] == ["customer.created", "account.moved_out", "account.moved_in"]


METER = """mutation($i: {kind}Input!) {{ {name}(input: $i) {{ __typename
  ... on MeterInstallationSuccess {{ installation {{ installedAt removedAt meter {{ serial status }} }} }}
  ... on OperationError {{ code field message }} }} }}"""


def test_meters_are_created_installed_replaced_and_removed(api: Api, staff: str) -> None:
    home = api.run(f.household)
    route = api.run(Route.create, code="R1", name="Route 1", cycle=api.run(f.cycle))
    api.run(
        RouteStop.create, route=route, meter=home.meter, active_meter=home.meter.id, sequence=10
    )
    created = api.data(
        """mutation($i: CreateMeterInput!) { createMeter(input: $i) { __typename
             ... on MeterSuccess { meter { id serial status registers { obisCode unit } } }
             ... on OperationError { code field } } }""",
        {"i": {"serial": "SM-0001", "kind": "SMART", "registers": [
            {"obisCode": "1.8.0", "unit": "KWH"}, {"obisCode": "1.6.0", "unit": "KW"}]}}, token=staff,
    )["createMeter"]  # fmt: skip
    meter = created["meter"]
    assert meter["status"] == "IN_STORE" and [r["obisCode"] for r in meter["registers"]] == [
        "1.6.0",
        "1.8.0",
    ]
    duplicate = api.data(
        'mutation { createMeter(input: {serial: "SM-0001", kind: SMART}) { ... on OperationError { code } } }',
        token=staff,
    )
    assert duplicate["createMeter"]["code"] == "CONFLICT"

    occupied = api.data(METER.format(kind="InstallMeter", name="installMeter"), {"i": {
        "meterId": meter["id"], "servicePointId": str(home.point.id), "at": "2024-05-01T10:00:00+05:30"}},
        token=staff)["installMeter"]  # fmt: skip
    assert occupied["code"] == "INVALID_STATE"

    replaced = api.data(METER.format(kind="ReplaceMeter", name="replaceMeter"), {"i": {
        "oldMeterId": str(home.meter.id), "newMeterId": meter["id"], "at": "2024-05-01T10:00:00+05:30",
        "removalReads": [{"obisCode": "1.8.0", "value": "1234.5"}],
        "installReads": [{"obisCode": "1.8.0", "value": "0.2"}], "sealNumbers": "S-77", "reason": "faulty display"}},
        token=staff)["replaceMeter"]  # fmt: skip
    assert replaced["__typename"] == "MeterInstallationSuccess", replaced
    assert replaced["installation"]["meter"] == {"serial": "SM-0001", "status": "INSTALLED"}
    old = api.run(Meter.get, id=home.meter.id)
    assert old.status == MeterStatus.REMOVED
    reads = api.run(
        RegisterRead.filter(register__meter_id=home.meter.id, read_type="removal").values_list,
        "value_milli",
        flat=True,
    )
    assert reads == [1_234_500]
    stops = api.run(
        RouteStop.filter(route_id=route.id, removed_at__isnull=True).values_list,
        "meter_id",
        flat=True,
    )
    assert stops == [int(meter["id"])]  # the new meter took the old one's place on the route

    removed = api.data(METER.format(kind="RemoveMeter", name="removeMeter"), {"i": {
        "meterId": meter["id"], "at": "2024-06-01T10:00:00+05:30", "reads": [{"obisCode": "1.8.0", "value": "80"}]}},
        token=staff)["removeMeter"]  # fmt: skip
    assert removed["installation"]["removedAt"] is not None
    assert (
        api.run(
            MeterInstallation.filter(service_point_id=home.point.id, removed_at__isnull=True).count
        )
        == 0
    )
    again = api.data(METER.format(kind="RemoveMeter", name="removeMeter"), {"i": {
        "meterId": meter["id"], "at": "2024-06-02T10:00:00+05:30"}}, token=staff)["removeMeter"]  # fmt: skip
    assert again["code"] == "INVALID_STATE"
    assert [a for a in audit_actions(api) if a.startswith("meter.")] == [
        "meter.created",
        "meter.replaced",
        "meter.removed",
    ]


def test_admins_add_tariff_versions_and_staff_assign_tariffs(api: Api, staff: str) -> None:
    home = api.run(f.household)
    admin = api.token(api.run(f.user, Role.ADMIN))
    with f.TARIFF_FILE.open(encoding="utf-8") as handle:
        document = json.load(handle, parse_float=Decimal)
    document = json.loads(json.dumps(document, default=str))
    document["fixed_charges"][0]["rate"] = "110"
    create = """mutation($i: CreateTariffVersionInput!) { createTariffVersion(input: $i) { __typename
      ... on TariffVersionSuccess { tariff { code } version { version effectiveFrom } closedPreviousVersion }
      ... on OperationError { code field message } } }"""
    made = api.data(create, {"i": {"document": document, "effectiveFrom": "2024-04-01", "category": "DOMESTIC"}},
                    token=admin)["createTariffVersion"]  # fmt: skip
    assert (
        made["version"] == {"version": 2, "effectiveFrom": "2024-04-01"}
        and made["closedPreviousVersion"] == 1
    )
    broken = dict(document, energy_charges="not a list")
    bad = api.data(
        create,
        {"i": {"document": broken, "effectiveFrom": "2025-04-01", "category": "DOMESTIC"}},
        token=admin,
    )
    assert (bad["createTariffVersion"]["code"], bad["createTariffVersion"]["field"]) == (
        "TARIFF_INVALID",
        "document",
    )
    versions = api.data("{ tariffs { code versions { version effectiveTo } } }", token=staff)[
        "tariffs"
    ]
    assert versions == [{"code": "MSEDCL-LT-IB", "versions": [{"version": 1, "effectiveTo": "2024-04-01"},
                                                               {"version": 2, "effectiveTo": None}]}]  # fmt: skip
    assign = """mutation($i: AssignTariffInput!) { assignTariff(input: $i) { __typename
      ... on TariffAssignmentSuccess { tariff { code } effectiveFrom } ... on OperationError { code field } } }"""
    stale = api.data(
        assign,
        {
            "i": {
                "accountId": str(home.account.id),
                "tariffCode": "MSEDCL-LT-IB",
                "effectiveFrom": "2019-01-01",
            }
        },
        token=staff,
    )
    assert stale["assignTariff"]["code"] == "INVALID_INPUT"
    moved = api.data(
        assign,
        {
            "i": {
                "accountId": str(home.account.id),
                "tariffCode": "MSEDCL-LT-IB",
                "effectiveFrom": "2024-04-01",
            }
        },
        token=staff,
    )
    assert moved["assignTariff"] == {
        "__typename": "TariffAssignmentSuccess",
        "tariff": {"code": "MSEDCL-LT-IB"},
        "effectiveFrom": "2024-04-01",
    }
    assert "tariff.version_created" in audit_actions(
        api
    ) and "account.tariff_assigned" in audit_actions(api)


def test_routes_and_their_readers(api: Api, staff: str) -> None:
    home = api.run(f.household)
    reader = api.run(f.user, Role.METER_READER)
    route = api.run(Route.create, code="R9", name="Route 9", cycle=api.run(f.cycle))
    assign = """mutation($i: AssignRouteReaderInput!) { assignRouteReader(input: $i) { __typename
      ... on RouteSuccess { route { code reader { fullName } } } ... on OperationError { code field } } }"""
    not_a_reader = api.data(
        assign, {"i": {"routeId": str(route.id), "readerId": str(home.user.id)}}, token=staff
    )
    assert not_a_reader["assignRouteReader"]["code"] == "INVALID_INPUT"
    done = api.data(
        assign, {"i": {"routeId": str(route.id), "readerId": str(reader.id)}}, token=staff
    )
    assert done["assignRouteReader"]["route"]["reader"]["fullName"] == reader.full_name
    added = api.data(
        "mutation($i: AddRouteStopInput!) { addRouteStop(input: $i) { ... on RouteStopSuccess { stop { id sequence meter { serial } } } } }",
        {"i": {"routeId": str(route.id), "meterId": str(home.meter.id)}}, token=staff,
    )["addRouteStop"]["stop"]  # fmt: skip
    assert added["meter"]["serial"] == home.meter.serial
    mine = api.data("{ myRoutes { code stops { meter { serial } } } }", token=api.token(reader))[
        "myRoutes"
    ]
    assert mine == [{"code": "R9", "stops": [{"meter": {"serial": home.meter.serial}}]}]
    twice = api.data(
        "mutation($i: AddRouteStopInput!) { addRouteStop(input: $i) { ... on OperationError { code } } }",
        {"i": {"routeId": str(route.id), "meterId": str(home.meter.id)}}, token=staff,
    )  # fmt: skip
    assert twice["addRouteStop"]["code"] == "CONFLICT"
    log = api.data(
        '{ auditLog(entity: "route") { edges { node { action actor { id } requestId } } } }',
        token=staff,
    )
    entries = [e["node"] for e in log["auditLog"]["edges"]]
    assert [e["action"] for e in entries] == ["route.stop_added", "route.reader_assigned"]
    assert all(e["requestId"] for e in entries)

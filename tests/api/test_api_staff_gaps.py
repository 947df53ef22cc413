"""Staff gaps over HTTP: removeRegister, moveOut with its final read and bill, updateCustomer."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from api_helpers import Api, error_codes

from domain.enums import ReadQuality, ReadSource, ReadType, Role
from store.models import Account, AccountHolder, AuditLog, Customer, Register, RegisterRead
from tests import factories as f

REMOVE_REGISTER = """mutation($i: RemoveRegisterInput!) { removeRegister(input: $i) { __typename
  ... on RegisterSuccess { register { id obisCode isBilling } }
  ... on OperationError { code field message } } }"""

MOVE_OUT = """mutation($i: MoveOutInput!) { moveOut(input: $i) { __typename
  ... on AccountHolderSuccess { holder { moveOutOn } finalBillAwaitsRead
    finalBill { id status isFinal periodStart periodEnd consumptionWh } }
  ... on OperationError { code field message } } }"""

UPDATE_CUSTOMER = """mutation($i: UpdateCustomerInput!) { updateCustomer(input: $i) { __typename
  ... on CustomerSuccess { customer { id name email phone postalAddress } }
  ... on OperationError { code field message } } }"""


@pytest.fixture
def staff(api: Api) -> str:
    return api.token(api.run(f.user, Role.STAFF))


def audits(api: Api, action: str) -> list[AuditLog]:
    return list(api.run(AuditLog.filter(action=action).order_by("id").all))


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


# --- removeRegister ----------------------------------------------------------------------


def test_remove_register_keeps_it_out_of_billing_and_audits(api: Api, staff: str) -> None:
    home = api.run(f.household)
    extra = api.run(f.register, home.meter, "2.8.0")
    api.run(f.read, extra, 5, at(date(2025, 12, 1)))  # an estimate does not hold it back
    api.run(
        RegisterRead.filter(register_id=extra.id).update,
        source=ReadSource.ESTIMATED, quality=ReadQuality.ESTIMATED,
    )  # fmt: skip
    body = api.data(REMOVE_REGISTER, {"i": {"registerId": str(extra.id), "reason": "export off"}},
                    token=staff)["removeRegister"]  # fmt: skip
    assert body == {
        "__typename": "RegisterSuccess",
        "register": {"id": str(extra.id), "obisCode": "2.8.0", "isBilling": False},
    }
    stored = api.run(Register.get, id=extra.id)
    assert stored.is_billing is False  # kept, reads and all
    assert api.run(RegisterRead.filter(register_id=extra.id).count) == 1
    (entry,) = audits(api, "meter.register_removed")
    assert entry.entity_id == str(home.meter.id) and entry.reason == "export off"
    assert entry.before["is_billing"] is True and entry.after["is_billing"] is False  # type: ignore[index]
    again = api.data(REMOVE_REGISTER, {"i": {"registerId": str(extra.id)}}, token=staff)
    assert again["removeRegister"]["code"] == "INVALID_STATE"
    missing = api.data(REMOVE_REGISTER, {"i": {"registerId": "999999"}}, token=staff)
    assert (missing["removeRegister"]["code"], missing["removeRegister"]["field"]) == (
        "NOT_FOUND",
        "registerId",
    )


def test_remove_register_refused_while_it_has_unbilled_reads(api: Api, staff: str) -> None:
    home = api.run(f.household)
    billed = api.run(f.read, home.register, 100, at(date(2026, 1, 1)))
    api.run(RegisterRead.filter(id=billed.id).update, billed=True)
    api.run(f.read, home.register, 200, at(date(2026, 2, 1)))  # actual, after the last bill
    body = api.data(REMOVE_REGISTER, {"i": {"registerId": str(home.register.id)}}, token=staff)
    refused = body["removeRegister"]
    assert (refused["code"], refused["field"]) == ("UNBILLED_READS", "registerId")
    assert api.run(Register.get, id=home.register.id).is_billing is True
    assert audits(api, "meter.register_removed") == []
    api.run(RegisterRead.filter(register_id=home.register.id).update, billed=True)
    done = api.data(REMOVE_REGISTER, {"i": {"registerId": str(home.register.id)}}, token=staff)
    assert done["removeRegister"]["register"]["isBilling"] is False


# --- moveOut with a final read -----------------------------------------------------------


def test_move_out_without_a_read_says_the_final_bill_awaits_one(api: Api, staff: str) -> None:
    home = api.run(f.household)
    body = api.data(MOVE_OUT, {"i": {"accountId": str(home.account.id), "on": "2026-02-20"}},
                    token=staff)["moveOut"]  # fmt: skip
    assert body == {
        "__typename": "AccountHolderSuccess",
        "holder": {"moveOutOn": "2026-02-20"},
        "finalBillAwaitsRead": True,
        "finalBill": None,
    }
    assert api.run(Account.get, id=home.account.id).status.value == "active"


def test_move_out_with_a_read_drafts_the_final_bill(api: Api, staff: str) -> None:
    home = api.run(f.household)
    api.run(f.bill, home, date(2026, 1, 1))  # closes on 31 January at 1,250 kWh
    variables = {"i": {
        "accountId": str(home.account.id), "on": "2026-02-20", "reason": "sold the flat",
        "finalRead": {"readAt": "2026-02-20T10:00:00+05:30",
                      "reads": [{"obisCode": "1.8.0", "value": "1400"}]},
    }}  # fmt: skip
    body = api.data(MOVE_OUT, variables, token=staff)["moveOut"]
    assert body["__typename"] == "AccountHolderSuccess", body
    assert body["holder"] == {"moveOutOn": "2026-02-20"} and body["finalBillAwaitsRead"] is False
    bill = body["finalBill"]
    assert bill["status"] == "DRAFT" and bill["isFinal"] is True
    assert bill["periodEnd"] == "2026-02-19" and bill["consumptionWh"] == 150_000
    (read,) = api.run(
        RegisterRead.filter(register_id=home.register.id, read_type=ReadType.MOVE_OUT).all
    )
    assert (read.source, read.quality, read.value_milli) == (
        ReadSource.STAFF,
        ReadQuality.VALID,
        1_400_000,
    )
    holder = api.run(AccountHolder.get, account_id=home.account.id)
    assert holder.final_bill_id == int(bill["id"])  # type: ignore[attr-defined]
    assert api.run(Account.get, id=home.account.id).status.value == "closed"
    (entry,) = audits(api, "account.moved_out")
    assert entry.after["final_bill_id"] == int(bill["id"])  # type: ignore[index]
    assert entry.after["final_read_ids"] == [read.id]  # type: ignore[index]


def test_move_out_read_is_judged_and_refusals_change_nothing(api: Api, staff: str) -> None:
    home = api.run(f.household)
    api.run(f.bill, home, date(2026, 1, 1))  # closes at 1,250 kWh

    def move_out(
        value: str, read_at: str = "2026-02-20T10:00:00+05:30", obis: str = "1.8.0"
    ) -> Any:
        variables = {"i": {"accountId": str(home.account.id), "on": "2026-02-20", "finalRead": {
            "readAt": read_at, "reads": [{"obisCode": obis, "value": value}]}}}  # fmt: skip
        return api.data(MOVE_OUT, variables, token=staff)["moveOut"]

    backwards = move_out("1000")  # below the last read: VEE flags it
    assert (backwards["code"], backwards["field"]) == ("SUSPECT_READ", "finalRead.reads")
    wrong_day = move_out("1400", read_at="2026-02-21T10:00:00+05:30")
    assert (wrong_day["code"], wrong_day["field"]) == ("INVALID_INPUT", "finalRead.readAt")
    unknown = move_out("1400", obis="9.9.9")
    assert (unknown["code"], unknown["field"]) == ("INVALID_INPUT", "finalRead.reads")
    bad = move_out("lots")
    assert (bad["code"], bad["field"]) == ("INVALID_INPUT", "finalRead.reads")
    # Nothing was kept: no read, the holder still holds, no audit row.
    assert api.run(RegisterRead.filter(read_type=ReadType.MOVE_OUT).count) == 0
    assert api.run(AccountHolder.get, account_id=home.account.id).move_out_on is None
    assert audits(api, "account.moved_out") == []


# --- updateCustomer ----------------------------------------------------------------------


def test_update_customer_validates_and_audits_before_and_after(api: Api, staff: str) -> None:
    home = api.run(f.household)
    customer = str(home.customer.id)
    body = api.data(UPDATE_CUSTOMER, {"i": {
        "customerId": customer, "name": "  Asha Kulkarni ", "email": "Asha@Example.TEST",
        "phone": "+91 98111-22233", "postalAddress": "12 FC Road, Pune 411004",
    }}, token=staff)["updateCustomer"]  # fmt: skip
    assert body["customer"] == {
        "id": customer, "name": "Asha Kulkarni", "email": "asha@example.test",
        "phone": "+919811122233", "postalAddress": "12 FC Road, Pune 411004",
    }  # fmt: skip
    stored = api.run(Customer.get, id=home.customer.id)
    assert (stored.name, stored.phone) == ("Asha Kulkarni", "+919811122233")
    (entry,) = audits(api, "customer.updated")
    assert entry.entity == "customer" and entry.entity_id == customer
    assert entry.before == {
        "name": home.customer.name, "email": home.customer.email, "phone": home.customer.phone,
        "postal_address": "",
    }  # fmt: skip
    assert entry.after["email"] == "asha@example.test"  # type: ignore[index]
    cleared = api.data(UPDATE_CUSTOMER, {"i": {"customerId": customer, "email": ""}}, token=staff)
    assert cleared["updateCustomer"]["customer"]["email"] is None
    assert cleared["updateCustomer"]["customer"]["name"] == "Asha Kulkarni"  # unchanged

    def refused(fields: dict[str, Any], who: str = customer) -> tuple[str, str | None]:
        answer = api.data(UPDATE_CUSTOMER, {"i": {"customerId": who, **fields}}, token=staff)
        return answer["updateCustomer"]["code"], answer["updateCustomer"]["field"]

    assert refused({"name": "  "}) == ("INVALID_INPUT", "name")
    assert refused({"name": "x" * 201}) == ("INVALID_INPUT", "name")
    assert refused({"email": "not-an-address"}) == ("INVALID_INPUT", "email")
    assert refused({"phone": "12ab"}) == ("INVALID_INPUT", "phone")
    assert refused({"postalAddress": "x" * 1001}) == ("INVALID_INPUT", "postalAddress")
    assert refused({}) == ("INVALID_INPUT", None)
    assert refused({"name": "Someone"}, who="999999") == ("NOT_FOUND", "customerId")
    assert len(audits(api, "customer.updated")) == 2


# --- permissions -------------------------------------------------------------------------


def test_customers_may_not_use_the_staff_mutations(api: Api) -> None:
    home = api.run(f.household)
    assert home.user is not None
    token = api.token(home.user)
    asks = [
        (REMOVE_REGISTER, {"registerId": str(home.register.id)}),
        (MOVE_OUT, {"accountId": str(home.account.id), "on": "2026-02-20"}),
        (UPDATE_CUSTOMER, {"customerId": str(home.customer.id), "name": "Mine now"}),
    ]
    for query, fields in asks:
        assert error_codes(api.gql(query, {"i": fields}, token=token)) == ["FORBIDDEN"]
        assert error_codes(api.gql(query, {"i": fields})) == ["UNAUTHENTICATED"]
    assert api.run(Register.get, id=home.register.id).is_billing is True
    assert api.run(AccountHolder.get, account_id=home.account.id).move_out_on is None
    assert api.run(Customer.get, id=home.customer.id).name == home.customer.name
    assert api.run(AuditLog.exclude(actor_label="test").count) == 0  # factories' rows aside

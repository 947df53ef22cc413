"""A customer's bills over HTTP: pages, line items, reads, payments, PDF links, and no N+1."""

from __future__ import annotations

import hashlib
import time
from datetime import date
from typing import Any

from api_helpers import Api, MakeApi, count_queries, error_codes

from domain.enums import BillStatus
from services.billing.downloads import PURPOSE
from services.identity.tokens import check_link, sign_link
from store.models import Bill
from tests import factories as f

BILLS = """
query Bills($first: Int, $after: String) {
  myBills(first: $first, after: $after) {
    edges { cursor node {
      id number periodStart periodEnd status totalPaise paidPaise balanceDuePaise pdfUrl
      account { number }
      lines { position code description amountPaise }
      readsUsed { obisCode meterSerial openingMilli closingMilli consumptionWh }
      payments { reference amountPaise status method }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def months(count: int, start: date = date(2020, 1, 1)) -> list[date]:
    out = []
    year, month = start.year, start.month
    for _ in range(count):
        out.append(date(year, month, 1))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def test_bills_come_newest_first_in_pages_with_lines_reads_and_payments(api: Api) -> None:
    home = api.run(f.household)
    for start in months(5):
        api.run(f.bill, home, start)
    api.run(f.bill, home, date(2021, 1, 1), status=BillStatus.DRAFT)  # never shown to customers
    token = api.token(home.user)

    first = api.data(BILLS, {"first": 3}, token=token)["myBills"]
    periods = [e["node"]["periodStart"] for e in first["edges"]]
    assert periods == ["2020-05-01", "2020-04-01", "2020-03-01"]
    assert first["pageInfo"]["hasNextPage"] is True
    node = first["edges"][0]["node"]
    assert [line["position"] for line in node["lines"]] == [1, 2, 3]
    assert node["readsUsed"][0]["obisCode"] == "1.8.0"
    assert node["readsUsed"][0]["meterSerial"] == home.meter.serial
    assert node["payments"][0]["amountPaise"] == 50_000
    assert node["balanceDuePaise"] == node["totalPaise"] - node["paidPaise"]
    assert node["account"]["number"] == home.account.number

    rest = api.data(BILLS, {"first": 3, "after": first["pageInfo"]["endCursor"]}, token=token)[
        "myBills"
    ]
    assert [e["node"]["periodStart"] for e in rest["edges"]] == ["2020-02-01", "2020-01-01"]
    assert rest["pageInfo"]["hasNextPage"] is False


def test_first_is_capped_and_cursors_are_checked(api: Api) -> None:
    home = api.run(f.household)
    token = api.token(home.user)
    body = api.gql(BILLS, {"first": 101}, token=token)
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "between 1 and 100" in body["errors"][0]["message"]
    assert error_codes(api.gql(BILLS, {"after": "not-a-cursor"}, token=token)) == ["BAD_USER_INPUT"]


def test_another_customers_bill_is_not_found(api: Api) -> None:
    mine, theirs = api.run(f.household), api.run(f.household)
    their_bill = api.run(f.bill, theirs, date(2020, 1, 1))
    my_bill = api.run(f.bill, mine, date(2020, 1, 1))
    query = "query($id: ID!) { bill(id: $id) { id number } }"
    token = api.token(mine.user)
    assert api.data(query, {"id": str(my_bill.id)}, token=token)["bill"]["id"] == str(my_bill.id)
    body = api.gql(query, {"id": str(their_bill.id)}, token=token)
    assert body["data"] == {"bill": None}
    assert error_codes(body) == ["NOT_FOUND"]
    # the same answer as for a bill that does not exist at all
    assert error_codes(api.gql(query, {"id": "999999"}, token=token)) == ["NOT_FOUND"]
    assert error_codes(api.gql(query, {"id": "x"}, token=token)) == ["NOT_FOUND"]
    listed = api.data(BILLS, token=token)["myBills"]["edges"]
    assert [e["node"]["id"] for e in listed] == [str(my_bill.id)]


def test_drafts_are_hidden_from_customers_and_shown_to_staff(api: Api) -> None:
    from domain.enums import Role

    home = api.run(f.household)
    draft = api.run(f.bill, home, date(2020, 1, 1), status=BillStatus.DRAFT)
    query = "query($id: ID!) { bill(id: $id) { status } }"
    assert error_codes(api.gql(query, {"id": str(draft.id)}, token=api.token(home.user))) == [
        "NOT_FOUND"
    ]
    staff = api.run(f.user, Role.STAFF)
    assert (
        api.data(query, {"id": str(draft.id)}, token=api.token(staff))["bill"]["status"] == "DRAFT"
    )


def _count(api: Api, token: str, first: int) -> tuple[int, list[Any]]:
    api.client.app.state.response_cache.entries.clear()  # type: ignore[attr-defined]
    with count_queries() as statements:
        edges = api.data(BILLS, {"first": first}, token=token)["myBills"]["edges"]
    return len(statements), edges


def test_a_page_of_50_bills_costs_as_many_queries_as_a_page_of_5(make_api: MakeApi) -> None:
    api = make_api(GRIDBILL_SESSION_CHECK_TTL="0")  # every request checks the token's bearer
    home = api.run(f.household)
    for start in months(50):
        api.run(f.bill, home, start, lines=2, payments=2)
    token = api.token(home.user)
    small, small_edges = _count(api, token, 5)
    large, large_edges = _count(api, token, 50)
    assert (len(small_edges), len(large_edges)) == (5, 50)
    assert all(
        len(e["node"]["lines"]) == 2 and len(e["node"]["payments"]) == 2 for e in large_edges
    )
    assert small == large, f"{small} queries for 5 bills but {large} for 50: an N+1 crept in"
    assert large <= 10


def test_pdf_link_is_signed_and_expires(api: Api) -> None:
    content = b"%PDF-1.4 test bill\n"
    relative = "bills/test/bill.pdf"
    (api.settings.var_dir / "bills" / "test").mkdir(parents=True)
    (api.settings.var_dir / relative).write_bytes(content)
    home = api.run(f.household)
    bill = api.run(f.bill, home, date(2020, 1, 1), pdf_path=relative)
    api.run(Bill.filter(id=bill.id).update, pdf_sha256=hashlib.sha256(content).hexdigest())
    url = api.data(BILLS, token=api.token(home.user))["myBills"]["edges"][0]["node"]["pdfUrl"]
    assert url.startswith(f"{api.settings.base_url}/bills/{bill.id}/pdf?expires=")
    path = url.removeprefix(api.settings.base_url)
    response = api.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content == content

    assert api.client.get(path.replace("sig=", "sig=0")).status_code == 403
    other = path.replace(f"/bills/{bill.id}/", f"/bills/{bill.id + 1}/")
    assert api.client.get(other).status_code == 403  # a signature is for one bill only
    expires = int(path.split("expires=")[1].split("&")[0])
    later = path.replace(f"expires={expires}", f"expires={expires + 3600}")
    assert api.client.get(later).status_code == 403  # nor can its expiry be extended


def test_links_expire(api: Api) -> None:
    expires, signature = sign_link(api.settings, PURPOSE, 7, now=time.time() - 2 * 86400)
    assert check_link(api.settings, PURPOSE, 7, expires, signature) == "link expired"
    response = api.client.get(f"/bills/7/pdf?expires={expires}&sig={signature}")
    assert (response.status_code, response.json()) == (403, {"error": "link expired"})
    # "At least the TTL away" holds to the fraction of a second, even on a bucket boundary.
    boundary = 1_800_000_000 - api.settings.download_link_ttl_s + 0.5
    edge, _ = sign_link(api.settings, PURPOSE, 7, now=boundary)
    assert edge - boundary >= api.settings.download_link_ttl_s
    fresh, signature = sign_link(api.settings, PURPOSE, 7)
    assert fresh - time.time() >= api.settings.download_link_ttl_s
    assert check_link(api.settings, PURPOSE, 7, fresh, signature) is None
    assert api.client.get(f"/bills/7/pdf?expires={fresh}&sig={signature}").status_code == 404

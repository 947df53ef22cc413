"""Security deposits over GraphQL (issue #18): staff read one and run the year end; the
refusals are typed; customers cannot."""

from __future__ import annotations

from datetime import date

from api_helpers import Api, error_codes

from domain.enums import Role
from store.models import Account, AuditLog, DepositProposal, LedgerEntry
from tests import factories as f

SHOW = """query($n: String!) { securityDeposit(accountNumber: $n) { accountNumber heldPaise
  requiredPaise interestPercent movements { kind amountPaise effectiveOn } } }"""
YEAR_END = """mutation($y: String!, $n: String) { runDepositYearEnd(input: {year: $y,
  accountNumber: $n}) { __typename ... on DepositYearEndSuccess { year outcomes {
  accountNumber heldPaise interestPaise topUpPaise refundPaise already } }
  ... on OperationError { code message } } }"""


def test_staff_see_a_deposit_and_run_the_year_end_once(api: Api) -> None:
    home = api.run(f.household)
    number = home.account.number
    api.run(Account.filter(id=home.account.id).update, security_deposit_paise=200_000)
    staff = api.token(api.run(f.user, Role.STAFF))

    shown = api.data(SHOW, {"n": number}, token=staff)["securityDeposit"]
    assert (shown["heldPaise"], shown["interestPercent"]) == (200_000, "6.75")
    assert [m["kind"] for m in shown["movements"]] == ["opening"]

    done = api.data(YEAR_END, {"y": "2024-25", "n": number}, token=staff)["runDepositYearEnd"]
    # ₹2,000 held all year at 6.75%: ₹135.00; no bill in the year: the deposit stays
    assert done["outcomes"] == [
        {"accountNumber": number, "heldPaise": 200_000, "interestPaise": 13_500,
         "topUpPaise": 0, "refundPaise": 0, "already": False},
    ]  # fmt: skip
    again = api.data(YEAR_END, {"y": "2024-25", "n": number}, token=staff)["runDepositYearEnd"]
    assert again["outcomes"][0]["already"] is True
    assert api.run(LedgerEntry.filter(account_id=home.account.id, kind="deposit").count) == 1

    bad = api.data(YEAR_END, {"y": "2024-26", "n": number}, token=staff)["runDepositYearEnd"]
    assert bad["code"] == "INVALID_INPUT" and "2024-25" in bad["message"]
    unknown = api.data(YEAR_END, {"y": "2024-25", "n": "NOPE"}, token=staff)["runDepositYearEnd"]
    assert unknown["code"] == "NOT_FOUND"
    assert error_codes(api.gql(SHOW, {"n": "NOPE"}, token=staff)) == ["NOT_FOUND"]
    customer = api.token(home.user)  # type: ignore[arg-type]
    assert error_codes(api.gql(SHOW, {"n": number}, token=customer)) == ["FORBIDDEN"]


DECIDE = """mutation($n: String!, $y: String!, $a: Boolean!) { decideDepositProposal(input:
  {accountNumber: $n, year: $y, approve: $a, reason: "checked"}) { __typename
  ... on DepositProposal { kind amountPaise status already } ... on OperationError { code } } }"""


def test_staff_approve_a_proposed_top_up_once(api: Api) -> None:
    home = api.run(f.household)
    number = home.account.number
    api.run(
        DepositProposal.create, account_id=home.account.id, year="2024-25", kind="top_up",
        amount_paise=50_000, held_paise=0, required_paise=50_000, proposed_on=date(2025, 4, 2),
    )  # fmt: skip
    staff = api.token(api.run(f.user, Role.STAFF))
    shown = api.data(SHOW_PENDING, {"n": number}, token=staff)["securityDeposit"]
    assert shown["pendingProposals"] == [{"year": "2024-25", "status": "pending"}]

    def decide(approve: bool, token: str | None = staff) -> dict[str, object]:
        answer = api.data(DECIDE, {"n": number, "y": "2024-25", "a": approve}, token=token)
        made: dict[str, object] = answer["decideDepositProposal"]
        return made

    assert decide(True) == {"__typename": "DepositProposal", "kind": "top_up",
                            "amountPaise": 50_000, "status": "approved", "already": False}  # fmt: skip
    assert decide(True)["already"] is True
    assert decide(False) == {"__typename": "OperationError", "code": "CONFLICT"}
    entries = api.run(LedgerEntry.filter(account_id=home.account.id, kind="deposit").count)
    assert entries == 1
    assert api.run(AuditLog.filter(action="deposit.proposal_approved").count) == 1
    customer = api.token(home.user)  # type: ignore[arg-type]
    refused = api.gql(DECIDE, {"n": number, "y": "2024-25", "a": True}, token=customer)
    assert error_codes(refused) == ["FORBIDDEN"]


SHOW_PENDING = """query($n: String!) { securityDeposit(accountNumber: $n) {
  pendingProposals { year status } } }"""

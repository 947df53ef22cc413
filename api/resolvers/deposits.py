"""Security deposits' GraphQL doors: the service ``gridbill deposit`` and the yearly task
call (``services.accounts.deposits``)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from api.context import Context
from api.errors import from_refusal
from api.permissions import requires
from api.resolvers.common import result
from api.schema.common import BigInt, OperationError
from api.schema.decorators import field, mutation
from api.schema.deposits import (
    DecideDepositProposalInput,
    DepositMovementType,
    DepositProposalResult,
    DepositProposalType,
    DepositYearEndInput,
    DepositYearEndResult,
    DepositYearEndSuccess,
    DepositYearOutcomeType,
    SecurityDepositType,
)
from domain.access import Operation
from domain.deposit import FinancialYear
from services.accounts import deposits
from services.errors import Refused

Info = strawberry.Info[Context, None]


@strawberry.type
class DepositQueries:
    @field(
        description="An account's security deposit: held, required, interest accrued and "
        "its movements. Errors: NOT_FOUND.",
        extensions=requires(Operation.READ_CUSTOMERS),
    )
    async def security_deposit(self, info: Info, account_number: str) -> SecurityDepositType:
        settings = info.context.settings
        today = datetime.now(settings.zone).date()
        try:
            state = await deposits.show(account_number, today, settings.deposit_interest_percent)
        except Refused as refusal:
            raise from_refusal(refusal) from None
        return SecurityDepositType(
            account_number=state.account_number,
            held_paise=BigInt(state.held_paise),
            required_paise=BigInt(state.required_paise),
            interest_percent=state.interest_percent,
            accrued_interest_paise=BigInt(state.accrued_interest_paise),
            movements=[
                DepositMovementType(
                    kind=m.kind,
                    amount_paise=BigInt(m.amount_paise),
                    effective_on=m.effective_on,
                    description=m.description,
                )
                for m in state.movements
            ],
            pending_proposals=[_proposal(p) for p in state.pending],
        )


def _proposal(made: deposits.Proposal) -> DepositProposalType:
    return DepositProposalType(
        account_number=made.account_number, year=made.year, kind=made.kind,
        amount_paise=BigInt(made.amount_paise), status=made.status, already=made.already,
    )  # fmt: skip


@strawberry.type
class DepositMutations:
    @mutation(
        description="Review deposits and credit interest for a financial year that has "
        "ended, as the yearly task does (each account once). Errors: INVALID_INPUT, NOT_FOUND.",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def run_deposit_year_end(
        self, info: Info, input: DepositYearEndInput
    ) -> DepositYearEndResult:
        settings = info.context.settings

        async def work() -> DepositYearEndSuccess:
            try:
                year = FinancialYear.parse(input.year)
            except ValueError as exc:
                raise Refused("INVALID_INPUT", str(exc), field="year") from None
            outcomes = await deposits.year_end(
                info.context.viewer, year, datetime.now(settings.zone).date(),
                settings.deposit_interest_percent, account_number=input.account_number,
                review=input.review, interest=input.interest,
            )  # fmt: skip
            return DepositYearEndSuccess(
                year=year.label,
                outcomes=[
                    DepositYearOutcomeType(
                        account_number=o.account_number,
                        held_paise=BigInt(o.held_paise),
                        required_paise=BigInt(o.required_paise),
                        top_up_paise=BigInt(o.top_up_paise),
                        refund_paise=BigInt(o.refund_paise),
                        interest_paise=BigInt(o.interest_paise),
                        already=o.already,
                    )
                    for o in outcomes
                ],
            )

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Approve or reject the yearly review's proposed top-up or refund of "
        "one account's deposit (approving posts it; deciding the same again changes "
        "nothing). Errors: INVALID_INPUT, NOT_FOUND, CONFLICT (decided the other way).",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def decide_deposit_proposal(
        self, info: Info, input: DecideDepositProposalInput
    ) -> DepositProposalResult:
        settings = info.context.settings

        async def work() -> deposits.Proposal:
            try:
                year = FinancialYear.parse(input.year)
            except ValueError as exc:
                raise Refused("INVALID_INPUT", str(exc), field="year") from None
            return await deposits.decide(
                info.context.viewer, input.account_number, year, approve=input.approve,
                on=datetime.now(settings.zone).date(), reason=input.reason,
            )  # fmt: skip

        return await result(work, _proposal, OperationError)

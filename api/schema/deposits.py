"""Security deposits as staff see and run them over GraphQL (``gridbill deposit`` too)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from api.schema.common import BigInt, OperationError


@strawberry.type(name="DepositMovement")
class DepositMovementType:
    kind: str = strawberry.field(description="opening, top_up, refund, review or move_out.")
    amount_paise: BigInt = strawberry.field(description="Positive: more held.")
    effective_on: date
    description: str


@strawberry.type(name="DepositProposal")
class DepositProposalType:
    account_number: str
    year: str
    kind: str = strawberry.field(description="top_up or refund.")
    amount_paise: BigInt = strawberry.field(description="The top-up or refund, positive.")
    status: str = strawberry.field(description="pending, approved or rejected.")
    already: bool = strawberry.field(
        default=False, description="Decided so before: nothing changed now."
    )


@strawberry.type(name="SecurityDeposit")
class SecurityDepositType:
    account_number: str
    held_paise: BigInt
    required_paise: BigInt = strawberry.field(
        description="Two months' average of the last twelve issued bills."
    )
    interest_percent: Decimal = strawberry.field(
        description="GRIDBILL_DEPOSIT_INTEREST_PERCENT, a year."
    )
    accrued_interest_paise: BigInt = strawberry.field(
        description="Earned since 1 April, credited after 31 March (or at move-out)."
    )
    movements: list[DepositMovementType]
    pending_proposals: list[DepositProposalType] = strawberry.field(
        description="Yearly reviews' top-ups and refunds waiting for staff to decide."
    )


@strawberry.input
class DepositYearEndInput:
    year: str = strawberry.field(description="A financial year that has ended, e.g. `2025-26`.")
    account_number: str | None = strawberry.field(default=None, description="Default: all.")
    review: bool = strawberry.field(
        default=True, description="Size each deposit: top-up or refund."
    )
    interest: bool = strawberry.field(default=True, description="Credit the year's interest.")


@strawberry.type(name="DepositYearOutcome")
class DepositYearOutcomeType:
    account_number: str
    held_paise: BigInt
    required_paise: BigInt
    top_up_paise: BigInt = strawberry.field(
        description="Proposed to staff: once approved, billed as a charge on the next bill."
    )
    refund_paise: BigInt = strawberry.field(
        description="Proposed to staff: once approved, credited to the account."
    )
    interest_paise: BigInt
    already: bool = strawberry.field(description="Nothing new: done before, or nothing to do.")


@strawberry.type
class DepositYearEndSuccess:
    year: str
    outcomes: list[DepositYearOutcomeType]


DepositYearEndResult = Annotated[
    DepositYearEndSuccess | OperationError, strawberry.union("DepositYearEndResult")
]


@strawberry.input
class DecideDepositProposalInput:
    account_number: str
    year: str = strawberry.field(description="The reviewed financial year, e.g. `2025-26`.")
    approve: bool = strawberry.field(description="True: post the change. False: reject it.")
    reason: str = strawberry.field(default="", description="Recorded in the audit log.")


DepositProposalResult = Annotated[
    DepositProposalType | OperationError, strawberry.union("DepositProposalResult")
]

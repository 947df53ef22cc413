"""Staff billing operations: bill runs, issue, cancel and rebill, adjustments."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry import ID

from api.schema.bills import BillRunType, BillType
from api.schema.common import BigInt, OperationError
from api.schema.enums import AdjustmentKind


@strawberry.input
class StartBillRunInput:
    cycle_code: str
    period: str = strawberry.field(description="The billing month, e.g. `2026-03`.")


@strawberry.input
class IssueBillRunInput:
    bill_run_id: ID
    issue_date: date | None = strawberry.field(default=None, description="Default: today.")


@strawberry.input
class IssueBillsInput:
    bill_ids: list[ID] = strawberry.field(description="Reviewed drafts; at most 500.")
    issue_date: date | None = None


@strawberry.input
class CancelBillInput:
    bill_id: ID
    reason: str


@strawberry.input
class RaiseAdjustmentInput:
    account_id: ID
    kind: AdjustmentKind = strawberry.field(
        description="Credit notes, waivers and subsidies lower the balance; debit notes raise it."
    )
    amount_paise: BigInt = strawberry.field(description="The size of the note, a positive number.")
    reason: str
    bill_id: ID | None = None
    on: date | None = strawberry.field(default=None, description="Effective date; default today.")


@strawberry.type
class BillRunSuccess:
    bill_run: BillRunType
    queued: bool = strawberry.field(description="The work runs in the background: poll `billRun`.")


@strawberry.type
class IssueBillsSuccess:
    issued_count: int
    numbers: list[str]
    payable_paise: BigInt


@strawberry.type
class CancelBillSuccess:
    bill: BillType
    credit_note_number: str | None


@strawberry.type
class RebillSuccess:
    cancelled: BillType
    draft: BillType = strawberry.field(description="The new draft, to review and issue.")


@strawberry.type(name="Adjustment")
class AdjustmentType:
    id: ID
    number: str
    kind: AdjustmentKind
    amount_paise: BigInt = strawberry.field(description="Negative: a credit to the customer.")
    reason: str


@strawberry.type
class AdjustmentSuccess:
    adjustment: AdjustmentType


BillRunResult = Annotated[BillRunSuccess | OperationError, strawberry.union("BillRunResult")]
IssueBillsResult = Annotated[
    IssueBillsSuccess | OperationError, strawberry.union("IssueBillsResult")
]
CancelBillResult = Annotated[
    CancelBillSuccess | OperationError, strawberry.union("CancelBillResult")
]
RebillResult = Annotated[RebillSuccess | OperationError, strawberry.union("RebillResult")]
AdjustmentResult = Annotated[
    AdjustmentSuccess | OperationError, strawberry.union("AdjustmentResult")
]

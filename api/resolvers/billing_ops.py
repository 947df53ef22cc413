"""Staff billing operations over the bill-run and billing services.

A bill run and the issue of a whole run are background jobs (``jobs/billing.py``): the
mutation queues the work and answers with the run, whose progress staff poll with
``billRun``. Issuing reviewed drafts by id, cancelling, rebilling and adjustments happen
in the request. The services own each operation's transaction, audit row, refusals and
events, so ``gridbill bill-run`` and the jobs behave exactly as these mutations do.
"""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import Context
from api.permissions import requires
from api.resolvers.common import id_or_refuse, result
from api.schema.billing_ops import (
    AdjustmentResult,
    AdjustmentSuccess,
    BillRunResult,
    BillRunSuccess,
    CancelBillInput,
    CancelBillResult,
    CancelBillSuccess,
    IssueBillRunInput,
    IssueBillsInput,
    IssueBillsResult,
    IssueBillsSuccess,
    RaiseAdjustmentInput,
    RebillResult,
    RebillSuccess,
    StartBillRunInput,
)
from api.schema.common import BigInt, OperationError
from api.schema.decorators import mutation
from domain import enums
from domain.access import Operation
from jobs.billing import defer_bill_pdfs
from jobs.runtime import defer
from services import audit
from services.billing import adjustments
from services.billing.corrections import cancel_bill, rebill
from services.billing.issue import issuable_run, issue_bills
from services.billing.runs import start_run
from services.errors import Refused
from store.models import Bill, BillRun

Info = strawberry.Info[Context, None]
MAX_ISSUE = 500


@strawberry.type
class BillingMutations:
    @mutation(
        description="Draft a cycle's bills for a month in the background (resumes an unfinished run).",
        extensions=requires(Operation.RUN_BILLING),
    )
    async def start_bill_run(self, info: Info, input: StartBillRunInput) -> BillRunResult:
        async def work() -> BillRunSuccess:
            run, cycle, month = await start_run(
                info.context.viewer, cycle_code=input.cycle_code, period=input.period
            )
            await defer("bill_run", cycle=cycle.code, period=str(month))
            return BillRunSuccess(bill_run=run, queued=True)  # type: ignore[arg-type]

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Issue every reviewed draft of a completed run, in the background.",
        extensions=requires(Operation.RUN_BILLING),
    )
    async def issue_bill_run(self, info: Info, input: IssueBillRunInput) -> BillRunResult:
        viewer = info.context.viewer

        async def work() -> BillRunSuccess:
            found = await BillRun.get_or_none(
                id=id_or_refuse(input.bill_run_id, "bill run", "billRunId")
            ).prefetch_related("cycle")
            if found is None:
                raise Refused("NOT_FOUND", "bill run not found", field="billRunId")
            period = f"{found.period_start:%Y-%m}"
            run = await issuable_run(cycle_code=found.cycle.code, period=period)
            if run.id != found.id:
                raise Refused("INVALID_STATE", f"bill run #{run.id} replaced this one: issue it")
            issue_date = input.issue_date or info.context.today
            await audit.record(
                viewer=viewer, action="bill_run.issue_queued", entity="bill_run", entity_id=run.id,
                after={"issue_date": issue_date},
            )  # fmt: skip
            await defer(
                "issue_bills", cycle=found.cycle.code, period=period,
                issue_date=issue_date.isoformat(), requested_by=viewer.user_id,
            )  # fmt: skip
            return BillRunSuccess(bill_run=run, queued=True)  # type: ignore[arg-type]

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Issue reviewed drafts now: numbers, dates and ledger postings.",
        extensions=requires(Operation.RUN_BILLING),
    )
    async def issue_bills(self, info: Info, input: IssueBillsInput) -> IssueBillsResult:
        settings = info.context.settings

        async def work() -> IssueBillsSuccess:
            if not input.bill_ids or len(input.bill_ids) > MAX_ISSUE:
                raise Refused("INVALID_INPUT", f"give 1 to {MAX_ISSUE} bills", field="billIds")
            ids = [id_or_refuse(i, "bill", "billIds") for i in input.bill_ids]
            issued = await issue_bills(
                info.context.viewer, ids, issue_date=input.issue_date or info.context.today,
                utility_name=settings.utility_name, payee_vpa=settings.upi_vpa, chunk_size=MAX_ISSUE,
                letterhead=settings.letterhead,
            )  # fmt: skip
            if issued.issued:
                await defer_bill_pdfs(issued.issued)
            return IssueBillsSuccess(
                issued_count=len(issued.issued), numbers=issued.numbers,
                payable_paise=BigInt(issued.payable_paise),
            )  # fmt: skip

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Cancel a bill; an issued one gets a credit note.",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def cancel_bill(self, info: Info, input: CancelBillInput) -> CancelBillResult:
        async def work() -> CancelBillSuccess:
            bill_id = id_or_refuse(input.bill_id, "bill", "billId")
            number = await cancel_bill(
                info.context.viewer, bill_id, reason=input.reason, on=info.context.today
            )
            return CancelBillSuccess(bill=await Bill.get(id=bill_id), credit_note_number=number)  # type: ignore[arg-type]

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Cancel a bill and draft it again from today's data (reads corrected since).",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def rebill(self, info: Info, input: CancelBillInput) -> RebillResult:
        async def work() -> RebillSuccess:
            bill_id = id_or_refuse(input.bill_id, "bill", "billId")
            draft_id = await rebill(
                info.context.viewer, bill_id, reason=input.reason, on=info.context.today,
                zone=info.context.settings.zone,
            )  # fmt: skip
            cancelled, drafted = await Bill.get(id=bill_id), await Bill.get(id=draft_id)
            return RebillSuccess(cancelled=cancelled, draft=drafted)  # type: ignore[arg-type]

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Raise a credit or debit note on an account (optionally against a bill).",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def raise_adjustment(self, info: Info, input: RaiseAdjustmentInput) -> AdjustmentResult:
        viewer = info.context.viewer

        async def work() -> Any:
            data = adjustments.NewAdjustment(
                account_id=id_or_refuse(input.account_id, "account", "accountId"),
                kind=enums.AdjustmentKind(input.kind), amount_paise=int(input.amount_paise),
                reason=input.reason,
                bill_id=id_or_refuse(input.bill_id, "bill", "billId") if input.bill_id else None,
                on=input.on,
            )  # fmt: skip
            return await adjustments.raise_adjustment(viewer, data, today=info.context.today)

        return await result(work, lambda a: AdjustmentSuccess(adjustment=a), OperationError)

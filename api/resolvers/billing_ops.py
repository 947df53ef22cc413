"""Staff billing operations over the bill-run and billing services.

A bill run and the issue of a whole run are background jobs (``jobs/billing.py``): the
mutation queues the work and answers with the run, whose progress staff poll with
``billRun``. Issuing reviewed drafts by id, cancelling, rebilling and adjustments happen
in the request. Every operation writes an audit row, and bill changes are published as
events (``bill.issued``, ``bill.cancelled``) so customers' apps and caches hear of them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from tortoise.transactions import in_transaction

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
from api.schema.common import BigInt
from api.schema.decorators import mutation
from api.schema.operations import OperationError
from domain import enums
from domain.access import Operation
from gridbill.errors import UserError
from jobs.runtime import defer
from services import adjustments, audit
from services.bill_run import prepare_run
from services.billing import announce_bills as announce
from services.billing import cancel_bill, issue_bills, rebill
from services.errors import Refused
from store.models import Bill, BillRun

Info = strawberry.Info[Context, None]
MAX_ISSUE = 500


def _refuse(exc: UserError, code: str = "INVALID_STATE", field: str | None = None) -> Refused:
    return Refused(code, str(exc), field=field)


@strawberry.type
class BillingMutations:
    @mutation(
        description="Draft a cycle's bills for a month in the background (resumes an unfinished run).",
        extensions=requires(Operation.RUN_BILLING),
    )
    async def start_bill_run(self, info: Info, input: StartBillRunInput) -> BillRunResult:
        viewer = info.context.viewer

        async def work() -> BillRunSuccess:
            try:
                run, cycle, month = await prepare_run(
                    cycle_code=input.cycle_code.strip(), period=input.period.strip(),
                    started_by_id=viewer.user_id,
                )  # fmt: skip
            except UserError as exc:
                raise _refuse(exc, "INVALID_INPUT") from None
            if run.status == enums.BillRunStatus.RUNNING:
                raise Refused(
                    "INVALID_STATE", f"bill run #{run.id} of this cycle and month is running"
                )
            await audit.record(
                viewer=viewer, action="bill_run.started", entity="bill_run", entity_id=run.id,
                after={"cycle": cycle.code, "period": str(month)},
            )  # fmt: skip
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
            run = await BillRun.get_or_none(
                id=id_or_refuse(input.bill_run_id, "bill run", "billRunId")
            )
            if run is None:
                raise Refused("NOT_FOUND", "bill run not found", field="billRunId")
            if run.status != enums.BillRunStatus.COMPLETED:
                raise Refused(
                    "INVALID_STATE", f"the run is {run.status.value}: issue it once it completes"
                )
            await run.fetch_related("cycle")
            issue_date = input.issue_date or info.context.today
            await audit.record(
                viewer=viewer, action="bill_run.issue_queued", entity="bill_run", entity_id=run.id,
                after={"issue_date": issue_date},
            )  # fmt: skip
            await defer(
                "issue_bills", cycle=run.cycle.code, period=f"{run.period_start:%Y-%m}",
                issue_date=issue_date.isoformat(),
            )  # fmt: skip
            return BillRunSuccess(bill_run=run, queued=True)  # type: ignore[arg-type]

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Issue reviewed drafts now: numbers, dates and ledger postings.",
        extensions=requires(Operation.RUN_BILLING),
    )
    async def issue_bills(self, info: Info, input: IssueBillsInput) -> IssueBillsResult:
        viewer = info.context.viewer
        settings = info.context.settings

        async def work() -> IssueBillsSuccess:
            if not input.bill_ids or len(input.bill_ids) > MAX_ISSUE:
                raise Refused("INVALID_INPUT", f"give 1 to {MAX_ISSUE} bills", field="billIds")
            ids = [id_or_refuse(i, "bill", "billIds") for i in input.bill_ids]
            day: date = input.issue_date or info.context.today
            async with in_transaction():
                try:
                    issued = await issue_bills(
                        ids,
                        issue_date=day,
                        utility_name=settings.utility_name,
                        payee_vpa=settings.upi_vpa,
                        announce=False,  # announced below, once the audit row commits too
                    )
                except UserError as exc:
                    raise _refuse(exc) from None
                await audit.record(
                    viewer=viewer, action="bills.issued", entity="bill", entity_id=",".join(map(str, issued.issued))[:40],
                    after={"bills": issued.issued, "numbers": issued.numbers, "issue_date": day},
                )  # fmt: skip
            await announce("bill.issued", issued.issued)
            if issued.issued:
                await defer("render_bill_pdfs", bill_ids=issued.issued)
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
        viewer = info.context.viewer

        async def work() -> CancelBillSuccess:
            bill_id = id_or_refuse(input.bill_id, "bill", "billId")
            if not await Bill.exists(id=bill_id):
                raise Refused("NOT_FOUND", "bill not found", field="billId")
            async with in_transaction():
                try:
                    number = await cancel_bill(
                        bill_id, reason=input.reason, on=info.context.today, user_id=viewer.user_id
                    )
                except UserError as exc:
                    raise _refuse(exc) from None
                await audit.record(
                    viewer=viewer, action="bill.cancelled", entity="bill", entity_id=bill_id,
                    after={"credit_note": number}, reason=input.reason,
                )  # fmt: skip
            await announce("bill.cancelled", [bill_id])
            return CancelBillSuccess(bill=await Bill.get(id=bill_id), credit_note_number=number)  # type: ignore[arg-type]

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Cancel a bill and draft it again from today's data (reads corrected since).",
        extensions=requires(Operation.ADJUST_BILLS),
    )
    async def rebill(self, info: Info, input: CancelBillInput) -> RebillResult:
        viewer = info.context.viewer

        async def work() -> RebillSuccess:
            bill_id = id_or_refuse(input.bill_id, "bill", "billId")
            if not await Bill.exists(id=bill_id):
                raise Refused("NOT_FOUND", "bill not found", field="billId")
            async with in_transaction():
                try:
                    draft_id = await rebill(
                        bill_id, reason=input.reason, on=info.context.today,
                        zone=info.context.settings.zone, user_id=viewer.user_id,
                    )  # fmt: skip
                except UserError as exc:
                    raise _refuse(exc) from None
                await audit.record(
                    viewer=viewer, action="bill.rebilled", entity="bill", entity_id=bill_id,
                    after={"draft": draft_id}, reason=input.reason,
                )  # fmt: skip
            await announce("bill.cancelled", [bill_id])
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

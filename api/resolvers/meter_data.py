"""Meter data review (staff): the exceptions queue, counts per rule, accept/reject/replace."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import Context
from api.errors import not_found
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, result
from api.schema.common import Connection
from api.schema.decorators import field, mutation
from api.schema.meter_data import (
    DecideExceptionInput,
    ExceptionDecisionResult,
    ExceptionDecisionSuccess,
    ExceptionRuleCount,
    MeterDataError,
    ReplaceExceptionValueInput,
    ValidationExceptionType,
)
from domain import enums
from domain.access import Operation
from services.meter_data import vee_review
from store.models import IntervalReading, Meter, RegisterRead

Info = strawberry.Info[Context, None]


async def _attach_values(nodes: list[Any]) -> None:
    """Load the flagged reads and intervals of a page in two queries, not one per row."""
    read_ids = [n.register_read_id for n in nodes if n.register_read_id is not None]
    interval_ids = [n.interval_reading_id for n in nodes if n.interval_reading_id is not None]
    reads = {r.id: r for r in await RegisterRead.filter(id__in=read_ids)} if read_ids else {}
    intervals = (
        {i.id: i for i in await IntervalReading.filter(id__in=interval_ids)} if interval_ids else {}
    )
    for node in nodes:
        node.loaded_read = reads.get(node.register_read_id)
        node.loaded_interval = intervals.get(node.interval_reading_id)


@strawberry.type
class MeterDataQueries:
    @field(
        description="The VEE exceptions queue, newest first: values a rule flagged, waiting "
        "for staff (open by default); filter by rule or meter serial.",
        extensions=requires(Operation.READ_METERS),
    )
    async def validation_exceptions(
        self,
        info: Info,
        status: enums.ExceptionStatus | None = enums.ExceptionStatus.OPEN,
        rule: str | None = None,
        meter_serial: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ValidationExceptionType]:
        meter_id = None
        if meter_serial:
            meter = await Meter.get_or_none(serial=meter_serial.strip())
            if meter is None:
                raise not_found("meter")
            meter_id = meter.id
        page = await paginate(
            vee_review.queue(
                status=status,
                rule=rule,
                meter_id=meter_id,
            ),
            first=first,
            after=after,
        )
        await _attach_values([edge.node for edge in page.edges])
        return page

    @field(
        description="How many exceptions each rule has in a status (open by default).",
        extensions=requires(Operation.READ_METERS),
    )
    async def validation_exception_counts(
        self,
        info: Info,
        status: enums.ExceptionStatus = enums.ExceptionStatus.OPEN,
    ) -> list[ExceptionRuleCount]:
        counts = await vee_review.counts(status=status)
        return [ExceptionRuleCount(rule=rule, count=n) for rule, n in counts.items()]


async def _decided(decision: vee_review.Decision) -> ExceptionDecisionSuccess:
    await _attach_values([decision.exception])
    return ExceptionDecisionSuccess(exception=decision.exception, changed=decision.changed)  # type: ignore[arg-type]


async def _decide(work: Any) -> ExceptionDecisionSuccess | MeterDataError:
    async def run() -> ExceptionDecisionSuccess:
        return await _decided(await work())

    outcome: ExceptionDecisionSuccess | MeterDataError = await result(
        run, lambda success: success, MeterDataError
    )
    return outcome


@strawberry.type
class MeterDataMutations:
    @mutation(
        description="The flagged value is right: it becomes valid and counts for usage and bills.",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def accept_validation_exception(
        self, info: Info, input: DecideExceptionInput
    ) -> ExceptionDecisionResult:
        return await _decide(
            lambda: vee_review.accept(
                info.context.viewer,
                exception_id=id_or_refuse(input.id, "validation exception", "id"),
                reason=input.reason,
                settings=info.context.settings,
            )
        )

    @mutation(
        description="The flagged value is wrong: it is rejected and never billed.",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def reject_validation_exception(
        self, info: Info, input: DecideExceptionInput
    ) -> ExceptionDecisionResult:
        return await _decide(
            lambda: vee_review.reject(
                info.context.viewer,
                exception_id=id_or_refuse(input.id, "validation exception", "id"),
                reason=input.reason,
                settings=info.context.settings,
            )
        )

    @mutation(
        description="Replace a flagged read or interval with the right value (kept as edited; "
        "the old value stays as a revision).",
        extensions=requires(Operation.WRITE_METERS),
    )
    async def replace_validation_exception_value(
        self, info: Info, input: ReplaceExceptionValueInput
    ) -> ExceptionDecisionResult:
        return await _decide(
            lambda: vee_review.replace(
                info.context.viewer,
                exception_id=id_or_refuse(input.id, "validation exception", "id"),
                value=input.value,
                reason=input.reason,
                settings=info.context.settings,
            )
        )

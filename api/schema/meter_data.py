"""Meter data review: the VEE exceptions queue, its counts per rule, and staff decisions."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import strawberry
from strawberry import ID
from strawberry.scalars import JSON

import api.schema.enums  # noqa: F401 - registers ReadQuality and ReadSource with strawberry
from api.context import Context
from api.schema.common import Error
from api.schema.decorators import field
from api.schema.meters import MeterType
from domain import enums

Info = strawberry.Info[Context, None]

strawberry.enum(
    enums.ExceptionStatus,
    name="ValidationExceptionStatus",
    description="Where a flagged value stands: open, or decided (accepted, rejected, replaced).",
)
ValidationExceptionStatus = enums.ExceptionStatus


def _kwh(milli: int) -> str:
    return str(Decimal(milli) / 1000)


@strawberry.type(description="A register read a VEE rule flagged.")
class FlaggedRead:
    id: ID
    read_at: datetime
    value: str = strawberry.field(description="What the register showed, in its unit (kWh…).")
    quality: enums.ReadQuality
    source: enums.ReadSource
    quality_flags: list[str] = strawberry.field(description="Every rule that fired on it.")
    revision: int


@strawberry.type(description="An interval reading a VEE rule flagged.")
class FlaggedInterval:
    id: ID
    interval_start: datetime
    minutes: int
    kwh: str
    quality: enums.ReadQuality
    source: enums.ReadSource
    estimation_method: str
    revision: int


@strawberry.type(
    name="ValidationException",
    description="A VEE rule that fired on a read, an interval, a gap or a whole day, for staff "
    "to accept, reject or replace. `detail` says what the rule saw (values in kWh).",
)
class ValidationExceptionType:
    id: ID
    rule: str = strawberry.field(description="The rule code (docs/meter-data.md).")
    status: enums.ExceptionStatus
    detail: JSON
    created_at: datetime
    resolved_at: datetime | None
    resolution_reason: str

    @field()
    async def meter(self, info: Info) -> MeterType:
        return await info.context.loaders.meter.load(self.meter_id)  # type: ignore[attr-defined,return-value]

    @field(description="The flagged register read, if the rule fired on one.")
    def read(self) -> FlaggedRead | None:
        found: Any = getattr(self, "loaded_read", None)
        if found is None:
            return None
        return FlaggedRead(
            id=ID(str(found.id)), read_at=found.read_at, value=_kwh(found.value_milli),
            quality=found.quality, source=found.source,
            quality_flags=[str(f) for f in found.quality_flags or []], revision=found.revision,
        )  # fmt: skip

    @field(description="The flagged interval, if the rule fired on one.")
    def interval(self) -> FlaggedInterval | None:
        found: Any = getattr(self, "loaded_interval", None)
        if found is None:
            return None
        return FlaggedInterval(
            id=ID(str(found.id)), interval_start=found.interval_start,
            minutes=found.length_s // 60, kwh=_kwh(found.value_wh), quality=found.quality,
            source=found.source, estimation_method=found.estimation_method,
            revision=found.revision,
        )  # fmt: skip


@strawberry.type(description="How many exceptions one rule has in a status.")
class ExceptionRuleCount:
    rule: str
    count: int


@strawberry.type(description="The decision was recorded (and audited).")
class ExceptionDecisionSuccess:
    exception: ValidationExceptionType
    changed: int = strawberry.field(
        description="Reads or intervals whose quality or value changed."
    )


@strawberry.type(description="A decision that could not be made; `code` says why.")
class MeterDataError(Error):
    pass


ExceptionDecisionResult = Annotated[
    ExceptionDecisionSuccess | MeterDataError, strawberry.union("ExceptionDecisionResult")
]


@strawberry.input(description="Accept or reject a flagged value, with the reason.")
class DecideExceptionInput:
    id: ID
    reason: str


@strawberry.input(description="Replace a flagged read or interval with the right value.")
class ReplaceExceptionValueInput:
    id: ID
    value: str = strawberry.field(
        description="kWh for an interval; the register's reading (in its unit) for a read."
    )
    reason: str

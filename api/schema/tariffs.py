"""Tariffs, their immutable versions, bill estimates priced on them, and the inputs and
results of the staff mutations that add a version and put an account on a tariff."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry import ID
from strawberry.scalars import JSON

from api.context import Context
from api.permissions import requires
from api.schema.common import BigInt, Error, OperationError
from api.schema.decorators import field
from api.schema.enums import AccountCategory
from domain.access import Operation

Info = strawberry.Info[Context, None]


@strawberry.type(name="TariffVersion", description="One regulator order's rates; never edited.")
class TariffVersionType:
    id: ID
    version: int
    effective_from: date
    effective_to: date | None = strawberry.field(description="Exclusive; null while in force.")
    document_sha256: str
    source_reference: str

    @field(
        name="document",
        description="The tariff document (docs/tariffs.md).",
        extensions=requires(Operation.READ_TARIFFS),
    )
    def document_json(self) -> JSON:
        return self.document  # type: ignore[attr-defined,no-any-return]


@strawberry.type(name="Tariff", description="A named rate schedule, e.g. LT-1A residential.")
class TariffType:
    id: ID
    code: str
    name: str
    category: str
    currency: str

    @field(extensions=requires(Operation.READ_TARIFFS))
    async def versions(self, info: Info) -> list[TariffVersionType]:
        return await info.context.loaders.tariff_versions.load(int(self.id))  # type: ignore[return-value]


@strawberry.type(description="One line of an estimate, priced exactly as a bill line would be.")
class EstimateLine:
    component: str
    code: str
    description: str
    quantity: str | None
    unit: str
    rate: str | None
    amount: str = strawberry.field(
        description="In the currency's major unit, e.g. rupees: `1234.50`."
    )
    amount_paise: BigInt
    tou_period: str | None


@strawberry.type(description="What a bill for the given usage would be on the account's tariff.")
class BillEstimate:
    tariff_code: str
    tariff_name: str
    currency: str
    period_start: date
    period_end: date = strawberry.field(description="Inclusive.")
    kwh: str
    lines: list[EstimateLine]
    total: str
    total_paise: BigInt


@strawberry.type(
    description="Why no estimate could be made (NO_TARIFF, NOT_PRICEABLE, INVALID_INPUT…)."
)
class EstimateError(Error):
    pass


BillEstimateResult = Annotated[BillEstimate | EstimateError, strawberry.union("BillEstimateResult")]


# --- mutations: results and inputs -------------------------------------------------------


@strawberry.type
class TariffVersionSuccess:
    tariff: TariffType
    version: TariffVersionType
    closed_previous_version: int | None


@strawberry.type
class TariffAssignmentSuccess:
    account_id: ID
    tariff: TariffType
    effective_from: date


TariffVersionResult = Annotated[
    TariffVersionSuccess | OperationError, strawberry.union("TariffVersionResult")
]
TariffAssignmentResult = Annotated[
    TariffAssignmentSuccess | OperationError, strawberry.union("TariffAssignmentResult")
]


@strawberry.input
class CreateTariffVersionInput:
    document: JSON = strawberry.field(
        description="A tariff document (docs/tariffs.md); its `code` names the tariff."
    )
    effective_from: date
    category: AccountCategory = strawberry.field(description="For a new tariff: whom it is for.")
    source_reference: str = ""


@strawberry.input
class AssignTariffInput:
    account_id: ID
    tariff_code: str
    effective_from: date

"""Tariffs for staff: list them, store a new version from a date, put an account on one."""

from __future__ import annotations

from typing import Any

import strawberry

from api.context import Context
from api.permissions import requires
from api.resolvers.common import id_or_refuse, result
from api.schema.common import OperationError
from api.schema.decorators import field, mutation
from api.schema.tariffs import (
    AssignTariffInput,
    CreateTariffVersionInput,
    TariffAssignmentResult,
    TariffAssignmentSuccess,
    TariffType,
    TariffVersionResult,
    TariffVersionSuccess,
)
from domain import enums
from domain.access import Operation
from services.billing.tariffs import TariffVersionError, add_version, assign
from services.errors import Refused
from store.models import Account, Tariff, TariffVersion

Info = strawberry.Info[Context, None]


@strawberry.type
class TariffQueries:
    @field(description="Every tariff (staff).", extensions=requires(Operation.READ_TARIFFS))
    async def tariffs(self, info: Info) -> list[TariffType]:
        return await Tariff.all().order_by("code")  # type: ignore[return-value]


@strawberry.type
class TariffMutations:
    @mutation(
        description="Store a new version of a tariff (validated by the tariff engine) from a date; admins.",
        extensions=requires(Operation.WRITE_TARIFFS),
    )
    async def create_tariff_version(
        self, info: Info, input: CreateTariffVersionInput
    ) -> TariffVersionResult:
        viewer = info.context.viewer

        async def work() -> TariffVersionSuccess:
            if not isinstance(input.document, dict):
                raise Refused(
                    "TARIFF_INVALID", "the document must be a JSON object", field="document"
                )
            try:
                stored = await add_version(
                    viewer, document=input.document, effective_from=input.effective_from,
                    category=enums.AccountCategory(input.category).value,
                    source_reference=input.source_reference,
                )  # fmt: skip
            except TariffVersionError as exc:
                raise Refused("TARIFF_INVALID", str(exc), field="document") from None
            return TariffVersionSuccess(
                tariff=await Tariff.get(id=stored.tariff_id),  # type: ignore[arg-type]
                version=await TariffVersion.get(id=stored.version_id),  # type: ignore[arg-type]
                closed_previous_version=stored.closed_previous,
            )

        return await result(work, lambda s: s, OperationError)

    @mutation(
        description="Put an account on a tariff from a date (closes its current assignment).",
        extensions=requires(Operation.ASSIGN_TARIFFS),
    )
    async def assign_tariff(self, info: Info, input: AssignTariffInput) -> TariffAssignmentResult:
        viewer = info.context.viewer

        async def work() -> Any:
            account = await Account.get_or_none(
                id=id_or_refuse(input.account_id, "account", "accountId")
            )
            if account is None:
                raise Refused("NOT_FOUND", "account not found", field="accountId")
            try:
                tariff = await assign(
                    viewer, account_number=account.number, tariff_code=input.tariff_code.strip(),
                    effective_from=input.effective_from,
                )  # fmt: skip
            except TariffVersionError as exc:
                raise Refused("INVALID_INPUT", str(exc), field="tariffCode") from None
            return TariffAssignmentSuccess(
                account_id=strawberry.ID(str(account.id)),
                tariff=tariff,  # type: ignore[arg-type]
                effective_from=input.effective_from,
            )

        return await result(work, lambda s: s, OperationError)

"""DataLoaders: one query per kind of row per request, however many fields ask for them.

Named ``<Model>By<Key>Loader`` and created per request by the context getter (a
:class:`Loaders` per request, each loader on first use), never at module level: a
loader caches what it loaded, and that cache must not outlive the request or cross
from one viewer to another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar, Generic, TypeVar

from strawberry.dataloader import DataLoader
from tortoise.expressions import Q
from tortoise.functions import Sum
from tortoise.models import Model

from store.models import (
    Account,
    AccountHolder,
    Bill,
    BillingCycle,
    BillLine,
    BillRead,
    Customer,
    FieldDevice,
    LedgerEntry,
    Meter,
    MeterInstallation,
    PartnerClient,
    Payment,
    Premise,
    Register,
    RegisterRead,
    Route,
    RouteStop,
    ServicePoint,
    SupportMessage,
    SyncItem,
    Tariff,
    TariffAssignment,
    TariffVersion,
    User,
)

M = TypeVar("M", bound=Model)


class ByIdLoader(DataLoader[int, M | None], Generic[M]):
    """Rows by primary key; a missing id loads as None."""

    model: ClassVar[type[Model]]

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[M | None]:
        rows: list[Any] = await self.model.filter(id__in=keys)
        by_id = {row.pk: row for row in rows}
        return [by_id.get(key) for key in keys]


class GroupLoader(DataLoader[int, list[M]], Generic[M]):
    """Child rows grouped by a foreign key, in a fixed order; none loads as []."""

    model: ClassVar[type[Model]]
    key: ClassVar[str]
    order: ClassVar[tuple[str, ...]] = ("id",)
    extra: ClassVar[dict[str, Any]] = {}

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[list[M]]:
        rows: list[Any] = await self.model.filter(
            **{f"{self.key}__in": keys}, **self.extra
        ).order_by(*self.order)
        grouped: dict[int, list[M]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, self.key)].append(row)
        return [grouped.get(key, []) for key in keys]


class AccountByIdLoader(ByIdLoader[Account]):
    model = Account


class CustomerByIdLoader(ByIdLoader[Customer]):
    model = Customer


class ServicePointByIdLoader(ByIdLoader[ServicePoint]):
    model = ServicePoint


class PremiseByIdLoader(ByIdLoader[Premise]):
    model = Premise


class MeterByIdLoader(ByIdLoader[Meter]):
    model = Meter


class RegisterByIdLoader(ByIdLoader[Register]):
    model = Register


class RegisterReadByIdLoader(ByIdLoader[RegisterRead]):
    model = RegisterRead


class TariffByIdLoader(ByIdLoader[Tariff]):
    model = Tariff


class UserByIdLoader(ByIdLoader[User]):
    model = User


class BillByIdLoader(ByIdLoader[Bill]):
    model = Bill


class BillingCycleByIdLoader(ByIdLoader[BillingCycle]):
    model = BillingCycle


class RouteByIdLoader(ByIdLoader[Route]):
    model = Route


class PartnerClientByIdLoader(ByIdLoader[PartnerClient]):
    model = PartnerClient


class BillLinesByBillLoader(GroupLoader[BillLine]):
    model = BillLine
    key = "bill_id"
    order = ("bill_id", "position")


class BillReadsByBillLoader(GroupLoader[BillRead]):
    model = BillRead
    key = "bill_id"
    order = ("bill_id", "id")


class PaymentsByBillLoader(GroupLoader[Payment]):
    model = Payment
    key = "bill_id"
    order = ("-created_at", "-id")


class AccountHoldersByAccountLoader(GroupLoader[AccountHolder]):
    model = AccountHolder
    key = "account_id"
    order = ("move_in_on", "id")


class AccountHoldersByCustomerLoader(GroupLoader[AccountHolder]):
    model = AccountHolder
    key = "customer_id"
    order = ("move_in_on", "id")


class AccountsByServicePointLoader(GroupLoader[Account]):
    model = Account
    key = "service_point_id"


class TariffAssignmentsByAccountLoader(GroupLoader[TariffAssignment]):
    model = TariffAssignment
    key = "account_id"
    order = ("effective_from", "id")


class MeterInstallationsByServicePointLoader(GroupLoader[MeterInstallation]):
    model = MeterInstallation
    key = "service_point_id"
    order = ("installed_at", "id")


class MeterInstallationsByMeterLoader(GroupLoader[MeterInstallation]):
    model = MeterInstallation
    key = "meter_id"
    order = ("installed_at", "id")


class RegistersByMeterLoader(GroupLoader[Register]):
    model = Register
    key = "meter_id"
    order = ("obis_code",)


class SupportMessagesByRequestLoader(GroupLoader[SupportMessage]):
    model = SupportMessage
    key = "request_id"
    order = ("created_at", "id")


class RouteStopsByRouteLoader(GroupLoader[RouteStop]):
    model = RouteStop
    key = "route_id"
    order = ("sequence", "id")
    extra = {"removed_at__isnull": True}


class SyncItemsByBatchLoader(GroupLoader[SyncItem]):
    model = SyncItem
    key = "batch_id"
    order = ("position",)


class FieldDeviceByIdLoader(ByIdLoader[FieldDevice]):
    model = FieldDevice


class TariffVersionsByTariffLoader(GroupLoader[TariffVersion]):
    model = TariffVersion
    key = "tariff_id"
    order = ("version",)


class BalanceByAccountLoader(DataLoader[int, int]):
    """An account's ledger balance in paise: the sum of its entries (one GROUP BY)."""

    def __init__(self) -> None:
        super().__init__(load_fn=self._load)

    async def _load(self, keys: list[int]) -> Sequence[int]:
        rows = (
            await LedgerEntry.filter(account_id__in=keys)
            .annotate(total=Sum("amount_paise"))
            .group_by("account_id")
            .values("account_id", "total")
        )
        totals = {row["account_id"]: int(row["total"] or 0) for row in rows}
        return [totals.get(key, 0) for key in keys]


def loaded_or_load(loader: DataLoader[int, Any], key: int) -> Any:
    """The value if ``loader`` already holds it (a page loaded it ahead), else its future.

    A field whose value is ready resolves synchronously, which spares GraphQL an awaitable
    per row; otherwise it batches through the loader as usual.
    """
    future = loader.cache_map.get(key)
    if (
        future is not None
        and future.done()
        and not future.cancelled()
        and future.exception() is None
    ):
        return future.result()
    return loader.load(key)


class FirstBillsByAccountLoader(DataLoader[int, list[Bill]]):
    """The newest ``limit`` bills of each account that ``condition`` (the caller's bill
    filter) lets through: one query for every account of a page (``Account.bills``)."""

    def __init__(self, condition: Q, limit: int) -> None:
        super().__init__(load_fn=self._load)
        self.condition = condition
        self.limit = limit

    async def _load(self, keys: list[int]) -> Sequence[list[Bill]]:
        rows = await Bill.filter(self.condition, account_id__in=keys).order_by(
            "account_id", "-period_start", "-id"
        )
        grouped: dict[int, list[Bill]] = defaultdict(list)
        for row in rows:
            group = grouped[row.account_id]  # type: ignore[attr-defined]
            if len(group) < self.limit:
                group.append(row)
        return [grouped.get(key, []) for key in keys]


class Loaders:
    """Every loader of one request, each created when first used."""

    @cached_property
    def _first_bills(self) -> dict[int, FirstBillsByAccountLoader]:
        return {}

    def first_bills_by_account(self, condition: Q, limit: int) -> FirstBillsByAccountLoader:
        """One loader per page size; the caller's bill filter is the same all request."""
        if limit not in self._first_bills:
            self._first_bills[limit] = FirstBillsByAccountLoader(condition, limit)
        return self._first_bills[limit]

    @cached_property
    def account(self) -> AccountByIdLoader:
        return AccountByIdLoader()

    @cached_property
    def customer(self) -> CustomerByIdLoader:
        return CustomerByIdLoader()

    @cached_property
    def service_point(self) -> ServicePointByIdLoader:
        return ServicePointByIdLoader()

    @cached_property
    def premise(self) -> PremiseByIdLoader:
        return PremiseByIdLoader()

    @cached_property
    def meter(self) -> MeterByIdLoader:
        return MeterByIdLoader()

    @cached_property
    def register(self) -> RegisterByIdLoader:
        return RegisterByIdLoader()

    @cached_property
    def register_read(self) -> RegisterReadByIdLoader:
        return RegisterReadByIdLoader()

    @cached_property
    def tariff(self) -> TariffByIdLoader:
        return TariffByIdLoader()

    @cached_property
    def user(self) -> UserByIdLoader:
        return UserByIdLoader()

    @cached_property
    def field_device(self) -> FieldDeviceByIdLoader:
        return FieldDeviceByIdLoader()

    @cached_property
    def sync_items(self) -> SyncItemsByBatchLoader:
        return SyncItemsByBatchLoader()

    @cached_property
    def bill(self) -> BillByIdLoader:
        return BillByIdLoader()

    @cached_property
    def billing_cycle(self) -> BillingCycleByIdLoader:
        return BillingCycleByIdLoader()

    @cached_property
    def route(self) -> RouteByIdLoader:
        return RouteByIdLoader()

    @cached_property
    def partner_client(self) -> PartnerClientByIdLoader:
        return PartnerClientByIdLoader()

    @cached_property
    def balance(self) -> BalanceByAccountLoader:
        return BalanceByAccountLoader()

    @cached_property
    def bill_lines(self) -> BillLinesByBillLoader:
        return BillLinesByBillLoader()

    @cached_property
    def bill_reads(self) -> BillReadsByBillLoader:
        return BillReadsByBillLoader()

    @cached_property
    def bill_payments(self) -> PaymentsByBillLoader:
        return PaymentsByBillLoader()

    @cached_property
    def holders_by_account(self) -> AccountHoldersByAccountLoader:
        return AccountHoldersByAccountLoader()

    @cached_property
    def holders_by_customer(self) -> AccountHoldersByCustomerLoader:
        return AccountHoldersByCustomerLoader()

    @cached_property
    def accounts_by_service_point(self) -> AccountsByServicePointLoader:
        return AccountsByServicePointLoader()

    @cached_property
    def tariff_assignments(self) -> TariffAssignmentsByAccountLoader:
        return TariffAssignmentsByAccountLoader()

    @cached_property
    def installations_by_service_point(self) -> MeterInstallationsByServicePointLoader:
        return MeterInstallationsByServicePointLoader()

    @cached_property
    def installations_by_meter(self) -> MeterInstallationsByMeterLoader:
        return MeterInstallationsByMeterLoader()

    @cached_property
    def registers(self) -> RegistersByMeterLoader:
        return RegistersByMeterLoader()

    @cached_property
    def support_messages(self) -> SupportMessagesByRequestLoader:
        return SupportMessagesByRequestLoader()

    @cached_property
    def route_stops(self) -> RouteStopsByRouteLoader:
        return RouteStopsByRouteLoader()

    @cached_property
    def tariff_versions(self) -> TariffVersionsByTariffLoader:
        return TariffVersionsByTariffLoader()

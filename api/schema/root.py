"""The one GraphQL schema: root types assembled from each area's resolvers, with its limits.

Limits (``api/limits.py``): query depth, aliases and tokens are capped while parsing and
validating; introspection follows ``GRIDBILL_INTROSPECTION`` (``api.introspection``);
every argument is checked against the models' lengths and ranges (``api.input_limits``);
parsed and validated documents are cached; unexpected errors are masked.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from api.errors import MaskUnexpectedErrors, log_errors
from api.input_limits import guard_arguments
from api.introspection import IntrospectionPolicy
from api.limits import LIMIT_RULES, MAX_TOKENS
from api.resolvers.accounts import AccountMutations, AccountQueries
from api.resolvers.audit import AuditQueries
from api.resolvers.billing_calendar import BillingCalendarMutations, BillingCalendarQueries
from api.resolvers.billing_ops import BillingMutations
from api.resolvers.bills import BillQueries
from api.resolvers.deposits import DepositMutations, DepositQueries
from api.resolvers.field import FieldMutations, FieldQueries
from api.resolvers.health import resolve_health
from api.resolvers.identity import IdentityMutations, IdentityQueries
from api.resolvers.meter_data import MeterDataMutations, MeterDataQueries
from api.resolvers.meters import MeterMutations, MeterQueries
from api.resolvers.notifications import (
    NotificationMutations,
    NotificationQueries,
    NotificationSubscription,
)
from api.resolvers.payments import PaymentMutations, PaymentQueries
from api.resolvers.reports import ReportQueries
from api.resolvers.routes import RouteMutations, RouteQueries
from api.resolvers.sign_in_codes import SignInCodeMutations
from api.resolvers.subscriptions import Subscription as EventSubscription
from api.resolvers.support import SupportMutations, SupportQueries
from api.resolvers.tariffs import TariffMutations, TariffQueries
from api.resolvers.usage import UsageQueries
from api.schema.common import BIG_INT, BigInt
from api.schema.health import Health


@strawberry.type
class HealthQueries:
    health: Health = strawberry.field(
        resolver=resolve_health, description="Server and database status. Needs no sign-in."
    )


Query = merge_types(
    "Query",
    (
        HealthQueries,
        IdentityQueries,
        AccountQueries,
        BillQueries,
        UsageQueries,
        SupportQueries,
        MeterQueries,
        TariffQueries,
        RouteQueries,
        AuditQueries,
        PaymentQueries,
        MeterDataQueries,
        FieldQueries,
        NotificationQueries,
        ReportQueries,
        BillingCalendarQueries,
        DepositQueries,
    ),
)

Mutation = merge_types(
    "Mutation",
    (
        IdentityMutations,
        SupportMutations,
        AccountMutations,
        MeterMutations,
        TariffMutations,
        RouteMutations,
        BillingMutations,
        PaymentMutations,
        MeterDataMutations,
        FieldMutations,
        NotificationMutations,
        SignInCodeMutations,
        BillingCalendarMutations,
        DepositMutations,
    ),
)

Subscription = merge_types("Subscription", (EventSubscription, NotificationSubscription))


class GridbillSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)


schema = GridbillSchema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    config=StrawberryConfig(scalar_map={BigInt: BIG_INT}),
    extensions=[
        lambda: MaxTokensLimiter(MAX_TOKENS),
        lambda: AddValidationRules(list(LIMIT_RULES)),
        IntrospectionPolicy,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        MaskUnexpectedErrors,
    ],
)
guard_arguments(schema._schema)

"""The stored vocabularies of ``domain.enums`` as GraphQL enums (values are the stored codes).

``strawberry.enum`` registers each class in place, so resolvers annotate with the domain
enums themselves and return the values the models hold.
"""

from __future__ import annotations

import strawberry

from domain.enums import (
    AccountCategory,
    AccountStatus,
    AdjustmentKind,
    BillRunStatus,
    BillStatus,
    LedgerKind,
    MeterKind,
    MeterStatus,
    NotificationChannel,
    OutboxStatus,
    PaymentMethod,
    PaymentStatus,
    ReadQuality,
    ReadSource,
    RefundStatus,
    RegisterUnit,
    Role,
    SupportStatus,
)

strawberry.enum(Role, description="What a person signs in as.")
strawberry.enum(AccountCategory)
strawberry.enum(AccountStatus)
strawberry.enum(MeterKind, description="Read by hand, by optical probe, or smart.")
strawberry.enum(MeterStatus)
strawberry.enum(RegisterUnit)
strawberry.enum(ReadQuality)
strawberry.enum(ReadSource)
strawberry.enum(BillStatus)
strawberry.enum(BillRunStatus)
strawberry.enum(PaymentMethod)
strawberry.enum(PaymentStatus)
strawberry.enum(NotificationChannel)
strawberry.enum(OutboxStatus, name="NotificationStatus")
strawberry.enum(SupportStatus)
strawberry.enum(AdjustmentKind)
strawberry.enum(RefundStatus)
strawberry.enum(LedgerKind)

__all__ = [
    "AccountCategory",
    "AccountStatus",
    "AdjustmentKind",
    "BillRunStatus",
    "BillStatus",
    "LedgerKind",
    "MeterKind",
    "MeterStatus",
    "NotificationChannel",
    "OutboxStatus",
    "PaymentMethod",
    "PaymentStatus",
    "ReadQuality",
    "ReadSource",
    "RefundStatus",
    "RegisterUnit",
    "Role",
    "SupportStatus",
]

"""Every Tortoise model of gridbill, in one app labelled ``gridbill``.

Modules follow the data flow (docs/architecture.md): identity, customers, tariffs,
routes, metering, billing, ledger, payments, field, platform.
"""

from .billing import Bill, BilledSpan, BillLine, BillRead, BillRun, DocumentSequence
from .customers import Account, AccountHolder, Customer, Premise, ServicePoint, TariffAssignment
from .field import FieldDevice, FieldDeviceRoute, FieldVisit, Photo, SyncBatch, SyncItem
from .identity import Consent, PartnerClient, RefreshToken, User
from .ledger import DepositEntry, DepositProposal, GovernmentReceivable, LedgerEntry
from .metering import (
    IntervalReading,
    IntervalReadingRevision,
    Meter,
    MeterInstallation,
    MultiplierChange,
    Register,
    RegisterRead,
    RegisterReadRevision,
    UsageDaily,
    UsageMonthly,
    ValidationException,
)
from .notifications import DeviceToken, DunningStep, NotificationAttempt, SignInCode
from .payments import (
    Adjustment,
    GatewayEvent,
    GatewayRecord,
    Payment,
    PaymentAllocation,
    Refund,
)
from .platform import (
    AuditLog,
    IdempotencyKey,
    JobRun,
    NotificationPreference,
    OutboxMessage,
    SupportMessage,
    SupportRequest,
    ThrottleCounter,
)
from .routes import BillingCalendarDate, BillingCycle, ReaderMessage, Route, RouteStop
from .tariffs import Holiday, Tariff, TariffVersion

__models__ = [
    User, RefreshToken, PartnerClient, Consent,
    Customer, Premise, ServicePoint, Account, AccountHolder, TariffAssignment,
    Tariff, TariffVersion, Holiday,
    BillingCycle, BillingCalendarDate, Route, RouteStop, ReaderMessage,
    Meter, MeterInstallation, MultiplierChange, Register, RegisterRead, RegisterReadRevision,
    IntervalReading, IntervalReadingRevision, ValidationException, UsageDaily, UsageMonthly,
    BillRun, Bill, BillLine, BillRead, BilledSpan, DocumentSequence,
    LedgerEntry, GovernmentReceivable, DepositEntry, DepositProposal,
    Payment, PaymentAllocation, Refund, Adjustment, GatewayEvent, GatewayRecord,
    FieldDevice, FieldDeviceRoute, SyncBatch, SyncItem, FieldVisit, Photo,
    IdempotencyKey, OutboxMessage, NotificationPreference, SupportRequest, SupportMessage,
    AuditLog, JobRun, ThrottleCounter,
    NotificationAttempt, DeviceToken, DunningStep, SignInCode,
]  # fmt: skip

__all__ = [
    "Account",
    "AccountHolder",
    "Adjustment",
    "AuditLog",
    "Bill",
    "BillLine",
    "BillRead",
    "BillRun",
    "BilledSpan",
    "BillingCalendarDate",
    "BillingCycle",
    "Consent",
    "Customer",
    "DepositEntry",
    "DepositProposal",
    "DeviceToken",
    "DocumentSequence",
    "DunningStep",
    "FieldDevice",
    "FieldDeviceRoute",
    "FieldVisit",
    "GatewayEvent",
    "GatewayRecord",
    "GovernmentReceivable",
    "Holiday",
    "IdempotencyKey",
    "IntervalReading",
    "IntervalReadingRevision",
    "JobRun",
    "LedgerEntry",
    "Meter",
    "MeterInstallation",
    "MultiplierChange",
    "NotificationAttempt",
    "NotificationPreference",
    "OutboxMessage",
    "PartnerClient",
    "Payment",
    "PaymentAllocation",
    "Photo",
    "Premise",
    "ReaderMessage",
    "RefreshToken",
    "Refund",
    "Register",
    "RegisterRead",
    "RegisterReadRevision",
    "Route",
    "RouteStop",
    "ServicePoint",
    "SignInCode",
    "SupportMessage",
    "SupportRequest",
    "SyncBatch",
    "SyncItem",
    "Tariff",
    "TariffAssignment",
    "TariffVersion",
    "ThrottleCounter",
    "UsageDaily",
    "UsageMonthly",
    "User",
    "ValidationException",
]

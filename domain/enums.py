"""The vocabulary of stored codes, shared by domain rules and the database.

These strings are persisted and appear in the API, so a member is never renamed:
add a new one and migrate instead.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    METER_READER = "meter_reader"
    STAFF = "staff"
    ADMIN = "admin"


class AccountCategory(StrEnum):
    DOMESTIC = "domestic"
    COMMERCIAL = "commercial"
    INDUSTRIAL = "industrial"
    AGRICULTURAL = "agricultural"
    PUBLIC_LIGHTING = "public_lighting"
    INSTITUTIONAL = "institutional"


class AccountStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class MeterKind(StrEnum):
    MANUAL = "manual"
    PROBE = "probe"
    SMART = "smart"


class MeterStatus(StrEnum):
    IN_STORE = "in_store"
    INSTALLED = "installed"
    REMOVED = "removed"
    RETIRED = "retired"


class RegisterUnit(StrEnum):
    KWH = "kWh"
    KVARH = "kvarh"
    KVAH = "kVAh"
    KW = "kW"
    KVA = "kVA"


class ReadSource(StrEnum):
    MANUAL = "manual"
    PROBE = "probe"
    SMART = "smart"
    ESTIMATED = "estimated"
    CUSTOMER = "customer"
    STAFF = "staff"


class ReadQuality(StrEnum):
    """Where a value stands in validation–estimation–editing (VEE)."""

    PENDING = "pending"
    VALID = "valid"
    SUSPECT = "suspect"
    ESTIMATED = "estimated"
    EDITED = "edited"
    REJECTED = "rejected"


class ReadType(StrEnum):
    REGULAR = "regular"
    INSTALL = "install"
    REMOVAL = "removal"
    MOVE_IN = "move_in"
    MOVE_OUT = "move_out"
    SPECIAL = "special"


class BillStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    CANCELLED = "cancelled"


class BillRunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class LedgerKind(StrEnum):
    BILL = "bill"
    PAYMENT = "payment"
    ADJUSTMENT = "adjustment"
    CREDIT_NOTE = "credit_note"
    LATE_FEE = "late_fee"
    REVERSAL = "reversal"
    REFUND = "refund"
    DEPOSIT = "deposit"
    OPENING_BALANCE = "opening_balance"


class DepositKind(StrEnum):
    """A movement of a security deposit (``deposit_entries``)."""

    OPENING = "opening"  # held before gridbill kept the deposit's history
    TOP_UP = "top_up"  # asked by the yearly review, billed as a charge
    REFUND = "refund"  # the excess the yearly review gives back
    REVIEW = "review"  # a yearly review that changed nothing (amount 0)
    MOVE_OUT = "move_out"  # applied against the final bill


class ProposalStatus(StrEnum):
    """A yearly deposit review's top-up or refund, as staff decide it (``deposit_proposals``)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class PaymentMethod(StrEnum):
    RAZORPAY = "razorpay"
    CASH = "cash"
    CHEQUE = "cheque"
    BANK_TRANSFER = "bank_transfer"


class PaymentStatus(StrEnum):
    """Ordered: a payment's state only moves forward (see domain payment rules)."""

    CREATED = "created"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    FAILED = "failed"
    REFUNDED = "refunded"
    REVERSED = "reversed"


class RefundStatus(StrEnum):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class AdjustmentKind(StrEnum):
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"
    WAIVER = "waiver"
    CHEQUE_BOUNCE_FEE = "cheque_bounce_fee"
    SUBSIDY = "subsidy"


class SyncItemResult(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT_RESOLVED = "conflict_resolved"
    REJECTED = "rejected"


class NotificationChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    PUSH = "push"
    INAPP = "inapp"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # opted out after it was queued, or no longer reachable


class SupportStatus(StrEnum):
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REPLACED = "replaced"

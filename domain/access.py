"""Who may do what: the permission rules of the API, as data and pure functions.

Every GraphQL field names one :class:`Operation`; whether a caller may perform it is
decided here and only here, from what the caller *is* (a person with a :class:`Role`,
or a partner application with scopes). Row-level rules (which customer's bills a caller
may see) follow from :func:`sees_everything` and the consents a partner holds: a caller
who may perform an operation but not on a given row is told the row does not exist.

The sign-in back-off policy lives here too: it is a rule, not I/O.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.enums import Role


class Operation(StrEnum):
    """Things a caller can ask the API to do. Stored nowhere: safe to rename."""

    # Any signed-in person.
    VIEW_SELF = "view_self"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - an operation name
    MANAGE_NOTIFICATIONS = "manage_notifications"
    # A customer (or a partner on a customer's behalf) reading the customer's data.
    READ_ACCOUNTS = "read_accounts"
    READ_BILLS = "read_bills"
    READ_USAGE = "read_usage"
    READ_PAYMENTS = "read_payments"
    ESTIMATE_BILL = "estimate_bill"
    SUBSCRIBE_EVENTS = "subscribe_events"
    # A customer acting for themselves.
    USE_SUPPORT = "use_support"
    MANAGE_CONSENTS = "manage_consents"
    # Meter readers.
    READ_OWN_ROUTES = "read_own_routes"
    # Utility staff.
    READ_CUSTOMERS = "read_customers"
    WRITE_CUSTOMERS = "write_customers"
    WRITE_ACCOUNTS = "write_accounts"
    READ_METERS = "read_meters"
    WRITE_METERS = "write_meters"
    READ_TARIFFS = "read_tariffs"
    WRITE_TARIFFS = "write_tariffs"
    ASSIGN_TARIFFS = "assign_tariffs"
    READ_ROUTES = "read_routes"
    WRITE_ROUTES = "write_routes"
    READ_BILL_RUNS = "read_bill_runs"
    RUN_BILLING = "run_billing"
    ADJUST_BILLS = "adjust_bills"
    MANAGE_SUPPORT = "manage_support"
    READ_AUDIT_LOG = "read_audit_log"
    READ_REPORTS = "read_reports"
    MANAGE_PARTNERS = "manage_partners"
    MANAGE_USERS = "manage_users"


Op = Operation

_SELF = frozenset({Op.VIEW_SELF, Op.CHANGE_PASSWORD, Op.MANAGE_NOTIFICATIONS})
_CUSTOMER = _SELF | {
    Op.READ_ACCOUNTS,
    Op.READ_BILLS,
    Op.READ_USAGE,
    Op.READ_PAYMENTS,
    Op.ESTIMATE_BILL,
    Op.SUBSCRIBE_EVENTS,
    Op.USE_SUPPORT,
    Op.MANAGE_CONSENTS,
}
_STAFF = _SELF | {
    Op.READ_ACCOUNTS,
    Op.READ_BILLS,
    Op.READ_USAGE,
    Op.READ_PAYMENTS,
    Op.ESTIMATE_BILL,
    Op.READ_CUSTOMERS,
    Op.WRITE_CUSTOMERS,
    Op.WRITE_ACCOUNTS,
    Op.READ_METERS,
    Op.WRITE_METERS,
    Op.READ_TARIFFS,
    Op.ASSIGN_TARIFFS,
    Op.READ_ROUTES,
    Op.WRITE_ROUTES,
    Op.READ_BILL_RUNS,
    Op.RUN_BILLING,
    Op.ADJUST_BILLS,
    Op.MANAGE_SUPPORT,
    Op.READ_AUDIT_LOG,
    Op.READ_REPORTS,
}

ROLE_OPERATIONS: dict[Role, frozenset[Operation]] = {
    Role.CUSTOMER: frozenset(_CUSTOMER),
    Role.METER_READER: _SELF | {Op.READ_OWN_ROUTES},
    Role.STAFF: frozenset(_STAFF),
    # Rates, third-party access and who works here are an administrator's decision.
    Role.ADMIN: frozenset(_STAFF | {Op.WRITE_TARIFFS, Op.MANAGE_PARTNERS, Op.MANAGE_USERS}),
}

# A partner application may read a consenting customer's data, one scope per kind.
SCOPE_OPERATIONS: dict[str, frozenset[Operation]] = {
    "accounts:read": frozenset({Op.READ_ACCOUNTS}),
    "bills:read": frozenset({Op.READ_BILLS, Op.READ_ACCOUNTS}),
    "usage:read": frozenset({Op.READ_USAGE, Op.READ_ACCOUNTS}),
    "payments:read": frozenset({Op.READ_PAYMENTS, Op.READ_ACCOUNTS}),
    # Head-end systems pushing meter data (POST /ingest/readings): no GraphQL operations.
    "readings:write": frozenset(),
}
SCOPES = frozenset(SCOPE_OPERATIONS)

# Roles that see every customer's data; the others see their own (or consented) rows.
_EVERYTHING = frozenset({Role.STAFF, Role.ADMIN})


@dataclass(frozen=True, slots=True)
class Caller:
    """What an access token says about its bearer."""

    role: Role | None = None  # a person; None for a partner application
    scopes: frozenset[str] = frozenset()  # a partner application's granted scopes

    @property
    def is_partner(self) -> bool:
        return self.role is None


def allowed(caller: Caller, operation: Operation) -> bool:
    """May this caller perform ``operation`` at all (before any row-level rule)?"""
    if caller.role is not None:
        return operation in ROLE_OPERATIONS[caller.role]
    return any(operation in SCOPE_OPERATIONS.get(scope, ()) for scope in caller.scopes)


def scopes_for(operation: Operation) -> frozenset[str]:
    """The partner scopes any one of which permits ``operation``."""
    return frozenset(s for s, ops in SCOPE_OPERATIONS.items() if operation in ops)


def sees_everything(caller: Caller) -> bool:
    """Staff and admins see every customer's rows; others only their own or consented ones."""
    return caller.role in _EVERYTHING


def consent_permits(consent_scopes: Iterable[str], operation: Operation) -> bool:
    """Does a customer's consent (its scopes) cover ``operation`` for a partner?"""
    return any(operation in SCOPE_OPERATIONS.get(scope, ()) for scope in consent_scopes)


def unknown_scopes(scopes: Iterable[str]) -> list[str]:
    return sorted(set(scopes) - SCOPES)


def phone_matches(registered_phone: str | None, given_digits: str, *, digits: int = 4) -> bool:
    """Sign-up proof of identity: the last ``digits`` digits of the registered phone."""
    if not registered_phone:
        return False
    registered = "".join(c for c in registered_phone if c.isdigit())
    given = "".join(c for c in given_digits if c.isdigit())
    if len(given) != digits or len(registered) < digits:
        return False
    return hmac.compare_digest(registered[-digits:], given)

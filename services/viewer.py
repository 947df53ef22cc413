"""Who is asking, and which rows they may see.

A :class:`Viewer` is built from a verified access token (``api.auth``) or by a script.
Operation-level rules come from ``domain.access``; this module adds the row-level ones:

* staff and admins see every customer;
* a customer sees the accounts they hold or held, their own issued bills, and usage
  only within the dates they held the account (never the previous occupant's);
* a partner application sees what consenting customers granted it, scope by scope,
  until the consent is revoked or expires.

A row the viewer may not see is reported as not found, never as forbidden, so ids
cannot be probed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from tortoise.expressions import Q

from domain.access import Caller, Operation, allowed, consent_permits, sees_everything
from domain.enums import BillStatus, Role
from store.models import AccountHolder, Consent

CUSTOMER_VISIBLE_BILLS = (BillStatus.ISSUED, BillStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class Grant:
    """One consent: a customer's accounts (or one of them) and the scopes granted."""

    customer_id: int
    account_id: int | None
    scopes: frozenset[str]


@dataclass(frozen=True, slots=True)
class Holding:
    account_id: int
    move_in_on: date
    move_out_on: date | None


@dataclass(eq=False)
class Viewer:
    """The caller of one request. Cheap to build; row lists are loaded once, on demand."""

    caller: Caller
    user_id: int | None = None
    partner_id: int | None = None
    customer_id: int | None = None
    label: str = ""
    token_expires_at: int | None = None  # Unix time the access token expires (sockets)
    session: str | None = None  # the token's refresh-token family (``sid``), if any
    _grants: list[Grant] | None = field(default=None, repr=False)
    _holdings: dict[int, list[Holding]] = field(default_factory=dict, repr=False)

    @property
    def role(self) -> Role | None:
        return self.caller.role

    @property
    def is_partner(self) -> bool:
        return self.partner_id is not None

    @property
    def is_staff(self) -> bool:
        return sees_everything(self.caller)

    def may(self, operation: Operation) -> bool:
        return allowed(self.caller, operation)

    @property
    def audit_label(self) -> str:
        if self.partner_id is not None:
            return f"partner:{self.partner_id}"
        return self.label or (f"user:{self.user_id}" if self.user_id else "anonymous")

    async def grants(self) -> list[Grant]:
        """A partner's current consents, narrowed to the scopes its token carries."""
        if self._grants is None:
            self._grants = []
            if self.partner_id is not None:
                now = datetime.now(UTC)
                rows = await Consent.filter(
                    Q(expires_at__isnull=True) | Q(expires_at__gt=now),
                    partner_id=self.partner_id,
                    partner__is_active=True,  # a switched-off client's tokens stop at once
                    revoked_at__isnull=True,
                ).values("customer_id", "account_id", "scopes")
                for row in rows:
                    scopes = frozenset(row["scopes"] or ()) & self.caller.scopes
                    if scopes:
                        self._grants.append(Grant(row["customer_id"], row["account_id"], scopes))
        return self._grants

    async def holdings(self, customer_id: int) -> list[Holding]:
        if customer_id not in self._holdings:
            rows = await AccountHolder.filter(customer_id=customer_id).values(
                "account_id", "move_in_on", "move_out_on"
            )
            self._holdings[customer_id] = [
                Holding(r["account_id"], r["move_in_on"], r["move_out_on"]) for r in rows
            ]
        return self._holdings[customer_id]

    async def customers_for(self, operation: Operation) -> list[tuple[int, int | None]]:
        """(customer, account or None for all) pairs whose data ``operation`` may read."""
        if self.partner_id is not None:
            return [
                (g.customer_id, g.account_id)
                for g in await self.grants()
                if consent_permits(g.scopes, operation)
            ]
        if self.customer_id is not None and self.may(operation):
            return [(self.customer_id, None)]
        return []

    async def bill_filter(self, operation: Operation = Operation.READ_BILLS) -> Q | None:
        """A filter on bills this viewer may read; None: none at all."""
        if not self.may(operation):
            return None
        if self.is_staff:
            return Q()
        pairs = await self.customers_for(operation)
        if not pairs:
            return None
        parts = [
            Q(customer_id=customer)
            if account is None
            else Q(customer_id=customer, account_id=account)
            for customer, account in pairs
        ]
        return Q(*parts, join_type=Q.OR) & Q(status__in=CUSTOMER_VISIBLE_BILLS)

    async def account_spans(self, account_id: int, operation: Operation) -> list[Holding] | None:
        """The date spans in which this viewer may see ``account_id``'s data for ``operation``.

        None: not at all. Staff see all time (one open span).
        """
        if not self.may(operation):
            return None
        if self.is_staff:
            return [Holding(account_id, date.min, None)]
        spans: list[Holding] = []
        for customer, account in await self.customers_for(operation):
            if account is not None and account != account_id:
                continue
            spans += [h for h in await self.holdings(customer) if h.account_id == account_id]
        return spans or None

    async def account_ids(self, operation: Operation = Operation.READ_ACCOUNTS) -> list[int] | None:
        """Accounts this viewer may see; None means every account (staff)."""
        if self.is_staff and self.may(operation):
            return None
        ids: set[int] = set()
        for customer, account in await self.customers_for(operation):
            held = [h for h in await self.holdings(customer) if self._current_or_own(h)]
            ids |= {h.account_id for h in held if account is None or h.account_id == account}
        return sorted(ids)

    def _current_or_own(self, holding: Holding) -> bool:
        # A customer keeps seeing accounts they moved out of (their old bills are there);
        # a partner sees only accounts the customer holds now.
        return self.partner_id is None or holding.move_out_on is None


def anonymous() -> Viewer:
    return Viewer(caller=Caller(role=None, scopes=frozenset()), label="anonymous")


def acting_as(label: str, *, user_id: int | None = None) -> Viewer:
    """Who acts when nobody signs in: a command (``cli:<os user>``) or a job
    (``job:<task>``, with the user who asked for it, if one did). The audit log records
    the label, so every change says which door it came through."""
    return Viewer(caller=Caller(role=Role.ADMIN), user_id=user_id, label=label)

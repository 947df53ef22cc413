"""Customers, where they take supply, and the accounts that are billed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index

from domain.enums import AccountCategory, AccountStatus

from .base import Timestamped

if TYPE_CHECKING:
    from .billing import Bill
    from .routes import BillingCycle
    from .tariffs import Tariff


class Customer(Timestamped):
    """A person or organisation the utility knows, whether or not they have signed up."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=200, db_index=True)
    email = fields.CharField(max_length=254, null=True, db_index=True)
    phone = fields.CharField(max_length=20, null=True, db_index=True)
    postal_address = fields.TextField(default="")
    kyc_reference = fields.CharField(max_length=64, default="")
    language = fields.CharField(
        max_length=5, null=True, default="en", description="notifications: en or hi (NULL: en)"
    )
    high_usage_threshold_wh = fields.BigIntField(
        null=True, description="tell the customer of a bill above this, else above their history"
    )

    class Meta:
        table = "customers"


class Premise(Timestamped):
    """A building or plot with an address, where one or more service points are."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    address_line1 = fields.CharField(max_length=200)
    address_line2 = fields.CharField(max_length=200, default="")
    locality = fields.CharField(max_length=100, default="")
    city = fields.CharField(max_length=100)
    state = fields.CharField(max_length=100)
    postal_code = fields.CharField(max_length=12, db_index=True)
    latitude = fields.FloatField(null=True, description="WGS84 degrees (location, not money)")
    longitude = fields.FloatField(null=True)
    access_notes = fields.TextField(
        default="", description="for meter readers: dog, key, gate code"
    )

    class Meta:
        table = "premises"


class ServicePoint(Timestamped):
    """The point of supply at a premise: meters are installed here, accounts bill it."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    premise: fields.ForeignKeyRelation[Premise] = fields.ForeignKeyField(
        "gridbill.Premise", related_name="service_points", on_delete=fields.RESTRICT
    )
    supply_voltage_v = fields.IntField(default=230)
    phases = fields.SmallIntField(default=1)
    feeder = fields.CharField(max_length=32, default="", db_index=True)
    transformer = fields.CharField(max_length=32, default="")

    class Meta:
        table = "service_points"


class Account(Timestamped):
    """The billed contract for a service point: its category, load and tariff decide the bill."""

    id = fields.IntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    service_point: fields.ForeignKeyRelation[ServicePoint] = fields.ForeignKeyField(
        "gridbill.ServicePoint", related_name="accounts", on_delete=fields.RESTRICT
    )
    category = fields.CharEnumField(AccountCategory, max_length=20, db_index=True)
    status = fields.CharEnumField(
        AccountStatus, max_length=20, default=AccountStatus.ACTIVE, db_index=True
    )
    sanctioned_load_w = fields.IntField(description="sanctioned load in watts (kW × 1000)")
    contract_demand_va = fields.IntField(
        null=True, description="contract demand in VA, for HT/demand tariffs"
    )
    security_deposit_paise = fields.BigIntField(default=0)
    billing_cycle: fields.ForeignKeyRelation[BillingCycle] = fields.ForeignKeyField(
        "gridbill.BillingCycle", related_name="accounts", on_delete=fields.RESTRICT
    )
    connected_on = fields.DateField()
    closed_on = fields.DateField(null=True)

    class Meta:
        table = "accounts"
        indexes = (Index(fields=("billing_cycle_id", "status", "id")),)


class AccountHolder(Timestamped):
    """Who held an account when: move-in and move-out dates, and the move-out's final bill.

    Bills go to the holder whose span covers the billing period, history is never rewritten,
    a move-out closes the row and a move-in opens a new one.
    """

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="holders", on_delete=fields.RESTRICT
    )
    customer: fields.ForeignKeyRelation[Customer] = fields.ForeignKeyField(
        "gridbill.Customer", related_name="holdings", on_delete=fields.RESTRICT
    )
    move_in_on = fields.DateField()
    move_out_on = fields.DateField(null=True)
    final_bill: fields.ForeignKeyNullableRelation[Bill] = fields.ForeignKeyField(
        "gridbill.Bill", related_name=False, null=True, on_delete=fields.RESTRICT
    )

    class Meta:
        table = "account_holders"
        unique_together = (("account", "move_in_on"),)
        indexes = (Index(fields=("customer_id", "move_out_on")),)


class TariffAssignment(Timestamped):
    """Which tariff an account is on from which date (open-ended when ``effective_to`` is null)."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "gridbill.Account", related_name="tariff_assignments", on_delete=fields.RESTRICT
    )
    tariff: fields.ForeignKeyRelation[Tariff] = fields.ForeignKeyField(
        "gridbill.Tariff", related_name="assignments", on_delete=fields.RESTRICT
    )
    effective_from = fields.DateField()
    effective_to = fields.DateField(null=True, description="exclusive")

    class Meta:
        table = "tariff_assignments"
        unique_together = (("account", "effective_from"),)

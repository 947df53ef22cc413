"""The inputs and results of the staff mutations on customers and account holders:
create and update a customer, move in, move out (with the final read and bill)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry
from strawberry import ID

from api.schema.bills import BillType
from api.schema.common import OperationError
from api.schema.customers import AccountHolderType, CustomerType
from api.schema.meters import ReadInput


@strawberry.type
class CustomerSuccess:
    customer: CustomerType


@strawberry.type
class AccountHolderSuccess:
    holder: AccountHolderType
    final_bill: BillType | None = strawberry.field(
        default=None,
        description="moveOut with a `finalRead`: the draft final bill, to review and issue.",
    )
    final_bill_awaits_read: bool = strawberry.field(
        default=False,
        description="moveOut without a `finalRead`: the final bill awaits a move-out read.",
    )


CustomerResult = Annotated[CustomerSuccess | OperationError, strawberry.union("CustomerResult")]
AccountHolderResult = Annotated[
    AccountHolderSuccess | OperationError, strawberry.union("AccountHolderResult")
]


@strawberry.input
class CreateCustomerInput:
    name: str
    email: str | None = None
    phone: str | None = None
    postal_address: str = ""
    kyc_reference: str = ""


@strawberry.input
class MoveInInput:
    account_id: ID
    customer_id: ID
    on: date = strawberry.field(description="The first day the customer holds the account.")


@strawberry.input
class UpdateCustomerInput:
    customer_id: ID
    name: str | None = strawberry.field(default=None, description="Null: unchanged.")
    email: str | None = strawberry.field(default=None, description='Null: unchanged; "": none.')
    phone: str | None = strawberry.field(default=None, description='Null: unchanged; "": none.')
    postal_address: str | None = strawberry.field(default=None, description="Null: unchanged.")


@strawberry.input(description="The move-out read: every billing register's value on the last day.")
class FinalReadInput:
    read_at: datetime = strawberry.field(description="When it was read, on the move-out day.")
    reads: list[ReadInput]
    close_account: bool = strawberry.field(
        default=True, description="Close the account with the final bill (false: someone moves in)."
    )


@strawberry.input
class MoveOutInput:
    account_id: ID
    on: date = strawberry.field(description="The holder's last day.")
    reason: str = ""
    final_read: FinalReadInput | None = strawberry.field(
        default=None,
        description=(
            "Records the move-out read (checked by VEE; SUSPECT_READ if it fails) and drafts "
            "the final bill in the same transaction. Without it the final bill awaits a read."
        ),
    )

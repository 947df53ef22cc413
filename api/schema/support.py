"""Support requests and their messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import ID

from api.context import Context
from api.schema.common import Error
from api.schema.decorators import field
from api.schema.enums import SupportStatus

if TYPE_CHECKING:
    from api.schema.customers import AccountType, CustomerType

Info = strawberry.Info[Context, None]


@strawberry.type(name="SupportMessage")
class SupportMessageType:
    id: ID
    body: str
    is_internal: bool = strawberry.field(
        description="A staff-only note (never shown to customers)."
    )
    created_at: datetime

    @field(description="Written by utility staff (not the customer).")
    async def from_staff(self, info: Info) -> bool:
        author = await _author(info, self)
        return author is not None and author.customer_id is None

    @strawberry.field
    async def author_name(self, info: Info) -> str:
        author = await _author(info, self)
        return author.full_name if author else ""


async def _author(info: Info, message: object) -> Any:
    author_id = message.author_id  # type: ignore[attr-defined]
    return await info.context.loaders.user.load(author_id) if author_id else None


@strawberry.type(name="SupportRequest")
class SupportRequestType:
    id: ID
    number: str
    category: str
    subject: str
    status: SupportStatus
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    sla_due_at: datetime | None = strawberry.field(
        description="When the utility aims to have resolved it (per category)."
    )

    @field(description="Still unresolved after its SLA due time.")
    def sla_breached(self) -> bool:
        from services.accounts.support import sla_breached

        return sla_breached(self, datetime.now(UTC))  # type: ignore[arg-type]

    @strawberry.field
    async def account(
        self, info: Info
    ) -> Annotated[AccountType, strawberry.lazy("api.schema.customers")] | None:
        account_id = self.account_id  # type: ignore[attr-defined]
        return await info.context.loaders.account.load(account_id) if account_id else None  # type: ignore[return-value]

    @strawberry.field
    async def customer(
        self, info: Info
    ) -> Annotated[CustomerType, strawberry.lazy("api.schema.customers")]:
        return await info.context.loaders.customer.load(self.customer_id)  # type: ignore[attr-defined,return-value]

    @field(description="Oldest first. Customers do not see staff-only notes.")
    async def messages(self, info: Info) -> list[SupportMessageType]:
        messages = await info.context.loaders.support_messages.load(int(self.id))
        if info.context.viewer.is_staff:
            return messages  # type: ignore[return-value]
        return [m for m in messages if not m.is_internal]  # type: ignore[misc]


@strawberry.input
class OpenSupportRequestInput:
    category: str = strawberry.field(description="billing, outage, meter, payment or other.")
    subject: str
    message: str
    account_id: ID | None = None


@strawberry.input
class ReplyToSupportRequestInput:
    request_id: ID
    message: str
    internal: bool = strawberry.field(
        default=False, description="Staff only: a note the customer never sees."
    )


@strawberry.input
class SetSupportRequestStatusInput:
    request_id: ID
    status: SupportStatus


@strawberry.type
class SupportRequestSuccess:
    request: SupportRequestType


@strawberry.type
class SupportError(Error):
    pass


SupportRequestResult = Annotated[
    SupportRequestSuccess | SupportError, strawberry.union("SupportRequestResult")
]

"""Support requests: a customer's own (open, list, reply, close); every one for staff."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from api.context import Context
from api.errors import from_refusal
from api.pagination import paginate
from api.permissions import requires
from api.resolvers.common import id_or_refuse, parse_id, result
from api.schema.common import Connection
from api.schema.decorators import field, mutation
from api.schema.enums import SupportStatus
from api.schema.support import (
    OpenSupportRequestInput,
    ReplyToSupportRequestInput,
    SetSupportRequestStatusInput,
    SupportError,
    SupportRequestResult,
    SupportRequestSuccess,
    SupportRequestType,
)
from domain import enums
from domain.access import Operation
from services.accounts import support
from services.errors import Refused
from store.models import SupportRequest

Info = strawberry.Info[Context, None]


def _ok(request: object) -> SupportRequestSuccess:
    return SupportRequestSuccess(request=request)  # type: ignore[arg-type]


@strawberry.type
class SupportQueries:
    @field(
        description="Your support requests, newest first.",
        extensions=requires(Operation.USE_SUPPORT),
    )
    async def my_support_requests(
        self, info: Info, first: int | None = None, after: str | None = None,
        status: SupportStatus | None = None,
    ) -> Connection[SupportRequestType]:  # fmt: skip
        queryset = SupportRequest.filter(customer_id=info.context.viewer.customer_id or 0)
        if status is not None:
            queryset = queryset.filter(status=status)
        return await paginate(queryset, first=first, after=after)

    @field(
        description="Support requests of every customer (staff), newest first.",
        extensions=requires(Operation.MANAGE_SUPPORT),
    )
    async def support_requests(
        self, info: Info, first: int | None = None, after: str | None = None,
        status: SupportStatus | None = None,
    ) -> Connection[SupportRequestType]:  # fmt: skip
        queryset = SupportRequest.all()
        if status is not None:
            queryset = queryset.filter(status=status)
        return await paginate(queryset, first=first, after=after)

    @field(
        description="Requests past their SLA due time and not yet resolved (staff), "
        "longest overdue first.",
        extensions=requires(Operation.MANAGE_SUPPORT),
    )
    async def support_sla_breaches(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[SupportRequestType]:
        return await paginate(
            support.breaches(datetime.now(UTC)),
            first=first,
            after=after,
            key="sla_due_at",
            key_kind="datetime",
            descending=False,
        )

    @field(
        description="One support request: yours, or any for staff.",
        extensions=requires(Operation.USE_SUPPORT, Operation.MANAGE_SUPPORT),
    )
    async def support_request(self, info: Info, id: strawberry.ID) -> SupportRequestType | None:
        viewer = info.context.viewer
        try:
            return await support.visible_request(viewer, parse_id(id, "support request"))  # type: ignore[return-value]
        except Refused as refusal:
            raise from_refusal(refusal) from None


@strawberry.type
class SupportMutations:
    @mutation(extensions=requires(Operation.USE_SUPPORT))
    async def open_support_request(
        self, info: Info, input: OpenSupportRequestInput
    ) -> SupportRequestResult:
        viewer = info.context.viewer

        async def work() -> SupportRequest:
            account = (
                id_or_refuse(input.account_id, "account", "accountId") if input.account_id else None
            )
            if viewer.customer_id is None:
                raise Refused("INVALID_STATE", "only a signed-up customer can open a request")
            return await support.open_request(
                viewer, customer_id=viewer.customer_id, account_id=account, category=input.category,
                subject=input.subject, body=input.message, settings=info.context.settings,
            )  # fmt: skip

        return await result(work, _ok, SupportError)

    @mutation(
        description="Add a message (staff: or an internal note).",
        extensions=requires(Operation.USE_SUPPORT, Operation.MANAGE_SUPPORT),
    )
    async def reply_to_support_request(
        self, info: Info, input: ReplyToSupportRequestInput
    ) -> SupportRequestResult:
        viewer = info.context.viewer

        async def work() -> SupportRequest:
            request_id = id_or_refuse(input.request_id, "support request", "requestId")
            await support.reply(
                viewer, request_id=request_id, body=input.message, internal=input.internal
            )
            return await SupportRequest.get(id=request_id)

        return await result(work, _ok, SupportError)

    @mutation(description="Close your request.", extensions=requires(Operation.USE_SUPPORT))
    async def close_support_request(
        self, info: Info, request_id: strawberry.ID
    ) -> SupportRequestResult:
        viewer = info.context.viewer
        return await result(
            lambda: support.set_status(
                viewer,
                request_id=id_or_refuse(request_id, "support request", "requestId"),
                status=enums.SupportStatus.CLOSED,
            ),
            _ok,
            SupportError,
        )

    @mutation(
        description="Move a request to any status (staff).",
        extensions=requires(Operation.MANAGE_SUPPORT),
    )
    async def set_support_request_status(
        self, info: Info, input: SetSupportRequestStatusInput
    ) -> SupportRequestResult:
        viewer = info.context.viewer
        return await result(
            lambda: support.set_status(
                viewer,
                request_id=id_or_refuse(input.request_id, "support request", "requestId"),
                status=enums.SupportStatus(input.status),
            ),
            _ok,
            SupportError,
        )

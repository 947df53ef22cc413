"""services.identity.staff_users on both databases: invite, role, deactivation, resets."""

from __future__ import annotations

import pytest
from tortoise.context import TortoiseContext

from domain.access import Caller
from domain.enums import Role
from gridbill.settings import Settings
from services.errors import Refused
from services.identity import staff_users
from services.viewer import Viewer
from store.models import AuditLog, OutboxMessage, RefreshToken, SignInCode, User


async def test_the_lifecycle_of_a_staff_member(db: TortoiseContext, settings: Settings) -> None:
    admin = await User.create(email="boss@x.example", full_name="Boss", role=Role.ADMIN)
    actor = Viewer(caller=Caller(role=Role.ADMIN), user_id=admin.id, label=f"user:{admin.id}")
    clerk = await staff_users.invite(
        actor, settings, email="Clerk@X.example", full_name="Clerk", role="staff"
    )
    assert clerk.email == "clerk@x.example" and clerk.password_hash is None
    assert await SignInCode.filter(user_id=clerk.id, purpose="reset_password").count() == 1
    assert await OutboxMessage.filter(user_id=clerk.id).count() == 1
    with pytest.raises(Refused, match="already used"):
        await staff_users.invite(
            actor, settings, email="clerk@x.example", full_name="C", role="staff"
        )
    with pytest.raises(Refused, match="choose staff"):
        await staff_users.set_role(actor, user_id=clerk.id, role="customer")

    assert (await staff_users.set_role(actor, user_id=clerk.id, role="admin")).role == Role.ADMIN
    await RefreshToken.create(
        user_id=clerk.id, token_hash="h" * 64, family="00000000-0000-0000-0000-000000000001",
        expires_at=admin.created_at.replace(year=2100),
    )  # fmt: skip
    assert not (await staff_users.set_active(actor, user_id=clerk.id, active=False)).is_active
    assert await RefreshToken.filter(user_id=clerk.id, revoked_at__isnull=True).count() == 0
    with pytest.raises(Refused, match="only an active person"):
        await staff_users.send_password_reset(actor, settings, user_id=clerk.id)
    with pytest.raises(Refused, match="cannot deactivate yourself"):
        await staff_users.set_active(actor, user_id=admin.id, active=False)
    customer = await User.create(email="c@x.example", full_name="C", role=Role.CUSTOMER)
    with pytest.raises(Refused, match="not found"):
        await staff_users.set_active(actor, user_id=customer.id, active=False)
    actions = (
        await AuditLog.filter(actor_id=admin.id).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["user.invited", "user.role_set", "user.deactivated"]

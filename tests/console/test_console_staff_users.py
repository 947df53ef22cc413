"""Staff users in the console: administrators invite, set roles, deactivate, send resets."""

from __future__ import annotations

from domain.enums import Role
from store.models import AuditLog, OutboxMessage, RefreshToken, User
from tests.console.conftest import ConsoleClient

ADMIN, STAFF2 = "admin@gridbill.example", "staff2@gridbill.example"


def test_an_admin_invites_someone_who_gets_a_code_to_set_a_password(console: ConsoleClient) -> None:
    console.as_user(ADMIN)
    page = console.client.get("/console/users")
    assert page.status_code == 200 and "staff2@gridbill.example" in page.text
    form = {"email": " New.Clerk@Gridbill.example ", "full_name": "New Clerk", "role": "staff"}
    assert console.post("/console/users", form).headers["location"] == "/console/users?done=invited"
    user = console.run(User.get, email="new.clerk@gridbill.example")
    assert user.role == Role.STAFF and user.password_hash is None and user.is_active
    mail = console.run(OutboxMessage.get, user_id=user.id)
    assert mail.payload["purpose"] == "reset_password"
    assert console.run(AuditLog.get, action="user.invited").actor_id == console.user(ADMIN).id
    again = console.post("/console/users", form)
    assert again.status_code == 400 and "already used" in again.text
    customer = console.post("/console/users", {**form, "email": "c@x.example", "role": "customer"})
    assert customer.status_code == 400 and "choose staff, admin or meter reader" in customer.text


def test_role_changes_and_deactivation_end_sessions_and_never_apply_to_oneself(
    console: ConsoleClient,
) -> None:
    target = console.user(STAFF2)
    session = console.cookie(target)
    console.as_user(ADMIN)
    admin = console.user(ADMIN)
    assert (
        console.post(f"/console/users/{target.id}/role", {"role": "meter_reader"}).status_code
        == 303
    )
    assert console.run(User.get, id=target.id).role == Role.METER_READER
    deactivated = console.post(f"/console/users/{target.id}/active", {"active": "0"})
    assert deactivated.headers["location"] == "/console/users?done=deactivated"
    assert not console.run(User.get, id=target.id).is_active
    assert not console.run(RefreshToken.exists, user_id=target.id, revoked_at=None)
    console.client.cookies.set("gridbill_console", session)  # the person's own console
    assert console.client.get("/console/", follow_redirects=False).status_code == 303
    console.as_user(ADMIN)
    reset = console.post(f"/console/users/{target.id}/password-reset", {})
    assert reset.status_code == 400 and "only an active person" in reset.text
    console.post(f"/console/users/{target.id}/active", {"active": "1"})
    assert console.post(f"/console/users/{target.id}/password-reset", {}).status_code == 303
    mine = console.post(f"/console/users/{admin.id}/active", {"active": "0"})
    assert mine.status_code == 400 and "cannot deactivate yourself" in mine.text
    demote = console.post(f"/console/users/{admin.id}/role", {"role": "staff"})
    assert demote.status_code == 400 and console.run(User.get, id=admin.id).role == Role.ADMIN
    actions = set(console.run(AuditLog.filter(actor_id=admin.id).values_list, "action", flat=True))
    assert {
        "user.role_set",
        "user.deactivated",
        "user.activated",
        "user.password_reset_sent",
    } <= actions


def test_staff_may_not_manage_users(console: ConsoleClient) -> None:
    console.as_user("staff1@gridbill.example")
    assert console.client.get("/console/users").status_code == 403
    assert "Staff users" not in console.client.get("/console/").text


def test_an_admin_requires_a_second_factor_of_one_person(console: ConsoleClient) -> None:
    """The flag ends the person's sessions and holds at the console's own sign-in."""
    from tests.console.test_console_sign_in import STAFF, STAFF_PASSWORD, sign_in

    target = console.user(STAFF)
    session = console.cookie(target)
    console.as_user(ADMIN)
    page = console.client.get("/console/users")
    assert 'Require a second factor<span class="visually-hidden"> of ' in page.text
    done = console.post(f"/console/users/{target.id}/second-factor", {"required": "1"})
    assert done.headers["location"] == "/console/users?done=second+factor+required"
    assert console.run(User.get, id=target.id).totp_required
    assert "required of this person" in console.client.get("/console/users").text
    assert not console.run(RefreshToken.exists, user_id=target.id, revoked_at=None)
    audited = console.run(AuditLog.get, action="user.totp_required", entity_id=str(target.id))
    assert audited.actor_id == console.user(ADMIN).id and audited.after == {"totp_required": True}
    admin = console.user(ADMIN)
    mine = console.post(f"/console/users/{admin.id}/second-factor", {"required": "1"})
    assert mine.status_code == 400 and not console.run(User.get, id=admin.id).totp_required

    console.client.cookies.clear()
    console.client.cookies.set("gridbill_console", session)  # the person's old session
    assert console.client.get("/console/", follow_redirects=False).status_code == 303
    console.client.cookies.clear()
    refused = sign_in(console, STAFF, STAFF_PASSWORD)
    assert refused.status_code == 400 and "needs a second factor" in refused.text

    console.as_user(ADMIN)
    console.post(f"/console/users/{target.id}/second-factor", {"required": "0"})
    assert not console.run(User.get, id=target.id).totp_required
    assert console.run(AuditLog.exists, action="user.totp_not_required")
    console.client.cookies.clear()
    assert sign_in(console, STAFF, STAFF_PASSWORD).status_code == 303

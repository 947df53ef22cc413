"""Staff users (administrators only): invite, set role, deactivate, send a password reset,
require a second factor, with ``services.identity.staff_users``. A second factor is
required per role (``GRIDBILL_TOTP_REQUIRED_ROLES``) or of one person (the flag set here);
the page shows who has one and of whom it is required."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from console.pages import Console, Form
from console.session import Staff
from services.errors import Refused
from services.identity import staff_users
from store.models import User


def _page(console: Console, staff: Staff, people: list[User], *, values: dict[str, str],
          message: str = "", status: int = 200, done: str = "") -> Response:  # fmt: skip
    return console.render(
        "users.html", staff, status=status, people=people, values=values, message=message,
        done=done, roles=[r.value for r in staff_users.STAFF_ROLES], zone=console.settings.zone,
        totp_roles=sorted(console.settings.totp_required_roles),
    )  # fmt: skip


async def _people() -> list[User]:
    return await User.filter(role__in=list(staff_users.STAFF_ROLES)).order_by("role", "full_name")


async def users_page(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    return _page(
        console, staff, await _people(), values={}, done=request.query_params.get("done", "")
    )


async def invite(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    values = {k: form.get(k, "") for k in ("email", "full_name", "role")}
    try:
        await staff_users.invite(
            staff.viewer, console.settings, email=values["email"],
            full_name=values["full_name"], role=values["role"],
        )  # fmt: skip
    except Refused as exc:
        return _page(
            console, staff, await _people(), values=values, message=exc.message, status=400
        )
    return RedirectResponse("/console/users?done=invited", status_code=303)


def _user_id(request: Request) -> int:
    return int(request.path_params["user_id"])


async def set_role(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    await staff_users.set_role(staff.viewer, user_id=_user_id(request), role=form.get("role", ""))
    return RedirectResponse("/console/users?done=role+set", status_code=303)


async def set_active(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    active = form.get("active") == "1"
    await staff_users.set_active(staff.viewer, user_id=_user_id(request), active=active)
    return RedirectResponse(
        f"/console/users?done={'activated' if active else 'deactivated'}", status_code=303
    )


async def reset_password(console: Console, request: Request, staff: Staff, form: Form) -> Response:
    await staff_users.send_password_reset(staff.viewer, console.settings, user_id=_user_id(request))
    return RedirectResponse("/console/users?done=reset+code+sent", status_code=303)


async def require_second_factor(
    console: Console, request: Request, staff: Staff, form: Form
) -> Response:
    required = form.get("required") == "1"
    await staff_users.require_second_factor(
        staff.viewer, user_id=_user_id(request), required=required
    )
    done = "second+factor+required" if required else "second+factor+no+longer+required"
    return RedirectResponse(f"/console/users?done={done}", status_code=303)

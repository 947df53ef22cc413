"""Console sign-in: the session cookie, CSRF, sign-out, refusals and the GraphQL rules."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta

from starlette.responses import Response

from console import session
from domain.enums import Role
from store.models import AuditLog, BillRun, RefreshToken, User
from tests.conftest import make_settings
from tests.console.conftest import CSRF, ConsoleClient

STAFF, STAFF_PASSWORD = "staff1@gridbill.example", "demo-staff-1"


def sign_in(console: ConsoleClient, login: str, password: str, **extra: str) -> Response:
    form = console.client.get("/console/sign-in")
    token = CSRF.search(form.text)
    assert token is not None
    return console.client.post(
        "/console/sign-in",
        data={"login": login, "password": password, "csrf": token.group(1), **extra},
        follow_redirects=False,
    )


def test_staff_sign_in_sets_a_hardened_cookie_and_sign_out_ends_the_session(
    console: ConsoleClient,
) -> None:
    assert console.client.get("/console/", follow_redirects=False).headers["location"] == (
        "/console/sign-in?next=/console/"
    )
    answer = sign_in(console, STAFF, STAFF_PASSWORD, next="/console/bill-runs")
    assert answer.status_code == 303 and answer.headers["location"] == "/console/bill-runs"
    cookie = next(
        c for c in answer.headers.get_list("set-cookie") if c.startswith(session.COOKIE + "=")
    )
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert "Secure" not in cookie  # GRIDBILL_ENV=test: plain http works
    assert re.search(r"Max-Age=28800", cookie)
    home = console.client.get("/console/")
    assert home.status_code == 200 and "Sign out" in home.text
    raw = console.client.cookies[session.COOKIE]
    user = console.user(STAFF)
    row = console.run(RefreshToken.get, user_id=user.id, revoked_at=None)
    left = row.expires_at - datetime.now(UTC)
    assert timedelta(hours=7, minutes=59) < left <= timedelta(hours=8)
    assert console.run(AuditLog.exists, action="console.signed_in", actor_id=user.id)

    out = console.post("/console/sign-out", {})
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    console.client.cookies.set(session.COOKIE, raw)  # a copy of the old cookie is dead
    assert console.client.get("/console/", follow_redirects=False).status_code == 303
    assert console.run(AuditLog.exists, action="console.signed_out", actor_id=user.id)


def test_customers_and_meter_readers_are_refused_and_their_session_revoked(
    console: ConsoleClient,
) -> None:
    for email, password in (
        ("reader@gridbill.example", "demo-reader-1"),
        (
            console.run(User.filter(role=Role.CUSTOMER).order_by("id").first).email,  # type: ignore[union-attr]
            "demo-customer-1",
        ),
    ):
        answer = sign_in(console, email, password)
        assert answer.status_code == 400, answer.text
        assert "the console is for utility staff" in answer.text
        user = console.user(email)
        assert not console.run(RefreshToken.exists, user_id=user.id, revoked_at=None)
        assert session.COOKIE not in console.client.cookies


def test_wrong_password_is_refused_and_throttled_like_graphql(console: ConsoleClient) -> None:
    wrong = sign_in(console, STAFF, "not-the-password")
    assert wrong.status_code == 400 and "is not right" in wrong.text
    assert 'value="staff1@gridbill.example"' in wrong.text  # the login is kept, not the password
    for _ in range(4):
        sign_in(console, STAFF, "not-the-password")
    throttled = sign_in(console, STAFF, STAFF_PASSWORD)  # 5 failures per login and address
    assert throttled.status_code == 429 and "too many failed sign-ins" in throttled.text


def test_a_sign_in_without_the_forms_token_is_refused(console: ConsoleClient) -> None:
    answer = console.client.post(
        "/console/sign-in", data={"login": STAFF, "password": STAFF_PASSWORD, "csrf": "forged"},
        follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 403 and "expired" in answer.text
    assert session.COOKIE not in console.client.cookies


def test_a_post_without_the_sessions_csrf_token_changes_nothing(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    before = console.run(BillRun.all().count)
    for token in ({}, {"csrf": "forged"}):
        answer = console.client.post(
            "/console/bill-runs", data={"cycle": "CYC-01", "period": "2026-05", **token}
        )
        assert answer.status_code == 403 and "expired" in answer.text
    assert console.run(BillRun.all().count) == before
    # the htmx header carries it as well as the form field
    answer = console.client.post(
        "/console/bill-runs", data={"cycle": "CYC-01", "period": "2026-05"},
        headers={"X-CSRF-Token": console.csrf()}, follow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 303


def test_an_expired_or_deactivated_session_asks_to_sign_in_again(console: ConsoleClient) -> None:
    console.as_user(STAFF)
    assert console.client.get("/console/", follow_redirects=False).status_code == 200
    user = console.user(STAFF)
    console.run(User.filter(id=user.id).update, is_active=False)
    assert console.client.get("/console/", follow_redirects=False).status_code == 303
    console.run(User.filter(id=user.id).update, is_active=True)
    console.run(
        RefreshToken.filter(user_id=user.id).update, expires_at=datetime.now(UTC) - timedelta(1)
    )
    assert console.client.get("/console/", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_in_production_and_the_lifetime_is_a_setting(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(
        f"sqlite://{tmp_path / 'x.sqlite3'}", tmp_path, GRIDBILL_CONSOLE_SESSION_TTL="600"
    )
    assert settings.console_session_ttl_s == 600
    response = Response()
    session.set_cookie(response, dataclasses.replace(settings, env="production"), "c", "v", 600)
    assert "Secure" in response.headers["set-cookie"]


def test_only_console_paths_are_followed_after_sign_in(console: ConsoleClient) -> None:
    for target in ("https://evil.example/", "//evil.example/console/", "/graphql"):
        answer = sign_in(console, STAFF, STAFF_PASSWORD, next=target)
        assert answer.headers["location"] == "/console/"
        console.client.cookies.clear()

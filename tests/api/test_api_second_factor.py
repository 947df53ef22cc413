"""Issue 12: staff and admins may add a TOTP second factor; production requires it of admins.

Enrolment in GraphQL (start, confirm with a code), verification at sign-in (a code works
once), and the operator's ``gridbill totp enrol`` / ``reset`` for an admin who cannot
sign in without one.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pyotp
import pytest
from api_helpers import Api, MakeApi

from domain.enums import Role
from services.errors import NotFound
from services.identity import second_factor
from store.models import AuditLog, User
from tests import factories as f

SIGN_IN = """mutation($i: SignInInput!) { signIn(input: $i) { __typename
  ... on AuthPayload { accessToken } ... on AuthError { code field message } } }"""
START = """mutation { startTotpEnrolment { __typename
  ... on TotpEnrolment { secret otpauthUri } ... on Error { code message } } }"""
CONFIRM = """mutation($c: String!) { confirmTotpEnrolment(code: $c) { __typename
  ... on TotpConfirmed { enabled } ... on Error { code field } } }"""


def sign_in(api: Api, email: str, code: str | None = None) -> Any:
    variables = {"i": {"login": email, "password": f.PASSWORD, "totpCode": code}}
    return api.data(SIGN_IN, variables)["signIn"]


def later_code(secret: str, steps: int = 1) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def test_staff_enrol_a_second_factor_and_each_code_works_once(api: Api) -> None:
    staff = api.run(f.user, Role.STAFF)
    token = api.token(staff)
    started = api.data(START, token=token)["startTotpEnrolment"]
    assert started["__typename"] == "TotpEnrolment"
    assert started["otpauthUri"].startswith("otpauth://totp/gridbill:")
    secret = started["secret"]
    wrong = api.data(CONFIRM, {"c": "000000"}, token=token)["confirmTotpEnrolment"]
    if wrong["__typename"] != "TotpConfirmed":  # 1 in a million, 000000 is the code
        assert (wrong["code"], wrong["field"]) == ("INVALID_CREDENTIALS", "code")
    confirmed = api.data(CONFIRM, {"c": pyotp.TOTP(secret).now()}, token=token)
    assert confirmed["confirmTotpEnrolment"] == {"__typename": "TotpConfirmed", "enabled": True}
    assert api.data(START, token=token)["startTotpEnrolment"]["code"] == "INVALID_STATE"

    assert sign_in(api, staff.email)["code"] == "TOTP_REQUIRED"
    assert sign_in(api, staff.email, "12345")["code"] == "INVALID_CREDENTIALS"
    code = later_code(secret)
    assert sign_in(api, staff.email, code)["__typename"] == "AuthPayload"
    replayed = sign_in(api, staff.email, code)
    assert (replayed["code"], replayed["field"]) == ("INVALID_CREDENTIALS", "totpCode")
    audited = api.run(AuditLog.filter(action="user.totp_enabled", entity_id=str(staff.id)).count)
    assert audited == 1


def test_customers_have_no_second_factor(api: Api) -> None:
    home = api.run(f.household)
    refused = api.data(START, token=api.token(home.user))["startTotpEnrolment"]
    assert refused["code"] == "INVALID_STATE"


def test_production_requires_admins_to_have_a_factor_enrolled_by_an_operator(
    make_api: MakeApi, subprocess_env: dict[str, str], on_sqlite: None
) -> None:
    """On SQLite only: the command is the same on both, and starting it twice costs ~20 s;
    the enrolment and verification it calls run on both databases in the test above."""
    api = make_api(GRIDBILL_ENV="production")
    admin = api.run(f.user, Role.ADMIN)
    staff = api.run(f.user, Role.STAFF)
    assert sign_in(api, staff.email)["__typename"] == "AuthPayload"  # staff: optional
    refused = sign_in(api, admin.email)
    assert refused["code"] == "TOTP_ENROLMENT_REQUIRED"
    assert "gridbill totp enrol" in refused["message"]

    enrolled = subprocess.run(
        [sys.executable, "-m", "cli.main", "totp", "enrol", admin.email],
        env=subprocess_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    secret = enrolled.stdout.split("key: ")[1].split()[0]
    assert api.run(User.get, id=admin.id).totp_secret == secret
    assert sign_in(api, admin.email, later_code(secret))["__typename"] == "AuthPayload"

    reset = subprocess.run(
        [sys.executable, "-m", "cli.main", "totp", "reset", admin.email],
        env=subprocess_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert reset.returncode == 0 and "removed" in reset.stdout
    assert sign_in(api, admin.email)["code"] == "TOTP_ENROLMENT_REQUIRED"
    with pytest.raises(NotFound, match=r"^user nobody@example.test not found$"):
        api.run(second_factor.enrol_by_operator, "nobody@example.test")  # the CLI prints this


SIGN_IN_WITH_CODE = """mutation($login: String!, $code: String!) {
  signInWithCode(input: {login: $login, code: $code}) { __typename ... on AuthError { code } } }"""


def test_a_second_factor_required_of_one_person_holds_for_every_sign_in(api: Api) -> None:
    """The per-person flag (set on the console's staff users page) is enforced in the
    sign-in service itself, so GraphQL, the console and a one-time code all meet it."""
    from datetime import UTC, datetime, timedelta

    from services.identity.sign_in_codes import _digest
    from store.models import SignInCode

    staff, other = api.run(f.user, Role.STAFF), api.run(f.user, Role.STAFF)
    api.run(User.filter(id=staff.id).update, totp_required=True)
    refused = sign_in(api, staff.email)
    assert (
        refused["code"] == "TOTP_ENROLMENT_REQUIRED" and "gridbill totp enrol" in refused["message"]
    )
    assert sign_in(api, other.email)["__typename"] == "AuthPayload"  # the role stays optional

    secret, _ = api.run(second_factor.enrol_by_operator, staff.email)
    assert sign_in(api, staff.email)["code"] == "TOTP_REQUIRED"
    assert sign_in(api, staff.email, later_code(secret))["__typename"] == "AuthPayload"

    # A code by e-mail is one factor: it does not open an account that needs two.
    api.run(
        SignInCode.create, user_id=staff.id, purpose="sign_in", channel="email",
        address=staff.email, code_hash=_digest(api.settings, staff.id, "123456"),
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
    )  # fmt: skip
    by_code = api.data(SIGN_IN_WITH_CODE, {"login": staff.email, "code": "123456"})
    assert by_code["signInWithCode"]["code"] == "TOTP_REQUIRED"

"""Sign-up, sign-in with back-off, refresh-token rotation and reuse, sign-out, password change."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from api_helpers import Api, MakeApi, error_codes

from domain.enums import Role
from services.identity.sessions import token_hash
from store.models import AuditLog, RefreshToken, User
from tests import factories as f

AUTH_FIELDS = """
  __typename
  ... on AuthPayload { accessToken refreshToken expiresIn tokenType user { id email role customer { number } } }
  ... on AuthError { code message field retryAfterSeconds }
"""
SIGN_UP = f"mutation($input: SignUpInput!) {{ signUp(input: $input) {{ {AUTH_FIELDS} }} }}"
SIGN_IN = f"mutation($input: SignInInput!) {{ signIn(input: $input) {{ {AUTH_FIELDS} }} }}"
REFRESH = (
    f"mutation($t: String!) {{ refreshSession(input: {{refreshToken: $t}}) {{ {AUTH_FIELDS} }} }}"
)
ME = "{ me { email role customer { number } } }"


def sign_in(api: Api, login: str, password: str = f.PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = api.data(SIGN_IN, {"input": {"login": login, "password": password}})[
        "signIn"
    ]
    return result


def test_a_customer_signs_up_with_account_number_and_phone_digits(api: Api) -> None:
    home = api.run(f.household, signed_up=False, phone="+91 98765 43210")
    base = {
        "accountNumber": home.account.number,
        "email": "Asha@Example.test",
        "password": "a long passphrase",
    }
    wrong = api.data(SIGN_UP, {"input": {**base, "phoneLastDigits": "1111"}})["signUp"]
    assert (wrong["__typename"], wrong["code"]) == ("AuthError", "VERIFICATION_FAILED")
    unknown = api.data(
        SIGN_UP, {"input": {**base, "accountNumber": "0000", "phoneLastDigits": "3210"}}
    )
    assert unknown["signUp"]["code"] == "VERIFICATION_FAILED"  # the same answer: nothing to probe
    weak = api.data(SIGN_UP, {"input": {**base, "password": "short", "phoneLastDigits": "3210"}})[
        "signUp"
    ]
    assert (weak["code"], weak["field"]) == ("WEAK_PASSWORD", "password")

    done = api.data(SIGN_UP, {"input": {**base, "phoneLastDigits": "3210"}})["signUp"]
    assert done["__typename"] == "AuthPayload"
    assert done["user"] == {
        "id": done["user"]["id"], "email": "asha@example.test", "role": "CUSTOMER",
        "customer": {"number": home.customer.number},
    }  # fmt: skip
    assert (
        api.data(ME, token=done["accessToken"])["me"]["customer"]["number"] == home.customer.number
    )

    again = api.data(
        SIGN_UP, {"input": {**base, "email": "other@example.test", "phoneLastDigits": "3210"}}
    )
    assert again["signUp"]["code"] == "ALREADY_SIGNED_UP"


def test_sign_up_guessing_is_limited(api: Api) -> None:
    home = api.run(f.household, signed_up=False, phone="+919876543210")
    attempt = {
        "accountNumber": home.account.number,
        "email": "g@example.test",
        "password": "a long passphrase",
    }
    for digits in ("0000", "0001", "0002", "0003", "0004"):
        assert (
            api.data(SIGN_UP, {"input": {**attempt, "phoneLastDigits": digits}})["signUp"]["code"]
            == "VERIFICATION_FAILED"
        )
    right = api.post(SIGN_UP, {"input": {**attempt, "phoneLastDigits": "3210"}})
    assert right.status_code == 429
    refused = right.json()["data"]["signUp"]
    assert refused["code"] == "TOO_MANY_ATTEMPTS" and 1 <= refused["retryAfterSeconds"] <= 3600
    assert int(right.headers["retry-after"]) == refused["retryAfterSeconds"]


def test_sign_in_by_email_or_phone_and_never_saying_which_part_was_wrong(api: Api) -> None:
    home = api.run(f.household)
    api.run(User.filter(id=home.user.id).update, phone="+919812345678")
    by_email = sign_in(api, home.user.email.upper())
    assert by_email["__typename"] == "AuthPayload" and by_email["tokenType"] == "Bearer"
    assert by_email["expiresIn"] == api.settings.access_token_ttl_s
    assert sign_in(api, "+91 98123 45678")["__typename"] == "AuthPayload"
    wrong_password = sign_in(api, home.user.email, "not the password")
    nobody = sign_in(api, "nobody@example.test", "not the password")
    assert wrong_password["code"] == nobody["code"] == "INVALID_CREDENTIALS"
    assert wrong_password["message"] == nobody["message"]


def test_failed_sign_ins_are_throttled_per_address_and_never_lock_the_owner_out(
    make_api: MakeApi,
) -> None:
    api = make_api(
        peer="10.9.0.1", GRIDBILL_TRUSTED_PROXIES="10.9.0.0/24",
        GRIDBILL_THROTTLE_SIGN_IN_LOGIN="3/900", GRIDBILL_THROTTLE_SIGN_IN_ADDRESS="5/900",
    )  # fmt: skip
    home = api.run(f.household)
    stranger = {"X-Forwarded-For": "203.0.113.7"}
    owner = {"X-Forwarded-For": "198.51.100.20, 10.9.0.2"}  # through two trusted proxies

    def attempt(login: str, password: str, headers: dict[str, str]) -> Any:
        variables = {"input": {"login": login, "password": password}}
        return api.post(SIGN_IN, variables, headers=headers)

    for _ in range(3):
        answer = attempt(home.user.email, "wrong password!", stranger).json()["data"]["signIn"]
        assert answer["code"] == "INVALID_CREDENTIALS"
    blocked = attempt(home.user.email, f.PASSWORD, stranger)  # even the right password waits
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["retry-after"]) <= 900
    refused = blocked.json()["data"]["signIn"]
    assert refused["code"] == "TOO_MANY_ATTEMPTS"
    assert refused["retryAfterSeconds"] == int(blocked.headers["retry-after"])
    # the owner, elsewhere, is not locked out by the stranger
    assert attempt(home.user.email, f.PASSWORD, owner).json()["data"]["signIn"]["__typename"] == (
        "AuthPayload"
    )
    # the stranger's address has 2 failures left across every login, known or not
    for ghost in (f"ghost{f.n()}@example.test", f"ghost{f.n()}@example.test"):
        assert attempt(ghost, "wrong password!", stranger).status_code == 200
    assert attempt(f"ghost{f.n()}@example.test", "x", stranger).status_code == 429
    assert api.run(User.get, id=home.user.id).locked_until is None  # no account-wide lock


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    make_api: MakeApi,
) -> None:
    api = make_api(peer="10.9.0.1", GRIDBILL_THROTTLE_SIGN_IN_ADDRESS="2/900")
    for n in range(2):
        variables = {"input": {"login": f"ghost{n}@example.test", "password": "wrong password!"}}
        api.post(SIGN_IN, variables, headers={"X-Forwarded-For": f"203.0.113.{n}"})
    spoofed = api.post(
        SIGN_IN, {"input": {"login": "a@example.test", "password": "x"}},
        headers={"X-Forwarded-For": "198.51.100.99"},
    )  # fmt: skip
    assert spoofed.status_code == 429


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(api: Api) -> None:
    home = api.run(f.household)
    first = sign_in(api, home.user.email)
    stored = api.run(RefreshToken.get, token_hash=token_hash(first["refreshToken"]))
    assert len(first["refreshToken"]) >= 43 and stored.token_hash != first["refreshToken"]

    second = api.data(REFRESH, {"t": first["refreshToken"]})["refreshSession"]
    assert second["__typename"] == "AuthPayload" and second["refreshToken"] != first["refreshToken"]
    third = api.data(REFRESH, {"t": second["refreshToken"]})["refreshSession"]
    assert third["__typename"] == "AuthPayload"

    reused = api.data(REFRESH, {"t": first["refreshToken"]})[
        "refreshSession"
    ]  # stolen and replayed
    assert reused["code"] == "TOKEN_REUSED"
    assert (
        api.data(REFRESH, {"t": third["refreshToken"]})["refreshSession"]["code"] == "TOKEN_REUSED"
    )
    assert api.data(REFRESH, {"t": "made-up"})["refreshSession"]["code"] == "INVALID_TOKEN"


def test_sign_out_ends_the_session_and_password_change_ends_the_others(api: Api) -> None:
    home = api.run(f.household)
    phone, laptop = sign_in(api, home.user.email), sign_in(api, home.user.email)
    out = api.data(
        "mutation($t: String) { signOut(input: {refreshToken: $t}) { sessionsEnded } }",
        {"t": phone["refreshToken"]}, token=phone["accessToken"],
    )  # fmt: skip
    assert out["signOut"]["sessionsEnded"] == 1
    assert (
        api.data(REFRESH, {"t": phone["refreshToken"]})["refreshSession"]["code"] == "TOKEN_REUSED"
    )

    change = (
        f"mutation($i: ChangePasswordInput!) {{ changePassword(input: $i) {{ {AUTH_FIELDS} }} }}"
    )
    wrong = api.data(change, {"i": {"currentPassword": "nope nope nope", "newPassword": "another long one"}},
                     token=laptop["accessToken"])["changePassword"]  # fmt: skip
    assert (wrong["code"], wrong["field"]) == ("INVALID_CREDENTIALS", "currentPassword")
    changed = api.data(change, {"i": {"currentPassword": f.PASSWORD, "newPassword": "another long one"}},
                       token=laptop["accessToken"])["changePassword"]  # fmt: skip
    assert changed["__typename"] == "AuthPayload"
    assert (
        api.data(REFRESH, {"t": laptop["refreshToken"]})["refreshSession"]["code"] == "TOKEN_REUSED"
    )
    assert sign_in(api, home.user.email, "another long one")["__typename"] == "AuthPayload"
    actions = api.run(AuditLog.filter(entity_id=str(home.user.id)).values_list, "action", flat=True)
    assert "user.password_changed" in actions


@pytest.mark.parametrize(
    "tamper",
    [
        "expired",
        "wrong_key",
        "alg_none",
        "wrong_audience",
        "wrong_issuer",
        "no_exp",
        "garbage",
        "not_bearer",
    ],
)
def test_bad_access_tokens_are_unauthenticated(api: Api, tamper: str) -> None:
    home = api.run(f.household)
    now = int(time.time())
    claims = {
        "sub": str(home.user.id), "role": "customer", "typ": "access", "iss": api.settings.base_url,
        "aud": "gridbill-api", "iat": now, "exp": now + 600,
    }  # fmt: skip
    key = api.settings.secret_key
    if tamper == "expired":
        claims.update(iat=now - 7200, exp=now - 3600)
    elif tamper == "wrong_key":
        key = "another-secret-key-" + "k" * 32
    elif tamper == "wrong_audience":
        claims["aud"] = "someone-else"
    elif tamper == "wrong_issuer":
        claims["iss"] = "https://evil.example"
    elif tamper == "no_exp":
        del claims["exp"]
    token = jwt.encode(claims, key, algorithm="HS256")
    if tamper == "alg_none":
        token = jwt.encode(claims, None, algorithm="none")  # type: ignore[arg-type]
    elif tamper == "garbage":
        token = "not.a.jwt"
    headers = (
        {"Authorization": f"Token {token}"}
        if tamper == "not_bearer"
        else {"Authorization": f"Bearer {token}"}
    )
    body = api.gql(ME, headers=headers)
    assert error_codes(body) == ["UNAUTHENTICATED"]
    if tamper == "expired":
        assert "expired" in body["errors"][0]["message"]


def test_health_needs_no_sign_in_but_me_does(api: Api) -> None:
    assert api.data("{ health { status } }")["health"]["status"] == "ok"
    assert error_codes(api.gql(ME)) == ["UNAUTHENTICATED"]
    staff = api.run(f.user, Role.STAFF)
    assert api.data(ME, token=api.token(staff))["me"]["role"] == "STAFF"

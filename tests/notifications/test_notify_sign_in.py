"""Sign-in help: one-time codes by e-mail or SMS, short-lived, single-use, throttled, unlogged."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.enums import Role
from gridbill.passwords import hash_secret
from services.errors import Refused
from services.notifications.outbox import resend
from store.models import OutboxMessage, RefreshToken, SignInCode, User
from tests.api.api_helpers import Api
from tests.notifications.notify_helpers import dispatch
from tests.notifications.receivers import Receivers, read_mails

REQUEST = """mutation($login: String!, $purpose: SignInCodePurpose!, $channel: NotificationChannel!) {
  requestSignInCode(input: {login: $login, purpose: $purpose, channel: $channel}) {
    __typename
    ... on SignInCodeRequested { message }
    ... on AuthError { code message retryAfterSeconds }
  }
}"""
SIGN_IN = """mutation($login: String!, $code: String!) {
  signInWithCode(input: {login: $login, code: $code}) {
    __typename ... on AuthPayload { accessToken user { fullName } } ... on AuthError { code message }
  }
}"""
RESET = """mutation($login: String!, $code: String!, $password: String!) {
  resetPasswordWithCode(input: {login: $login, code: $code, newPassword: $password}) {
    __typename ... on AuthPayload { refreshToken } ... on AuthError { code message field }
  }
}"""


async def person() -> User:
    return await User.create(
        email="meera@example.com", phone="+919822222222", full_name="Meera Iyer",
        role=Role.CUSTOMER, password_hash=hash_secret("old password for meera 1"),
    )  # fmt: skip


def ask(api: Api, login: str, purpose: str = "SIGN_IN", channel: str = "EMAIL") -> Any:
    return api.data(REQUEST, {"login": login, "purpose": purpose, "channel": channel})[
        "requestSignInCode"
    ]


def mailed_code(mail_dir: Path) -> str:
    (mail,) = read_mails(mail_dir)
    found = re.search(r"\b(\d{6})\b", mail.get_body(("plain",)).get_content())
    assert found
    return found.group(1)


def test_a_mailed_code_signs_in_once_and_is_never_logged(
    api: Api, mail_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what `gridbill serve` logs (the ORM's SQL only at DEBUG)
    for ours in ("api", "services", "notifications", "jobs", "gridbill"):
        caplog.set_level(logging.DEBUG, logger=ours)
    api.run(person)
    unknown = ask(api, "nobody@example.com")
    known = ask(api, "Meera@Example.com")
    assert unknown == known == {
        "__typename": "SignInCodeRequested",
        "message": "if this address belongs to an account, a code is on its way",
    }  # fmt: skip
    api.run(dispatch, api.settings, now=datetime.now(UTC))
    code = mailed_code(mail_dir)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    refused = api.data(SIGN_IN, {"login": "meera@example.com", "code": wrong})["signInWithCode"]
    assert refused["code"] == "INVALID_CREDENTIALS"
    ok = api.data(SIGN_IN, {"login": "meera@example.com", "code": code})["signInWithCode"]
    assert ok["__typename"] == "AuthPayload" and ok["user"]["fullName"] == "Meera Iyer"
    again = api.data(SIGN_IN, {"login": "meera@example.com", "code": code})["signInWithCode"]
    assert again["code"] == "INVALID_CREDENTIALS"  # single use
    row = api.run(OutboxMessage.get, event="sign_in.code")
    assert row.payload["code"] == "[used]"  # blanked once sent
    with pytest.raises(Refused, match="codes are not resent"):
        api.run(resend, row.id, staff_user_id=None)
    assert code not in caplog.text
    (stored,) = api.run(SignInCode.all)
    assert code not in stored.code_hash and stored.used_at is not None


def test_an_sms_code_resets_the_password_even_at_night_and_ends_other_sessions(
    api: Api, receivers: Receivers
) -> None:
    user = api.run(person)
    api.run(RefreshToken.create, user_id=user.id, token_hash="x" * 64,
            family="00000000-0000-0000-0000-000000000001",
            expires_at=datetime.now(UTC) + timedelta(days=1))  # fmt: skip
    ask(api, "+919822222222", "RESET_PASSWORD", "SMS")
    night = datetime(2030, 3, 11, 17, 0, tzinfo=UTC)  # 22:30 IST; the code does not wait
    quiet = api.settings.__class__(**{**api.settings.__dict__, "quiet_hours": ("21:00", "08:00")})
    summary = api.run(dispatch, quiet, now=night)
    assert summary.sent == 1, api.run(OutboxMessage.get, event="sign_in.code").last_error
    (sms,) = receivers.sms.unique.values()
    code = sms["text"][:6]
    assert sms["text"].startswith(f"{code} is your Gridbill code. Valid 10 min.")
    weak = api.data(RESET, {"login": "+919822222222", "code": code, "password": "short"})
    assert weak["resetPasswordWithCode"]["code"] == "WEAK_PASSWORD"
    done = api.data(
        RESET, {"login": "+919822222222", "code": code, "password": "a brand new passphrase 7"}
    )["resetPasswordWithCode"]
    assert done["__typename"] == "AuthPayload"
    live = api.run(RefreshToken.filter(user_id=user.id, revoked_at__isnull=True).count)
    assert live == 1  # only the new session
    sign_in = 'mutation { signIn(input: {login: "meera@example.com", password: "a brand new passphrase 7"}) { __typename } }'
    assert api.data(sign_in)["signIn"]["__typename"] == "AuthPayload"


def test_codes_are_throttled_per_account_and_per_address(api: Api) -> None:
    api.run(person)
    for _ in range(3):
        assert ask(api, "meera@example.com")["__typename"] == "SignInCodeRequested"
    throttled = ask(api, "meera@example.com")
    assert throttled["code"] == "TOO_MANY_ATTEMPTS" and throttled["retryAfterSeconds"] == 900
    assert ask(api, "+919822222222", channel="SMS")["code"] == "TOO_MANY_ATTEMPTS"  # same account

    twenty_minutes_ago = datetime.now(UTC) - timedelta(minutes=20)
    api.run(SignInCode.all().update, created_at=twenty_minutes_ago)
    for _ in range(2):
        assert ask(api, "meera@example.com")["__typename"] == "SignInCodeRequested"
    api.run(SignInCode.all().update, created_at=twenty_minutes_ago)
    by_address = ask(api, "meera@example.com")  # 5 to this address within the hour
    assert by_address["code"] == "TOO_MANY_ATTEMPTS" and by_address["retryAfterSeconds"] == 3600
    assert ask(api, "+919822222222", channel="SMS")["__typename"] == "SignInCodeRequested"


async def known_code(user_id: int, settings: Any, **fields: Any) -> None:
    from services.identity.sign_in_codes import _digest

    values: dict[str, Any] = {"expires_at": datetime.now(UTC) + timedelta(minutes=10), **fields}
    await SignInCode.create(
        user_id=user_id, purpose="sign_in", channel="email", address="meera@example.com",
        code_hash=_digest(settings, user_id, "123456"), **values,
    )  # fmt: skip


def test_expired_codes_and_codes_guessed_five_times_are_refused(api: Api) -> None:
    user = api.run(person)
    right = {"login": "meera@example.com", "code": "123456"}
    api.run(known_code, user.id, api.settings, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert api.data(SIGN_IN, right)["signInWithCode"]["code"] == "INVALID_CREDENTIALS"
    api.run(known_code, user.id, api.settings, failed_attempts=5)
    assert api.data(SIGN_IN, right)["signInWithCode"]["code"] == "INVALID_CREDENTIALS"
    api.run(known_code, user.id, api.settings, failed_attempts=4)
    assert api.data(SIGN_IN, right)["signInWithCode"]["__typename"] == "AuthPayload"

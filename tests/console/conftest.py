"""The console under test: the real app on a copy of the demo utility, on SQLite.

The demo (20 customers, as ``make run`` loads it, "today" fixed) is loaded once per
session into a template database; each test gets its own copy of it and of its var
directory, so tests never see each other's changes. The services under the console are
tested on both engines elsewhere; the console's own code is engine-neutral.

``console.cookie(user)`` starts a console session row for a user without a sign-in
(Argon2 is slow); the sign-in tests sign in for real through the form.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shutil
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from api.app import create_app
from console import session
from demo.loader import load_demo_data
from gridbill.settings import Settings
from services.identity.sessions import token_hash
from store.models import RefreshToken, User
from tests.conftest import make_settings

T = TypeVar("T")
DEMO_TODAY = date(2026, 5, 10)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("console-demo")
    settings = make_settings(f"sqlite://{root / 'demo.sqlite3'}", root / "var")
    asyncio.run(load_demo_data(settings, customers=20, progress=False, today=DEMO_TODAY))
    return root / "demo.sqlite3", root / "var"


@pytest.fixture
def demo_settings(demo_template: tuple[Path, Path], tmp_path: Path) -> Settings:
    database, var = demo_template
    shutil.copyfile(database, tmp_path / "demo.sqlite3")
    if var.exists():
        shutil.copytree(var, tmp_path / "var")
    return make_settings(f"sqlite://{tmp_path / 'demo.sqlite3'}", tmp_path / "var")


class ConsoleClient:
    """A TestClient on the app with helpers to sign in cheaply and post forms with CSRF."""

    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        assert self.client.portal is not None
        return self.client.portal.call(partial(fn, *args, **kwargs))

    def user(self, email: str) -> User:
        found = self.run(User.get, email=email)
        assert isinstance(found, User)
        return found

    def cookie(self, user: User) -> str:
        """A live console session for ``user`` (a refresh-token row, as a sign-in makes)."""
        raw = secrets.token_urlsafe(32)
        self.run(
            RefreshToken.create, user_id=user.id, token_hash=token_hash(raw), family=uuid.uuid4(),
            expires_at=datetime.now(UTC) + timedelta(hours=1), user_agent="console test",
        )  # fmt: skip
        return raw

    def as_user(self, email: str) -> None:
        self.client.cookies.clear()
        self.client.cookies.set(session.COOKIE, self.cookie(self.user(email)))

    def csrf(self, path: str = "/console/") -> str:
        page = self.client.get(path)
        found = CSRF.search(page.text)
        assert found, page.text[:500]
        return found.group(1)

    def post(self, path: str, data: dict[str, str], *, csrf_from: str = "/console/") -> Any:
        return self.client.post(
            path, data={**data, "csrf": self.csrf(csrf_from)}, follow_redirects=False
        )


@pytest.fixture
def console(demo_settings: Settings) -> Iterator[ConsoleClient]:
    with TestClient(create_app(demo_settings), base_url="http://testserver") as client:
        yield ConsoleClient(client, demo_settings)

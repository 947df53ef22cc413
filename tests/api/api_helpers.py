"""Test helpers for the API tests: the HTTP client wrapper and an SQL statement counter."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, TypeVar

from starlette.testclient import TestClient

from domain.enums import Role
from gridbill.settings import Settings
from services.identity.tokens import issue_partner_token, issue_user_token
from store.models import PartnerClient, User

T = TypeVar("T")


class Api:
    def __init__(self, client: TestClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        assert self.client.portal is not None
        return self.client.portal.call(partial(fn, *args, **kwargs))

    def token(self, user: User) -> str:
        token, _ = issue_user_token(
            self.settings, user_id=user.id, role=Role(user.role),
            customer_id=user.customer_id,  # type: ignore[attr-defined]
        )  # fmt: skip
        return token

    def partner_token(self, client: PartnerClient, scopes: list[str] | None = None) -> str:
        token, _ = issue_partner_token(
            self.settings, partner_id=client.id, scopes=frozenset(scopes or client.scopes)
        )
        return token

    def post(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
             headers: dict[str, str] | None = None) -> Any:  # fmt: skip
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        return self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )

    def gql(self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None,
            headers: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
        response = self.post(query, variables, token=token, headers=headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Any:
        """The ``data`` of an answer that must have no errors."""
        body = self.gql(query, variables, token=token)
        assert "errors" not in body, body["errors"]
        return body["data"]


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


class QueryCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(str(record.msg) if not record.args else str(record.args[0]))


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """SQL statements the database clients execute inside the block (both backends log each)."""
    logger = logging.getLogger("tortoise.db_client")
    handler = QueryCounter()
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    logger.addHandler(handler)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


MakeApi = Callable[..., Api]
"""The ``make_api`` fixture: an app with extra settings, ``make_api(GRIDBILL_ENV=…)``."""

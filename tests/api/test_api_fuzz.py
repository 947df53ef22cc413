"""A bounded schemathesis run over the whole GraphQL schema: no 5xx, no masked bug, no leak.

Schemathesis reads the schema and generates operations for every query and mutation
field; each is sent as an anonymous caller, a customer and staff, on SQLite and
PostgreSQL. A 5xx, an ``INTERNAL`` error (a bug the mask hid) or a resolver error
without a code (one the mask missed) fails the test, with the query that caused it.

``make test`` runs :data:`EXAMPLES` (3) examples per operation and role, about a minute
on 2 cores; ``make fuzz`` sets ``GRIDBILL_FUZZ_EXAMPLES`` (100 by default there) for a
longer run. Generation is derandomised, so a failure repeats.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from api_helpers import Api
from graphql import introspection_from_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.graphql import nodes

from api.schema.root import schema
from domain.enums import Role
from tests import factories as f

EXAMPLES = int(os.environ.get("GRIDBILL_FUZZ_EXAMPLES", "3"))
# Our scalars, with hostile values mixed in: past 64 bits, malformed dates, NUL bytes,
# strings longer than any column, integers past a SMALLINT.
HOSTILE_TEXT = st.sampled_from(["x" * 300, "nul\x00byte", "\u00e9\U0001f600", ""])
schemathesis.graphql.scalar("String", (st.text(max_size=20) | HOSTILE_TEXT).map(nodes.String))
schemathesis.graphql.scalar(
    "Int",
    (st.integers(-(2**31), 2**31 - 1) | st.sampled_from([70945, -40000, 2**31 - 1])).map(nodes.Int),
)
schemathesis.graphql.scalar("BigInt", st.integers().map(nodes.Int))
schemathesis.graphql.scalar("Date", (st.dates().map(str) | st.text(max_size=12)).map(nodes.String))
schemathesis.graphql.scalar(
    "DateTime",
    (st.datetimes(timezones=st.just(UTC)).map(datetime.isoformat) | st.text(max_size=12)).map(
        nodes.String
    ),
)
schemathesis.graphql.scalar(
    "JSON", st.text(max_size=20).map(nodes.String) | st.integers().map(nodes.Int)
)
OPERATIONS = [
    result.ok()
    for result in schemathesis.graphql.from_dict(
        introspection_from_schema(schema._schema)
    ).get_all_operations()
]


def problems(body: Any) -> list[Any]:
    """Errors that are bugs: masked INTERNAL ones, and resolver errors with no code."""
    if not isinstance(body, dict):
        return [body]
    found = []
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL" or (error.get("path") and code is None):
            found.append(error)
    return found


def token_for(api: Api, role: str) -> str | None:
    if role == "customer":
        return api.token(api.run(f.household).user)
    if role == "staff":
        return api.token(api.run(f.user, Role.STAFF))
    return None


@pytest.mark.parametrize("role", ["anonymous", "customer", "staff"])
def test_generated_operations_never_get_a_5xx_or_an_unexpected_error(api: Api, role: str) -> None:
    token = token_for(api, role)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for operation in OPERATIONS:

        @settings(
            max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            response = api.client.post("/graphql", json={"query": case.body}, headers=headers)
            assert response.status_code < 500, (case.body, response.text)
            assert not problems(response.json()), (case.body, response.json())

        check()

"""Raw SQL's ``?`` placeholders in each driver's form, with quoted text and jsonb operators left alone."""

from __future__ import annotations

import pytest
from tortoise.connection import get_connection

from store.sql import Sql, placeholders


def test_only_bare_question_marks_are_placeholders() -> None:
    sql = (
        "SELECT '?' AS q, 'it''s ?' AS r, \"odd?name\" FROM t -- why?\n"
        "WHERE a = ? /* and? */ AND flags ?? 'x' AND flags ??| ? AND b = ?"
    )
    assert placeholders(sql, numbered=True) == (
        "SELECT '?' AS q, 'it''s ?' AS r, \"odd?name\" FROM t -- why?\n"
        "WHERE a = $1 /* and? */ AND flags ? 'x' AND flags ?| $2 AND b = $3"
    )
    assert placeholders("SELECT ? + ?", numbered=False) == "SELECT ? + ?"


@pytest.mark.usefixtures("db")
async def test_a_jsonb_operator_beside_parameters_runs(backend: str) -> None:
    sql = Sql(get_connection("default"))
    if backend == "postgres":
        rows = await sql.rows("SELECT '[\"a\"]'::jsonb ?? ? AS has, ? || '?' AS text", ["a", "b"])
    else:
        rows = await sql.rows("SELECT ? = 'a' AS has, ? || '?' AS text", ["a", "b"])
    assert bool(rows[0]["has"]) and rows[0]["text"] == "b?"

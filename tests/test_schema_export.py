"""docs/schema.graphql is what clients read: it must be the schema the server serves."""

from pathlib import Path

from api.export_schema import sdl

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "docs" / "schema.graphql"


def test_exported_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == sdl(), (
        "docs/schema.graphql is stale: run `make schema` and commit the result"
    )
